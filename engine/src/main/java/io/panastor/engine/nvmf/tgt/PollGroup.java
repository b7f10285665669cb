package io.panastor.engine.nvmf.tgt;

import io.panastor.reactor.Poller;
import io.panastor.reactor.Reactor;

/**
 * What the connections of one reactor share, as an SPDK poll group: the {@link DataBufferPool}
 * and one poller for all of them. The poller sends what each connection queued during the
 * cycle (responses that bdev completions produced: one send per connection per batch) and
 * resumes connections that waited for a data buffer. Its cost per cycle is the connections
 * that have something to do, not the connections there are: 10,000 idle connections add
 * nothing to an idle reactor's cycle.
 *
 * <p>Thread-safety: reactor-confined; {@link #close()} once no connection of this reactor is left.
 */
final class PollGroup implements Poller {
    /** Connections flushed per cycle at most (the rest go next cycle). */
    static final int FLUSH_LIMIT = 1024;

    private final Reactor reactor;
    private final DataBufferPool buffers;
    /** Connections with output queued and no send started, linked through {@link QueuePair#nextFlush}. */
    private QueuePair flushHead;
    private QueuePair flushTail;
    private boolean closed;

    PollGroup(Reactor reactor, TargetCounters counters, int maxSmall, int maxLarge) {
        this.reactor = reactor;
        this.buffers = new DataBufferPool(counters, maxSmall, maxLarge);
        reactor.addFlushPoller(this);
    }

    DataBufferPool buffers() {
        return buffers;
    }

    Reactor reactor() {
        return reactor;
    }

    /** {@code q} has output queued: send it on this cycle's poll, with whatever else it queues until then. */
    void flushLater(QueuePair q) {
        if (q.flushPending) {
            return;
        }
        q.flushPending = true;
        q.nextFlush = null;
        if (flushTail == null) {
            flushHead = q;
        } else {
            flushTail.nextFlush = q;
        }
        flushTail = q;
    }

    /** {@code q}'s own reserve buffer came back while it waited: resume it on this cycle's poll. */
    void resumeLater(QueuePair q) {
        q.resumePending = true;
        flushLater(q);
    }

    @Override
    public int poll() {
        int n = 0;
        while (flushHead != null && n < FLUSH_LIMIT) {
            QueuePair q = flushHead;
            flushHead = q.nextFlush;
            if (flushHead == null) {
                flushTail = null;
            }
            q.nextFlush = null;
            q.flushPending = false;
            if (q.resumePending) {
                q.resumePending = false;
                q.onBufferAvailable();
            }
            n += q.flushQueued();
        }
        return n + buffers.resumeWaiters();
    }

    /** Frees the pool: on the reactor, or after it stopped. */
    void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (reactor.isCurrent()) {
            reactor.removePoller(this);
        }
        buffers.close();
    }
}
