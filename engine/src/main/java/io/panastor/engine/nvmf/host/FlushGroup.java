package io.panastor.engine.nvmf.host;

import io.panastor.reactor.Poller;
import io.panastor.reactor.Reactor;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The host side's one poller per reactor (as the target's {@code PollGroup}): IO queues that
 * queued commands during a cycle, outside their own socket's completions, are sent once each
 * on the next poll, together with whatever else they queue until then. Its cost per cycle is
 * the queues that have something to send, not the queues there are — a reactor holding a
 * thousand remote bdevs does not look at a thousand send buffers every cycle.
 *
 * <p>Thread-safety: {@link #join} and {@link #leave} on the reactor (where its IO queues are
 * made and released); the rest reactor-confined.
 */
final class FlushGroup implements Poller {
    /** Queues flushed per cycle at most (the rest go next cycle). */
    static final int FLUSH_LIMIT = 1024;
    private static final ConcurrentHashMap<Reactor, FlushGroup> GROUPS = new ConcurrentHashMap<>();

    private final Reactor reactor;
    private int members;
    /** Queues with commands queued and no flush yet, linked through {@link HostQueue#nextFlush}. */
    private HostQueue head;
    private HostQueue tail;

    private FlushGroup(Reactor reactor) {
        this.reactor = reactor;
        reactor.addFlushPoller(this);
    }

    /** The group of {@code reactor}, made with its poller when its first queue joins. */
    static FlushGroup join(Reactor reactor) {
        FlushGroup g = GROUPS.computeIfAbsent(reactor, FlushGroup::new);
        g.members++;
        return g;
    }

    /** A queue of this group is released; the last one takes the poller away. */
    void leave() {
        if (--members == 0) {
            GROUPS.remove(reactor, this);
            reactor.removePoller(this);
            head = null;
            tail = null;
        }
    }

    /** {@code q} queued commands: send them on this cycle's poll. */
    void later(HostQueue q) {
        if (q.flushPending) {
            return;
        }
        q.flushPending = true;
        q.nextFlush = null;
        if (tail == null) {
            head = q;
        } else {
            tail.nextFlush = q;
        }
        tail = q;
    }

    @Override
    public int poll() {
        int n = 0;
        while (head != null && n < FLUSH_LIMIT) {
            HostQueue q = head;
            head = q.nextFlush;
            if (head == null) {
                tail = null;
            }
            q.nextFlush = null;
            q.flushPending = false;
            n += q.flushQueued();
        }
        return n;
    }
}
