package io.panastor.engine.nvmf.proto;

import java.lang.foreign.MemorySegment;

/**
 * Dataset Management: the command's fields and its 16-byte ranges (NVM command set 1.0
 * §3.2.3, Figures 38-40).
 * <pre>
 * command:  40 CDW10: 7:0 NR (ranges, 0's based) | 44 CDW11: 0 IDR, 1 IDW, 2 AD (deallocate)
 * range:     0 context attributes u32 | 4 LENGTH u32 (blocks, not 0's based) | 8 SLBA u64
 * </pre>
 */
public final class DsmRange {
    private DsmRange() {
    }

    public static final int SIZE = 16;
    public static final long ATTRIBUTES_OFFSET = 0;
    public static final long LENGTH_OFFSET = 4;
    public static final long SLBA_OFFSET = 8;
    /** Ranges one command may carry (NR is 8 bits, 0's based). */
    public static final int MAX_RANGES = 256;
    /** CDW11 bit 2: deallocate the ranges. */
    public static final int ATTRIBUTE_DEALLOCATE = 1 << 2;

    /** How many ranges the command carries (NR + 1). */
    public static int ranges(MemorySegment s, long sqe) {
        return (NvmeCommand.cdw(s, sqe, 10) & 0xFF) + 1;
    }

    public static boolean deallocate(MemorySegment s, long sqe) {
        return (NvmeCommand.cdw(s, sqe, 11) & ATTRIBUTE_DEALLOCATE) != 0;
    }

    /** Sets NR and the attributes of the command: {@code ranges} ranges to deallocate. */
    public static void deallocateCommand(MemorySegment s, long sqe, int ranges) {
        NvmeCommand.cdw(s, sqe, 10, ranges - 1);
        NvmeCommand.cdw(s, sqe, 11, ATTRIBUTE_DEALLOCATE);
    }

    /** Blocks in range {@code i} of the list at {@code base}. */
    public static long length(MemorySegment s, long base, int i) {
        return TcpPdu.u32(s, base + (long) SIZE * i + LENGTH_OFFSET);
    }

    public static long slba(MemorySegment s, long base, int i) {
        return TcpPdu.u64(s, base + (long) SIZE * i + SLBA_OFFSET);
    }

    public static void write(MemorySegment s, long base, int i, long slba, long blocks) {
        long at = base + (long) SIZE * i;
        TcpPdu.u32(s, at + ATTRIBUTES_OFFSET, 0);
        TcpPdu.u32(s, at + LENGTH_OFFSET, blocks);
        TcpPdu.u64(s, at + SLBA_OFFSET, slba);
    }
}
