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
}
