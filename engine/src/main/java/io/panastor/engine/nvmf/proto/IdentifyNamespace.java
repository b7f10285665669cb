package io.panastor.engine.nvmf.proto;

import java.lang.foreign.MemorySegment;

/**
 * The Identify Namespace data structure of the NVM command set (NVM command set 1.0
 * §4.1.5.1, Figure 97), 4096 bytes, as offsets from its start.
 * <pre>
 *   0 NSZE u64 | 8 NCAP u64 | 16 NUSE u64 (blocks) | 24 NSFEAT u8 | 25 NLBAF u8 (0's based)
 *  26 FLBAS u8 (3:0 the format in use) | 27 MC u8 | 28 DPC u8 | 29 DPS u8 | 30 NMIC u8
 *  31 RESCAP u8 | 32 FPI u8 | 33 DLFEAT u8 | 104 NGUID (16) | 120 EUI64 (8)
 * 128 LBAF[0..63] u32 each: 15:0 MS (metadata bytes) | 23:16 LBADS (block size 2^n) | 25:24 RP
 * </pre>
 */
public final class IdentifyNamespace {
    private IdentifyNamespace() {
    }

    public static final int SIZE = 4096;
    public static final long NSZE_OFFSET = 0;
    public static final long NCAP_OFFSET = 8;
    public static final long NUSE_OFFSET = 16;
    public static final long NSFEAT_OFFSET = 24;
    public static final long NLBAF_OFFSET = 25;
    public static final long FLBAS_OFFSET = 26;
    public static final long MC_OFFSET = 27;
    public static final long DPC_OFFSET = 28;
    public static final long DPS_OFFSET = 29;
    public static final long NMIC_OFFSET = 30;
    public static final long RESCAP_OFFSET = 31;
    public static final long FPI_OFFSET = 32;
    public static final long DLFEAT_OFFSET = 33;
    public static final long NGUID_OFFSET = 104;
    public static final int NGUID_LENGTH = 16;
    public static final long EUI64_OFFSET = 120;
    public static final long LBAF_OFFSET = 128;
    public static final int LBAF_SIZE = 4;
    public static final int MAX_LBA_FORMATS = 64;

    /** NMIC bit 0: the namespace may be attached to more than one controller. */
    public static final int NMIC_SHARED = 0x1;
    /** DLFEAT 2:0 = 001b: deallocated blocks read as zeroes. */
    public static final int DLFEAT_READS_ZEROES = 0x1;
    /** The block sizes we take from a controller: 512 B .. 64 KiB (LBADS 9..16). */
    public static final int MIN_LBADS = 9;
    public static final int MAX_LBADS = 16;

    public static long size(MemorySegment s, long base) {
        return TcpPdu.u64(s, base + NSZE_OFFSET);
    }

    public static long capacity(MemorySegment s, long base) {
        return TcpPdu.u64(s, base + NCAP_OFFSET);
    }

    /** How many LBA formats the namespace has (NLBAF + 1). */
    public static int formats(MemorySegment s, long base) {
        return TcpPdu.u8(s, base + NLBAF_OFFSET) + 1;
    }

    /** The LBA format in use (FLBAS bits 3:0; the upper bits of a 64-format index are ignored here). */
    public static int formatInUse(MemorySegment s, long base) {
        return TcpPdu.u8(s, base + FLBAS_OFFSET) & 0xF;
    }

    /** LBADS of format {@code n}: the block size is {@code 1 << lbads}. */
    public static int lbads(MemorySegment s, long base, int n) {
        return (int) (TcpPdu.u32(s, base + LBAF_OFFSET + (long) LBAF_SIZE * n) >>> 16) & 0xFF;
    }

    /** Metadata bytes per block of format {@code n}. */
    public static int metadataSize(MemorySegment s, long base, int n) {
        return (int) TcpPdu.u32(s, base + LBAF_OFFSET + (long) LBAF_SIZE * n) & 0xFFFF;
    }

    /** Writes LBA format {@code n}: no metadata, blocks of {@code 1 << lbads} bytes. */
    public static void format(MemorySegment s, long base, int n, int lbads) {
        TcpPdu.u32(s, base + LBAF_OFFSET + (long) LBAF_SIZE * n, (long) lbads << 16);
    }
}
