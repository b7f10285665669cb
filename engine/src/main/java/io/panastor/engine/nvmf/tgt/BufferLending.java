package io.panastor.engine.nvmf.tgt;

import java.lang.foreign.Arena;

/**
 * How one connection gets data buffers from its reactor's {@link DataBufferPool}: at once
 * when the pool has one; for in-capsule data, from the connection's own 8 KiB reserve when it
 * has none (a command whose data came in the capsule never waits on the host, so it always
 * gives the reserve back, and a stream paused for it always resumes — waiting on the pool
 * alone could deadlock behind H2CData this very stream holds for buffers the pool lent);
 * otherwise the request waits, in order, while the connection reads on.
 *
 * <p>Thread-safety: reactor-confined, owned by one {@link QueuePair}.
 */
final class BufferLending {
    private final QueuePair q;
    private final DataBufferPool pool;
    private final DataBuffer reserve;
    private boolean reserveFree = true;
    /** Requests waiting for a buffer (R2T or C2H data), FIFO through {@link NvmfRequest#nextBufferWait}. */
    private NvmfRequest waitHead;
    private NvmfRequest waitTail;

    BufferLending(QueuePair q, DataBufferPool pool, Arena arena) {
        this.q = q;
        this.pool = pool;
        this.reserve = new DataBuffer(arena.allocate(QueuePair.IN_CAPSULE_DATA, 4096), DataBufferPool.RESERVE);
    }

    /** Native bytes of the reserve. */
    static long nativeBytes() {
        return QueuePair.IN_CAPSULE_DATA;
    }

    /** A buffer for {@code bytes} of in-capsule data, or null: then the stream waits ({@link DataBufferPool#await}). */
    DataBuffer forInCapsule(long bytes) {
        DataBuffer b = pool.acquire(bytes);
        if (b == null && reserveFree && bytes <= QueuePair.IN_CAPSULE_DATA) {
            b = reserve;
            reserveFree = false;
        }
        return b;
    }

    /** Takes {@code b} back; true when it was the reserve (the stream may have waited for it). */
    boolean giveBack(DataBuffer b) {
        if (b == reserve) {
            reserveFree = true;
            return true;
        }
        pool.release(b);
        return false;
    }

    /**
     * Lends {@code req} a buffer for its {@code length} bytes if it has none; false when the
     * pool is dry: the request then waits, behind any that wait already.
     */
    boolean lendOrWait(NvmfRequest req) {
        if (req.data != null || req.length == 0) {
            return true;
        }
        DataBuffer b = waitHead == null ? pool.acquire(req.length) : null;
        if (b != null) {
            req.attach(b);
            return true;
        }
        req.state = NvmfRequest.State.NEED_BUFFER;
        req.nextBufferWait = null;
        if (waitTail == null) {
            waitHead = req;
        } else {
            waitTail.nextBufferWait = req;
        }
        waitTail = req;
        pool.await(q, req.length);
        return false;
    }

    /** The first waiting request with a buffer lent now, or null (none waits, or the pool is still dry). */
    NvmfRequest nextReady() {
        NvmfRequest req = waitHead;
        if (req == null) {
            return null;
        }
        DataBuffer b = pool.acquire(req.length);
        if (b == null) {
            pool.await(q, req.length);
            return null;
        }
        waitHead = req.nextBufferWait;
        if (waitHead == null) {
            waitTail = null;
        }
        req.nextBufferWait = null;
        req.attach(b);
        return req;
    }

    /** Forgets waiting requests (the connection is closing and frees them itself). */
    void clear() {
        waitHead = null;
        waitTail = null;
        pool.cancel(q);
    }
}
