package io.panastor.engine.nvmf.tgt;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * One data buffer of a reactor's {@link DataBufferPool}, lent to a request while it has data
 * to move. Keeps the exact-length view last handed to a bdev, so that IO of a repeating size
 * slices nothing. Reactor-confined.
 */
final class DataBuffer {
    final MemorySegment segment;
    /** {@link #segment} as a ByteBuffer, for data digests. */
    final ByteBuffer view;
    /** The size class it belongs to (index into the pool's classes). */
    final int sizeClass;
    private MemorySegment sized;

    DataBuffer(MemorySegment segment, int sizeClass) {
        this.segment = segment;
        this.view = segment.asByteBuffer();
        this.sizeClass = sizeClass;
    }

    /** The first {@code bytes} of the buffer as a segment of exactly that length; no allocation while sizes repeat. */
    MemorySegment data(long bytes) {
        MemorySegment v = sized;
        if (v == null || v.byteSize() != bytes) {
            v = segment.asSlice(0, bytes);
            sized = v;
        }
        return v;
    }
}
