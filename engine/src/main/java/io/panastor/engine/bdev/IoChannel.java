package io.panastor.engine.bdev;

import io.panastor.engine.stats.IoCounters;
import io.panastor.reactor.Poller;
import io.panastor.reactor.Reactor;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;
import org.agrona.concurrent.NanoClock;

/**
 * A bdev's per-reactor IO path, as SPDK's {@code spdk_io_channel}: a pool of IO
 * descriptors, the checks every IO passes before it reaches the device, and a queue of
 * completions delivered on the next duty cycle (so a callback never runs inside the
 * {@code submit} that caused it, and a callback that resubmits cannot recurse).
 *
 * <p>A bdev kind extends this and implements {@link #doSubmit} for IO that passed the
 * checks, calling {@link #complete} (from a ring completion) or {@link #completeLater}
 * (when it finishes synchronously).
 *
 * <p>Statistics: every completion is counted into the bdev's {@link IoCounters} for this
 * reactor (kept by the bdev, so they outlive the channel): a successful read, write or unmap
 * with its bytes and its latency, and a failed IO of any type as an error. The latency runs
 * from submit to completion: its submit time is the reactor's reading of its clock for this
 * duty cycle ({@link Reactor#nanoTime}, read once per cycle anyway) — or, for an IO submitted
 * from a completion callback of this channel (a closed loop: the next IO of a queue depth, a
 * retry), that completion's reading — and the clock is read once at completion. The latency
 * may so include up to the part of a cycle before the submit; under load a cycle is a few
 * microseconds. One clock read and a few field updates per IO, nothing allocated.
 *
 * <p>Thread-safety: reactor-confined; created on its reactor by {@link Bdev#channel}.
 */
public abstract class IoChannel {
    /** IO descriptors per channel: the most IO one reactor can have in flight on one bdev. */
    public static final int DEFAULT_IO_POOL_SIZE = 1024;
    /** Deferred completions delivered per duty cycle at most. */
    static final int COMPLETION_DRAIN_LIMIT = 256;

    protected final Bdev bdev;
    protected final Reactor reactor;
    private final BdevIo[] ios;
    private final int[] free;
    private int freeCount;
    private final BdevIo[] deferred;
    private int deferredHead;
    private int deferredCount;
    private int inflight;
    private boolean closing;
    private CompletableFuture<Void> drained;
    private final Poller completionPoller = this::deliverDeferred;
    private final long blockSize;
    private final long alignmentMask;
    private final NanoClock clock;
    private final IoCounters counters;
    /** The clock as read for the completion whose callback is running, and how many such callbacks are. */
    private long completedAt;
    private int completing;

    protected IoChannel(Bdev bdev, Reactor reactor, int poolSize) {
        this.bdev = bdev;
        this.reactor = reactor;
        this.ios = new BdevIo[poolSize];
        this.free = new int[poolSize];
        this.deferred = new BdevIo[poolSize];
        for (int i = 0; i < poolSize; i++) {
            ios[i] = new BdevIo(this, i);
            free[i] = poolSize - 1 - i;
        }
        this.freeCount = poolSize;
        this.blockSize = bdev.blockSize();
        this.alignmentMask = bdev.bufferAlignment() - 1L;
        this.clock = reactor.clock();
        this.counters = bdev instanceof AbstractBdev a ? a.countersOn(reactor) : new IoCounters();
        reactor.addPoller(completionPoller);
    }

    public Bdev bdev() {
        return bdev;
    }

    public Reactor reactor() {
        return reactor;
    }

    /** A free descriptor, or {@code null} when all are in use. */
    public BdevIo allocIo() {
        if (freeCount == 0) {
            return null;
        }
        BdevIo io = ios[free[--freeCount]];
        io.inUse = true;
        io.context = null;
        return io;
    }

    void releaseIo(BdevIo io) {
        if (!io.inUse) {
            throw new IllegalStateException("IO descriptor released twice: " + io);
        }
        io.inUse = false;
        io.completion = null;
        io.context = null;
        for (int i = 0; i < io.iovCount; i++) {
            io.iovs[i] = null;
        }
        free[freeCount++] = io.index();
    }

    /** The pool's descriptor with {@link BdevIo#index()} {@code index}: how a ring completion finds its IO. */
    protected final BdevIo ioAt(int index) {
        return ios[index];
    }

    /** Size of the descriptor pool. */
    public final int poolSize() {
        return ios.length;
    }

    /** IO submitted and not yet completed. */
    public int inflight() {
        return inflight;
    }

    /**
     * Checks the IO and starts it; its completion is always called later, never from here.
     * A bad IO completes with {@link IoStatus#OUT_OF_RANGE}, {@link IoStatus#BAD_BUFFER} or
     * {@link IoStatus#UNSUPPORTED} and touches nothing.
     */
    public final void submit(BdevIo io) {
        inflight++;
        io.submitNanos = completing > 0 ? completedAt : reactor.nanoTime();
        int check = check(io);
        if (check != IoStatus.SUCCESS) {
            completeLater(io, check, 0);
            return;
        }
        doSubmit(io);
    }

    private int check(BdevIo io) {
        if (closing) {
            return IoStatus.ABORTED;
        }
        IoType type = io.type;
        if (!bdev.supports(type)) {
            return IoStatus.UNSUPPORTED;
        }
        if (type == IoType.RESET) {
            return IoStatus.SUCCESS;
        }
        long offset = io.offsetBlocks;
        long count = io.numBlocks;
        long blockCount = bdev.blockCount();
        if (offset < 0 || count < 0 || offset > blockCount || count > blockCount - offset
                || (count == 0 && type != IoType.FLUSH)) {
            return IoStatus.OUT_OF_RANGE;
        }
        if (type == IoType.READ || type == IoType.WRITE) {
            if (io.iovCount == 0) {
                return IoStatus.BAD_BUFFER;
            }
            long bytes = 0;
            for (int i = 0; i < io.iovCount; i++) {
                MemorySegment s = io.iovs[i];
                if (s.isReadOnly() && type == IoType.READ) {
                    return IoStatus.BAD_BUFFER;
                }
                if ((s.address() & alignmentMask) != 0) {
                    return IoStatus.BAD_BUFFER;
                }
                bytes += s.byteSize();
            }
            if (bytes != count * blockSize) {
                return IoStatus.BAD_BUFFER;
            }
        }
        return IoStatus.SUCCESS;
    }

    /** Starts an IO that passed the checks. */
    protected abstract void doSubmit(BdevIo io);

    /** Ends an in-flight IO now (from a ring completion): the callback runs before this returns. */
    protected final void complete(BdevIo io, int status, int errno) {
        inflight--;
        io.status = status;
        io.errno = errno;
        deliver(io);
        if (closing && inflight == 0 && deferredCount == 0) {
            finishClose();
        }
    }

    /** Ends an IO on the next duty cycle. For in-flight IO that finished synchronously, and for refused IO. */
    protected final void completeLater(BdevIo io, int status, int errno) {
        io.status = status;
        io.errno = errno;
        deferred[(deferredHead + deferredCount++) % deferred.length] = io;
    }

    private int deliverDeferred() {
        int n = 0;
        while (deferredCount > 0 && n < COMPLETION_DRAIN_LIMIT) {
            BdevIo io = deferred[deferredHead];
            deferred[deferredHead] = null;
            deferredHead = (deferredHead + 1) % deferred.length;
            deferredCount--;
            n++;
            inflight--;
            deliver(io);
        }
        if (closing && inflight == 0 && deferredCount == 0) {
            finishClose();
        }
        return n;
    }

    /** Counts a completed IO into the bdev's counters on this reactor (see the class comment), then calls back. */
    private void deliver(BdevIo io) {
        long now = clock.nanoTime();
        IoType type = io.type;
        if (io.status != IoStatus.SUCCESS) {
            counters.onError();
        } else if (type == IoType.READ) {
            counters.onRead(io.numBlocks * blockSize, now - io.submitNanos);
        } else if (type == IoType.WRITE) {
            counters.onWrite(io.numBlocks * blockSize, now - io.submitNanos);
        } else if (type == IoType.UNMAP) {
            counters.onUnmap(io.numBlocks * blockSize, now - io.submitNanos);
        }
        // flush, write zeroes and reset: IoStats has no counters for them
        long outer = completedAt;
        completedAt = now;
        completing++;
        try {
            io.completion.onIoComplete(io);
        } finally {
            completing--;
            completedAt = outer;
        }
    }

    /**
     * Stops taking IO, waits for what is in flight, then frees the channel's resources.
     * Reactor-confined; the future completes on the reactor.
     */
    public final CompletableFuture<Void> close() {
        if (drained != null) {
            return drained;
        }
        closing = true;
        drained = new CompletableFuture<>();
        if (inflight == 0 && deferredCount == 0) {
            finishClose();
        } else {
            onCloseWithIoInFlight();
        }
        return drained;
    }

    /**
     * The channel is closing with IO in flight: a kind that holds IO it has not started (a
     * remote waiting for its controller to come back) ends that now, rather than when the
     * device would have; what is on its way to the device ends as it will. By default nothing.
     */
    protected void onCloseWithIoInFlight() {
    }

    private void finishClose() {
        if (drained.isDone()) {
            return;
        }
        reactor.removePoller(completionPoller);
        onClose();
        if (lingering == null) {
            drained.complete(null);
        } else {
            lingering.whenComplete((v, t) -> drained.complete(null));
        }
    }

    private CompletableFuture<Void> lingering;

    /**
     * Called from {@link #onClose} by a kind that still has goodbyes to say (a protocol's
     * disconnect, say): the channel's close completes with the returned future, which the
     * kind completes on its reactor when it is done.
     */
    protected final CompletableFuture<Void> lingerAfterClose() {
        if (lingering == null) {
            lingering = new CompletableFuture<>();
        }
        return lingering;
    }

    /** Frees what the kind holds (handler ids, native memory); nothing is in flight. */
    protected void onClose() {
    }
}
