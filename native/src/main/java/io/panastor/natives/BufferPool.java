package io.panastor.natives;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A fixed set of equal, 4 KiB-aligned off-heap buffers carved from one slab, for
 * {@code O_DIRECT} IO and PDUs. The slab can be registered with an {@link IoUring} as one
 * fixed buffer, so IO into any of these buffers can use READ_FIXED/WRITE_FIXED.
 *
 * <p>Acquire and release walk a plain int stack: no allocation, no lock.
 * Thread-safety: confined to one thread (a reactor). Owns its {@link Arena}.
 */
public final class BufferPool implements AutoCloseable {
    /** Alignment of every buffer: a page, which satisfies O_DIRECT on every device. */
    public static final long ALIGNMENT = 4096;

    private final Arena arena;
    private final MemorySegment slab;
    private final MemorySegment[] buffers;
    private final boolean[] inUse;
    private final int[] free;
    private final long bufferSize;
    private int freeCount;

    /**
     * @param count      number of buffers
     * @param bufferSize bytes per buffer; a multiple of {@link #ALIGNMENT}
     */
    public BufferPool(int count, long bufferSize) {
        if (count <= 0) {
            throw new IllegalArgumentException("buffer count must be positive, got " + count);
        }
        if (bufferSize <= 0 || bufferSize % ALIGNMENT != 0) {
            throw new IllegalArgumentException("buffer size must be a positive multiple of " + ALIGNMENT
                    + " bytes, got " + bufferSize);
        }
        this.arena = Arena.ofShared();
        this.bufferSize = bufferSize;
        this.slab = arena.allocate(bufferSize * count, ALIGNMENT);
        this.buffers = new MemorySegment[count];
        this.inUse = new boolean[count];
        this.free = new int[count];
        for (int i = 0; i < count; i++) {
            buffers[i] = slab.asSlice(i * bufferSize, bufferSize);
            free[i] = count - 1 - i;
        }
        this.freeCount = count;
    }

    /** A free buffer, or {@code null} when all are in use. */
    public MemorySegment acquire() {
        if (freeCount == 0) {
            return null;
        }
        int i = free[--freeCount];
        inUse[i] = true;
        return buffers[i];
    }

    /** Returns a buffer got from {@link #acquire()}. */
    public void release(MemorySegment buffer) {
        int i = indexOf(buffer);
        if (!inUse[i]) {
            throw new IllegalStateException("buffer " + i + " released twice");
        }
        inUse[i] = false;
        free[freeCount++] = i;
    }

    /** Index of {@code buffer} in this pool; it must be one of ours. */
    public int indexOf(MemorySegment buffer) {
        long delta = buffer.address() - slab.address();
        if (delta < 0 || delta >= slab.byteSize() || delta % bufferSize != 0) {
            throw new IllegalArgumentException("buffer at 0x" + Long.toHexString(buffer.address())
                    + " is not from this pool");
        }
        return (int) (delta / bufferSize);
    }

    /** True when {@code address .. address+length} lies inside the slab. */
    public boolean contains(long address, long length) {
        long start = slab.address();
        return address >= start && address + length <= start + slab.byteSize();
    }

    public MemorySegment buffer(int index) {
        return buffers[index];
    }

    /** The whole slab: what gets registered with a ring. */
    public MemorySegment slab() {
        return slab;
    }

    public long bufferSize() {
        return bufferSize;
    }

    public int capacity() {
        return buffers.length;
    }

    public int available() {
        return freeCount;
    }

    @Override
    public void close() {
        arena.close();
    }
}
