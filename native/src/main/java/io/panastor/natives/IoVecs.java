package io.panastor.natives;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.panastor.bindings.iovec;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * An off-heap array of {@code struct iovec} for vectored io_uring reads and writes, filled
 * in place with no allocation. Thread-safety: confined to its user. Owns its {@link Arena}.
 */
public final class IoVecs implements AutoCloseable {
    private final Arena arena = Arena.ofShared();
    private final MemorySegment array;
    private final int capacity;

    public IoVecs(int capacity) {
        this.capacity = capacity;
        this.array = arena.allocate(iovec.layout(), capacity);
    }

    /** Points entry {@code i} at {@code buffer}. */
    public void set(int i, MemorySegment buffer) {
        long at = (long) i * iovec.SIZE;
        array.set(JAVA_LONG, at + iovec.iov_base_OFFSET, buffer.address());
        array.set(JAVA_LONG, at + iovec.iov_len_OFFSET, buffer.byteSize());
    }

    /** Native address of entry {@code i}: what an SQE's {@code addr} takes. */
    public long address(int i) {
        return array.address() + (long) i * iovec.SIZE;
    }

    public int capacity() {
        return capacity;
    }

    @Override
    public void close() {
        arena.close();
    }
}
