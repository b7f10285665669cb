package io.panastor.reactor;

import io.panastor.natives.CompletionHandler;
import java.util.Arrays;

/**
 * Routes each completion of a reactor's ring to the handler named in the top
 * bits of its user data ({@link Reactor#userData}):
 * a plain array indexed by handler id, so a completion costs one load and one call.
 * A completion for a handler that is gone is dropped, logged the first time and counted.
 *
 * <p>Thread-safety: reactor-confined.
 */
final class CompletionRouter implements CompletionHandler {
    private static final System.Logger LOG = System.getLogger(CompletionRouter.class.getName());

    private final String owner;
    private CompletionHandler[] handlers = new CompletionHandler[8];
    private int count;
    private long dropped;

    /** @param reserved the handler with id 0, which cannot be unregistered (the reactor's wakeup) */
    CompletionRouter(String owner, CompletionHandler reserved) {
        this.owner = owner;
        handlers[0] = reserved;
        count = 1;
    }

    int register(CompletionHandler handler) {
        for (int i = 1; i < count; i++) {
            if (handlers[i] == null) {
                handlers[i] = handler;
                return i;
            }
        }
        if (count == handlers.length) {
            handlers = Arrays.copyOf(handlers, handlers.length * 2);
        }
        handlers[count] = handler;
        return count++;
    }

    void unregister(int handlerId) {
        if (handlerId <= 0 || handlerId >= count || handlers[handlerId] == null) {
            throw new IllegalArgumentException("no completion handler " + handlerId);
        }
        handlers[handlerId] = null;
    }

    /** Completions dropped because their handler was gone. */
    long dropped() {
        return dropped;
    }

    @Override
    public void onCompletion(long userData, int res, int flags) {
        int handlerId = (int) (userData >>> Reactor.HANDLER_SHIFT);
        CompletionHandler h = handlerId < count ? handlers[handlerId] : null;
        if (h == null) {
            if (dropped++ == 0) {
                LOG.log(System.Logger.Level.WARNING, "{0}: completion for unknown handler {1} (res {2}) dropped;"
                        + " later ones are only counted", owner, handlerId, res);
            }
            return;
        }
        h.onCompletion(userData & Reactor.TOKEN_MASK, res, flags);
    }
}
