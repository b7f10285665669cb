package io.panastor.engine.nvmf.tgt;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * The data buffers of one reactor, shared by all of that reactor's connections, as SPDK's
 * poll groups share theirs: a request takes a buffer when it has data to move and gives it
 * back when done. Two size classes — {@link #SMALL} for in-capsule-sized data (4 KiB IO,
 * Identify, Connect data) and {@link #LARGE} for up to MDTS — each grown in slabs on demand
 * up to a cap. When a class is exhausted the connection that asked waits (it stops parsing
 * and receiving) and is resumed, in order, once a buffer comes back: it never fails.
 *
 * <p>Thread-safety: reactor-confined (its {@link PollGroup}'s reactor); {@link #close()} once
 * nothing uses it.
 */
final class DataBufferPool {
    static final int SMALL = 0;
    static final int LARGE = 1;
    /** Bytes of a buffer of each class: an IO queue's in-capsule data, and MDTS. */
    static final int[] SIZES = {QueuePair.IN_CAPSULE_DATA, QueuePair.MAX_TRANSFER};
    /** Buffers carved at once when a class grows (one slab, one arena). */
    static final int[] SLAB_BUFFERS = {64, 8};
    /** Most buffers a class holds on one reactor by default: 8 MiB of small, 64 MiB of large. */
    static final int[] MAX_BUFFERS = {1024, 512};
    /** {@link DataBuffer#sizeClass} of a connection's own reserve buffer, which never enters a pool. */
    static final int RESERVE = -1;
    /** Waiting connections resumed per duty cycle at most. */
    static final int RESUME_LIMIT = 64;

    private final TargetCounters counters;
    private final int[] max;
    private final List<Arena> slabs = new ArrayList<>();
    private final DataBuffer[][] free = new DataBuffer[2][];
    private final int[] freeCount = new int[2];
    private final int[] total = new int[2];
    /** Connections waiting for a buffer of each class, FIFO, linked through {@link QueuePair#nextBufferWaiter}. */
    private final QueuePair[] waitHead = new QueuePair[2];
    private final QueuePair[] waitTail = new QueuePair[2];
    private boolean closed;

    DataBufferPool(TargetCounters counters, int maxSmall, int maxLarge) {
        this.counters = counters;
        this.max = new int[] {maxSmall, maxLarge};
        for (int c = 0; c < 2; c++) {
            free[c] = new DataBuffer[max[c]];
        }
    }

    /** The size class for {@code bytes} of data. */
    static int classFor(long bytes) {
        return bytes <= SIZES[SMALL] ? SMALL : LARGE;
    }

    /** A buffer of at least {@code bytes}, or null when none is free (then {@link #await} and retry). */
    DataBuffer acquire(long bytes) {
        int c = classFor(bytes);
        if (freeCount[c] == 0 && !grow(c)) {
            return null;
        }
        return free[c][--freeCount[c]];
    }

    void release(DataBuffer b) {
        free[b.sizeClass][freeCount[b.sizeClass]++] = b;
    }

    private boolean grow(int c) {
        if (closed || total[c] >= max[c]) {
            return false;
        }
        int n = Math.min(SLAB_BUFFERS[c], max[c] - total[c]);
        long size = SIZES[c];
        Arena arena = Arena.ofShared();
        MemorySegment slab = arena.allocate(size * n, 4096);
        slabs.add(arena);
        for (int i = 0; i < n; i++) {
            free[c][freeCount[c]++] = new DataBuffer(slab.asSlice(i * size, size), c);
        }
        total[c] += n;
        counters.poolMemory(size * n);
        return true;
    }

    /** Queues {@code q} to be {@linkplain QueuePair#onBufferAvailable resumed} once a buffer for {@code bytes} comes back. */
    void await(QueuePair q, long bytes) {
        if (q.awaitingBuffer) {
            return;
        }
        int c = classFor(bytes);
        q.awaitingBuffer = true;
        q.awaitedClass = c;
        q.nextBufferWaiter = null;
        if (waitTail[c] == null) {
            waitHead[c] = q;
        } else {
            waitTail[c].nextBufferWaiter = q;
        }
        waitTail[c] = q;
    }

    /** Drops {@code q} from the waiters (it is closing). */
    void cancel(QueuePair q) {
        if (!q.awaitingBuffer) {
            return;
        }
        int c = q.awaitedClass;
        QueuePair prev = null;
        for (QueuePair w = waitHead[c]; w != null; prev = w, w = w.nextBufferWaiter) {
            if (w == q) {
                if (prev == null) {
                    waitHead[c] = w.nextBufferWaiter;
                } else {
                    prev.nextBufferWaiter = w.nextBufferWaiter;
                }
                if (waitTail[c] == w) {
                    waitTail[c] = prev;
                }
                break;
            }
        }
        q.awaitingBuffer = false;
        q.nextBufferWaiter = null;
    }

    /** Resumes waiting connections while buffers are free (from the poll group's poller: never inside a release). */
    int resumeWaiters() {
        int n = 0;
        for (int c = 0; c < 2; c++) {
            while (waitHead[c] != null && n < RESUME_LIMIT && (freeCount[c] > 0 || total[c] < max[c])) {
                QueuePair q = waitHead[c];
                waitHead[c] = q.nextBufferWaiter;
                if (waitHead[c] == null) {
                    waitTail[c] = null;
                }
                q.awaitingBuffer = false;
                q.nextBufferWaiter = null;
                n++;
                q.onBufferAvailable();
                if (q.awaitingBuffer) {
                    break;      // it took what was free and wants more: the rest wait for the next release
                }
            }
        }
        return n;
    }

    /** Bytes of native memory this pool holds. */
    long bytes() {
        return (long) total[SMALL] * SIZES[SMALL] + (long) total[LARGE] * SIZES[LARGE];
    }

    int free(int sizeClass) {
        return freeCount[sizeClass];
    }

    /** Frees every slab once no connection of this reactor is left. */
    void close() {
        if (closed) {
            return;
        }
        closed = true;
        counters.poolMemory(-bytes());
        for (Arena a : slabs) {
            a.close();
        }
        slabs.clear();
    }
}
