package io.panastor.engine.nvmf.tgt;

import io.panastor.natives.CompletionHandler;
import io.panastor.natives.Errno;
import io.panastor.natives.Sockets;
import io.panastor.reactor.Reactor;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;

/**
 * A TCP listener: one accept in flight on its reactor's ring at a time; each accepted
 * connection is handed to the target, which gives it a reactor.
 * Thread-safety: reactor-confined after construction; {@link #close()} from any thread.
 */
final class Listener implements CompletionHandler {
    private static final System.Logger LOG = System.getLogger(Listener.class.getName());
    private static final int TOKEN_ACCEPT = 0;
    private static final int TOKEN_CANCEL = 1;
    /** Pause before accepting again after accept(2) failed. */
    static final long ACCEPT_RETRY_NANOS = 10_000_000L;

    private final NvmfTarget target;
    private final Reactor reactor;
    private final int fd;
    private final InetSocketAddress address;
    private final int portId;
    private int handlerId;
    private boolean acceptInFlight;
    private boolean cancelInFlight;
    private boolean closing;
    private final CompletableFuture<Void> closed = new CompletableFuture<>();

    Listener(NvmfTarget target, Reactor reactor, int fd, int portId) {
        this.target = target;
        this.reactor = reactor;
        this.fd = fd;
        this.address = Sockets.address(fd, false);
        this.portId = portId;
    }

    /** Starts accepting. On the reactor. */
    void start() {
        handlerId = reactor.registerCompletionHandler(this);
        arm();
    }

    InetSocketAddress address() {
        return address;
    }

    int portId() {
        return portId;
    }

    private void arm() {
        acceptInFlight = reactor.ring().prepAccept(fd, Reactor.userData(handlerId, TOKEN_ACCEPT));
        if (!acceptInFlight) {
            // The ring is full this instant: try again shortly rather than stop accepting.
            reactor.scheduleTimer(ACCEPT_RETRY_NANOS, () -> {
                if (!closing && !acceptInFlight) {
                    arm();
                }
            });
        }
    }

    @Override
    public void onCompletion(long token, int res, int flags) {
        if (token == TOKEN_CANCEL) {
            cancelInFlight = false;
            finishClose();
            return;
        }
        acceptInFlight = false;
        if (res >= 0) {
            if (closing) {
                Sockets.close(res);
            } else {
                target.onAccepted(res);
            }
        } else if (!closing) {
            LOG.log(System.Logger.Level.WARNING, "accept on {0} failed: {1}", address, Errno.name(-res));
        }
        if (closing) {
            finishClose();
        } else if (res < 0) {
            // Out of fds, say: try again shortly rather than spin on the error.
            reactor.scheduleTimer(ACCEPT_RETRY_NANOS, () -> {
                if (!closing) {
                    arm();
                }
            });
        } else {
            arm();
        }
    }

    /** Stops accepting and closes the socket; connections already accepted live on. Any thread. */
    CompletableFuture<Void> close() {
        reactor.execute(() -> {
            if (closing) {
                return;
            }
            closing = true;
            if (acceptInFlight) {
                cancelInFlight = reactor.ring().prepCancelFd(fd, Reactor.userData(handlerId, TOKEN_CANCEL));
            } else {
                finishClose();
            }
        });
        return closed;
    }

    /** Frees the socket and the handler id once neither the accept nor its cancellation can still complete. */
    private void finishClose() {
        if (closed.isDone() || acceptInFlight || cancelInFlight) {
            return;
        }
        Sockets.close(fd);
        reactor.unregisterCompletionHandler(handlerId);
        closed.complete(null);
    }
}
