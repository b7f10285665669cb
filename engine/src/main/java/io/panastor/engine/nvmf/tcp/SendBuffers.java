package io.panastor.engine.nvmf.tcp;

import io.panastor.natives.IoUring;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * The send side of an NVMe/TCP connection, shared by target and initiator: PDUs are built in
 * place in one buffer while the other is on the wire, so that everything queued during a send
 * leaves in the next single send (few syscalls under load). A short send is resubmitted for
 * its remainder. Memory belongs to the caller's {@link Arena}.
 *
 * Thread-safety: reactor-confined.
 */
public final class SendBuffers {
    private final MemorySegment[] buffers = new MemorySegment[2];
    private final ByteBuffer[] views = new ByteBuffer[2];
    private final int capacity;
    private int fill;
    private int fillLength;
    private int sendingLength;
    private int sendingOffset;
    private boolean inFlight;

    public SendBuffers(Arena arena, int capacity) {
        this.capacity = capacity;
        for (int i = 0; i < 2; i++) {
            buffers[i] = arena.allocate(capacity, 4096);
            views[i] = buffers[i].asByteBuffer();
        }
    }

    /** Offset of {@code bytes} reserved in the filling buffer, or -1 when they do not fit now. */
    public int reserve(int bytes) {
        if (fillLength + bytes > capacity) {
            return -1;
        }
        int at = fillLength;
        fillLength += bytes;
        return at;
    }

    /** Bytes still free in the filling buffer. */
    public int room() {
        return capacity - fillLength;
    }

    /** The buffer PDUs are being built in. */
    public MemorySegment filling() {
        return buffers[fill];
    }

    /** A ByteBuffer view of {@link #filling()}, for digests. */
    public ByteBuffer fillingView() {
        return views[fill];
    }

    public boolean hasQueued() {
        return fillLength > 0;
    }

    public boolean inFlight() {
        return inFlight;
    }

    /** Forgets whatever is queued (a connection starting over). */
    public void clearQueued() {
        fillLength = 0;
    }

    /**
     * Sends the filling buffer unless a send is in flight or nothing is queued.
     *
     * @return false only when the ring refused the send
     */
    public boolean flush(IoUring ring, int fd, long userData) {
        if (inFlight || fillLength == 0) {
            return true;
        }
        int sending = fill;
        fill ^= 1;
        sendingLength = fillLength;
        sendingOffset = 0;
        fillLength = 0;
        inFlight = ring.prepSend(fd, buffers[sending].address(), sendingLength, userData);
        return inFlight;
    }

    /** {@link #onSent}: the whole buffer is on the wire. */
    public static final int SENT = 1;
    /** {@link #onSent}: a short send; the remainder was resubmitted. */
    public static final int RESUBMITTED = 0;
    /** {@link #onSent}: a short send whose remainder the ring refused; the connection cannot go on. */
    public static final int STUCK = -1;

    /** Accounts a send completion with a non-negative result: {@link #SENT}, {@link #RESUBMITTED} or {@link #STUCK}. */
    public int onSent(int res, IoUring ring, int fd, long userData) {
        sendingOffset += res;
        if (sendingOffset < sendingLength) {
            inFlight = ring.prepSend(fd, buffers[fill ^ 1].address() + sendingOffset, sendingLength - sendingOffset,
                    userData);
            return inFlight ? RESUBMITTED : STUCK;
        }
        inFlight = false;
        return SENT;
    }

    /** A send failed: nothing is in flight any more. */
    public void onFailed() {
        inFlight = false;
    }
}
