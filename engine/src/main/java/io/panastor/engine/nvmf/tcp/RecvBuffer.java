package io.panastor.engine.nvmf.tcp;

import io.panastor.natives.IoUring;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * The receive side of an NVMe/TCP connection, shared by target and initiator: one buffer that
 * PDUs are parsed from in place between {@link #start()} and {@link #end()}, with one receive in
 * flight into the free space after them. Parsed bytes are given back with {@link #consume};
 * before each receive the unparsed tail moves to the front when less room than the largest PDU
 * is left. Memory belongs to the caller's {@link Arena}.
 *
 * Thread-safety: reactor-confined.
 */
public final class RecvBuffer {
    private final MemorySegment buffer;
    private final ByteBuffer view;
    private final int capacity;
    private final int largestPdu;
    private int start;
    private int end;
    private boolean inFlight;

    /** @param largestPdu the longest PDU the owner accepts; the buffer must hold it */
    public RecvBuffer(Arena arena, int capacity, int largestPdu) {
        if (largestPdu > capacity) {
            throw new IllegalArgumentException("a " + capacity + "-byte buffer cannot hold a " + largestPdu + "-byte PDU");
        }
        this.capacity = capacity;
        this.largestPdu = largestPdu;
        this.buffer = arena.allocate(capacity, 4096);
        this.view = buffer.asByteBuffer();
    }

    public MemorySegment segment() {
        return buffer;
    }

    /** A ByteBuffer view of the whole buffer, for digests. */
    public ByteBuffer view() {
        return view;
    }

    /** Offset of the first unparsed byte. */
    public int start() {
        return start;
    }

    /** Offset just past the last received byte. */
    public int end() {
        return end;
    }

    public int available() {
        return end - start;
    }

    /** Bytes the buffer holds at most. */
    public int capacity() {
        return capacity;
    }

    /** Bytes free after {@link #end()} for the next receive. */
    public int free() {
        return capacity - end;
    }

    /**
     * Moves the unparsed bytes to the front of {@code bigger} (a connection growing its buffer):
     * afterwards {@code bigger} parses on from them and this buffer holds nothing. Neither may
     * have a receive in flight.
     */
    public void moveUnparsedTo(RecvBuffer bigger) {
        if (inFlight || bigger.inFlight || bigger.capacity < end - start) {
            throw new IllegalStateException("cannot move " + (end - start) + " bytes into a " + bigger.capacity
                    + "-byte buffer" + (inFlight || bigger.inFlight ? " with a receive in flight" : ""));
        }
        int live = end - start;
        MemorySegment.copy(buffer, start, bigger.buffer, 0, live);
        bigger.start = 0;
        bigger.end = live;
        start = 0;
        end = 0;
    }

    /** Marks {@code bytes} more as parsed. */
    public void consume(int bytes) {
        start += bytes;
    }

    /** Gives back {@code bytes} just {@linkplain #consume consumed}: they are parsed again. */
    public void unconsume(int bytes) {
        if (bytes > start) {
            throw new IllegalStateException("cannot give back " + bytes + " bytes at " + start);
        }
        start -= bytes;
    }

    public boolean inFlight() {
        return inFlight;
    }

    /** Forgets everything received (a connection starting over). */
    public void reset() {
        start = 0;
        end = 0;
    }

    /**
     * Starts a receive into the free space, after moving unparsed bytes to the front when
     * needed.
     *
     * @return false when the ring refused the receive
     */
    public boolean post(IoUring ring, int fd, long userData) {
        if (start == end) {
            start = 0;
            end = 0;
        } else if (capacity - end < largestPdu && start > 0) {
            int live = end - start;
            MemorySegment.copy(buffer, start, buffer, 0, live);
            start = 0;
            end = live;
        }
        inFlight = ring.prepRecv(fd, buffer.address() + end, capacity - end, userData);
        return inFlight;
    }

    /** Accounts a receive completion; a positive result adds that many bytes. */
    public void onReceived(int res) {
        inFlight = false;
        if (res > 0) {
            end += res;
        }
    }
}
