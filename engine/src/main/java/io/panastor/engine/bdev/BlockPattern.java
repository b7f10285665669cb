package io.panastor.engine.bdev;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * Self-checking block contents for verifying data end to end: every block says which
 * block it is, which write generation wrote it, and carries a CRC32C of itself, so a read
 * tells a torn block from a misplaced one, a stale one, or one never written.
 * <pre>
 *  0 magic u64 "PNSTRBLK" | 8 lba u64 | 16 generation u64 | 24 crc32c u32 | 28 zero u32
 * 32 payload: splitmix64 stream seeded by (lba, generation) ... to the end of the block
 * </pre>
 * The CRC covers bytes 0..23 and 28..end (everything but itself).
 *
 * Thread-safety: an instance is confined to one thread (it reuses a CRC32C).
 */
public final class BlockPattern {
    public static final long MAGIC = 0x4b4c425254534e50L; // "PNSTRBLK" little-endian
    static final long LBA_OFFSET = 8;
    static final long GENERATION_OFFSET = 16;
    static final long CRC_OFFSET = 24;
    static final long PAYLOAD_OFFSET = 32;

    /** What a verified block turned out to be. */
    public enum Verdict {
        /** Right block, right generation, intact. */
        OK,
        /** All zeroes: never written, or unmapped. */
        ZERO,
        /** Not a pattern block, or its checksum does not match: torn or corrupt. */
        CORRUPT,
        /** An intact block, but of another LBA. */
        MISPLACED,
        /** An intact block of this LBA, but from an older generation. */
        STALE,
        /** An intact block of this LBA from a newer generation than expected. */
        NEWER
    }

    private final CRC32C crc = new CRC32C();

    /** Fills {@code blocks} blocks of {@code blockSize} at {@code buf+offset} for {@code firstLba} onwards. */
    public void fill(MemorySegment buf, long offset, int blockSize, long firstLba, int blocks, long generation) {
        fill(buf, buf.asByteBuffer(), offset, blockSize, firstLba, blocks, generation);
    }

    /**
     * As {@link #fill(MemorySegment, long, int, long, int, long)} with {@code view} =
     * {@code buf.asByteBuffer()} made once by the caller: nothing is allocated.
     */
    public void fill(MemorySegment buf, ByteBuffer view, long offset, int blockSize, long firstLba, int blocks,
                     long generation) {
        for (int b = 0; b < blocks; b++) {
            long base = offset + (long) b * blockSize;
            long lba = firstLba + b;
            buf.set(JAVA_LONG_UNALIGNED, base, MAGIC);
            buf.set(JAVA_LONG_UNALIGNED, base + LBA_OFFSET, lba);
            buf.set(JAVA_LONG_UNALIGNED, base + GENERATION_OFFSET, generation);
            buf.set(JAVA_INT_UNALIGNED, base + CRC_OFFSET + 4, 0);
            long state = lba * 0x9E3779B97F4A7C15L ^ generation;
            for (long i = PAYLOAD_OFFSET; i + 8 <= blockSize; i += 8) {
                state += 0x9E3779B97F4A7C15L;
                buf.set(JAVA_LONG_UNALIGNED, base + i, mix(state));
            }
            buf.set(JAVA_INT_UNALIGNED, base + CRC_OFFSET, checksum(view, base, blockSize));
        }
    }

    /** Judges one block at {@code buf+base} against the LBA and generation it should hold. */
    public Verdict verify(MemorySegment buf, long base, int blockSize, long lba, long generation) {
        return verify(buf, buf.asByteBuffer(), base, blockSize, lba, generation);
    }

    /** As {@link #verify(MemorySegment, long, int, long, long)} with the caller's view of {@code buf}. */
    public Verdict verify(MemorySegment buf, ByteBuffer view, long base, int blockSize, long lba, long generation) {
        if (buf.get(JAVA_LONG_UNALIGNED, base) != MAGIC) {
            for (long i = 0; i < blockSize; i += 8) {
                if (buf.get(JAVA_LONG_UNALIGNED, base + i) != 0) {
                    return Verdict.CORRUPT;
                }
            }
            return Verdict.ZERO;
        }
        if (buf.get(JAVA_INT_UNALIGNED, base + CRC_OFFSET) != checksum(view, base, blockSize)) {
            return Verdict.CORRUPT;
        }
        if (buf.get(JAVA_LONG_UNALIGNED, base + LBA_OFFSET) != lba) {
            return Verdict.MISPLACED;
        }
        long g = buf.get(JAVA_LONG_UNALIGNED, base + GENERATION_OFFSET);
        return g == generation ? Verdict.OK : g < generation ? Verdict.STALE : Verdict.NEWER;
    }

    /** The generation an intact pattern block carries. */
    public static long generationOf(MemorySegment buf, long base) {
        return buf.get(JAVA_LONG_UNALIGNED, base + GENERATION_OFFSET);
    }

    private int checksum(ByteBuffer view, long base, int blockSize) {
        int b = (int) base;
        crc.reset();
        view.limit(b + (int) CRC_OFFSET).position(b);
        crc.update(view);
        view.limit(b + blockSize).position(b + (int) CRC_OFFSET + 4);
        crc.update(view);
        view.clear();
        return (int) crc.getValue();
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
