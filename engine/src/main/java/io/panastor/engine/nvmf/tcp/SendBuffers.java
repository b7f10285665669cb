package io.panastor.engine.nvmf.tcp;

import io.panastor.natives.IoUring;
import io.panastor.natives.IoVectors;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * The send side of an NVMe/TCP connection, shared by target and initiator: PDUs are built in
 * place in one side while the other is on the wire, so that everything queued during a send
 * leaves in the next single send (few syscalls under load). Headers (and small payloads) are
 * written into the side's buffer; large payloads can be {@linkplain #appendExternal gathered}
 * from where they already are — a read's data buffer, say — so they are not copied in user
 * space: such a side goes out as one {@code sendmsg} over a list of iovecs, and whoever owns
 * the external memory keeps it until that side's send completes. A short send is resubmitted
 * for its remainder. Memory belongs to the caller's {@link Arena}.
 *
 * Thread-safety: reactor-confined.
 */
public final class SendBuffers {
    /** Most iovecs one sendmsg takes (Linux UIO_MAXIOV). */
    static final int MAX_IOVS = 1024;

    private final MemorySegment[] buffers = new MemorySegment[2];
    private final ByteBuffer[] views = new ByteBuffer[2];
    private final MemorySegment[] iovs = new MemorySegment[2];
    private final MemorySegment[] msgs = new MemorySegment[2];
    private final int[] iovCounts = new int[2];
    /** Bytes of the filling side that lie outside its buffer (gathered payloads). */
    private long externalBytes;
    private final int capacity;
    /** iovecs one side holds: {@link #MAX_IOVS} unless the owner needs fewer. */
    private final int maxIovs;
    private int fill;
    private int fillLength;
    /** Start, in the filling buffer, of the bytes not yet in an iovec. */
    private int runStart;
    private long sendingLength;
    private long sendingOffset;
    /** The first iovec of the sending side not yet wholly sent (gathered sends only). */
    private int sendingIov;
    private boolean sendingGathered;
    private boolean inFlight;

    public SendBuffers(Arena arena, int capacity) {
        this(arena, capacity, MAX_IOVS);
    }

    /**
     * @param maxIovs iovecs per side, at most {@link #MAX_IOVS}: a queue that can gather at most
     *                N payloads at once needs 2N + 1 (the target sizes it to its queue depth,
     *                so an idle connection holds kilobytes, not 32 KiB of iovecs)
     */
    public SendBuffers(Arena arena, int capacity, int maxIovs) {
        if (maxIovs < 3 || maxIovs > MAX_IOVS) {
            throw new IllegalArgumentException("iovecs per send must be 3 to " + MAX_IOVS + ", got " + maxIovs);
        }
        this.capacity = capacity;
        this.maxIovs = maxIovs;
        for (int i = 0; i < 2; i++) {
            buffers[i] = arena.allocate(capacity, 4096);
            views[i] = buffers[i].asByteBuffer();
            iovs[i] = arena.allocate(IoVectors.IOVEC_SIZE * maxIovs, 8);
            msgs[i] = arena.allocate(IoVectors.MSGHDR_SIZE, 8);
        }
    }

    /** Native bytes these buffers hold (both sides, their iovecs and msghdrs). */
    public long nativeBytes() {
        return 2L * (capacity + IoVectors.IOVEC_SIZE * maxIovs + IoVectors.MSGHDR_SIZE);
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

    /** Whether {@code pieces} external payloads could ever go in one send (else copy them). */
    public static boolean fitsOneSend(int pieces) {
        return 2L * pieces + 1 <= MAX_IOVS;
    }

    /** Whether one more external payload (and the header after it) fits in the filling side now. */
    public boolean canAppendExternal() {
        return canAppendExternal(1);
    }

    /** Whether {@code pieces} more external payloads, each after some buffered bytes, fit in the filling side now. */
    public boolean canAppendExternal(int pieces) {
        return iovCounts[fill] + 2L * pieces + 1 <= maxIovs;
    }

    /**
     * Puts {@code length} bytes at native address {@code address} on the wire right after
     * what is reserved so far, without copying them. The memory must stay unchanged until the
     * send of this side completes ({@link #fillingIndex()} names the side). Call only when
     * {@link #canAppendExternal()}.
     */
    public void appendExternal(long address, int length) {
        int n = iovCounts[fill];
        MemorySegment v = iovs[fill];
        if (fillLength > runStart) {
            putIov(v, n++, buffers[fill].address() + runStart, fillLength - runStart);
        }
        putIov(v, n++, address, length);
        iovCounts[fill] = n;
        runStart = fillLength;
        externalBytes += length;
    }

    private static void putIov(MemorySegment v, int i, long address, long length) {
        IoVectors.set(v, i, address, length);
    }

    /** The buffer PDUs are being built in. */
    public MemorySegment filling() {
        return buffers[fill];
    }

    /** Which side (0 or 1) is filling; the other is the one on the wire while a send is in flight. */
    public int fillingIndex() {
        return fill;
    }

    /** A ByteBuffer view of {@link #filling()}, for digests. */
    public ByteBuffer fillingView() {
        return views[fill];
    }

    public boolean hasQueued() {
        return fillLength > 0 || iovCounts[fill] > 0;
    }

    public boolean inFlight() {
        return inFlight;
    }

    /** Forgets whatever is queued (a connection starting over). */
    public void clearQueued() {
        fillLength = 0;
        runStart = 0;
        iovCounts[fill] = 0;
        externalBytes = 0;
    }

    /**
     * Sends the filling side unless a send is in flight or nothing is queued.
     *
     * @return false only when the ring refused the send
     */
    public boolean flush(IoUring ring, int fd, long userData) {
        if (inFlight || !hasQueued()) {
            return true;
        }
        int sending = fill;
        sendingOffset = 0;
        sendingLength = fillLength + externalBytes;
        sendingGathered = iovCounts[sending] > 0;
        if (sendingGathered) {
            if (fillLength > runStart) {
                putIov(iovs[sending], iovCounts[sending]++, buffers[sending].address() + runStart,
                        fillLength - runStart);
            }
            sendingIov = 0;
        }
        fill ^= 1;
        fillLength = 0;
        runStart = 0;
        externalBytes = 0;
        iovCounts[fill] = 0;
        inFlight = sendingGathered ? prepGathered(ring, fd, sending, userData)
                : ring.prepSend(fd, buffers[sending].address(), (int) sendingLength, userData);
        return inFlight;
    }

    private boolean prepGathered(IoUring ring, int fd, int side, long userData) {
        MemorySegment msg = msgs[side];     // zeroed by the arena: no name, no control data
        IoVectors.point(msg, iovs[side].address() + sendingIov * IoVectors.IOVEC_SIZE, iovCounts[side] - sendingIov);
        return ring.prepSendmsg(fd, msg.address(), userData);
    }

    /** {@link #onSent}: the whole side is on the wire (its external memory may be reused). */
    public static final int SENT = 1;
    /** {@link #onSent}: a short send; the remainder was resubmitted. */
    public static final int RESUBMITTED = 0;
    /** {@link #onSent}: a short send whose remainder the ring refused; the connection cannot go on. */
    public static final int STUCK = -1;

    /** Accounts a send completion with a non-negative result: {@link #SENT}, {@link #RESUBMITTED} or {@link #STUCK}. */
    public int onSent(int res, IoUring ring, int fd, long userData) {
        sendingOffset += res;
        if (sendingOffset >= sendingLength) {
            inFlight = false;
            return SENT;
        }
        int side = fill ^ 1;
        if (sendingGathered) {
            skip(side, res);
            inFlight = prepGathered(ring, fd, side, userData);
        } else {
            inFlight = ring.prepSend(fd, buffers[side].address() + sendingOffset,
                    (int) (sendingLength - sendingOffset), userData);
        }
        return inFlight ? RESUBMITTED : STUCK;
    }

    /** Moves the first unsent iovec of {@code side} past {@code bytes} more sent bytes. */
    private void skip(int side, long bytes) {
        MemorySegment v = iovs[side];
        while (bytes > 0) {
            long len = IoVectors.length(v, sendingIov);
            if (bytes >= len) {
                bytes -= len;
                sendingIov++;
            } else {
                long base = IoVectors.base(v, sendingIov);
                putIov(v, sendingIov, base + bytes, len - bytes);
                bytes = 0;
            }
        }
    }

    /** A send failed: nothing is in flight any more. */
    public void onFailed() {
        inFlight = false;
    }
}
