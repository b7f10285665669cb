package io.panastor.engine.nvmf.tcp;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * The NVMe/TCP header and data digest (CRC32C, NVMe/TCP 1.0 §3.6.2.2) over a region of a
 * buffer's view, without allocating. Reactor-confined (it reuses one CRC32C).
 */
public final class Crc32cDigest {
    private final CRC32C crc = new CRC32C();

    public int of(ByteBuffer view, int offset, int length) {
        crc.reset();
        view.limit(offset + length).position(offset);
        crc.update(view);
        view.clear();
        return (int) crc.getValue();
    }

    /** Starts a digest computed piece by piece ({@link #update}, then {@link #value}): data that arrives in parts. */
    public void begin() {
        crc.reset();
    }

    /** Adds a region of {@code view} to the digest {@link #begin} started. */
    public void update(ByteBuffer view, int offset, int length) {
        view.limit(offset + length).position(offset);
        crc.update(view);
        view.clear();
    }

    /** The digest of everything added since {@link #begin}. */
    public int value() {
        return (int) crc.getValue();
    }
}
