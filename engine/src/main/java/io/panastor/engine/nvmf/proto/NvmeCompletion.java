package io.panastor.engine.nvmf.proto;

import java.lang.foreign.MemorySegment;

/**
 * The 16-byte completion queue entry (NVMe base 2.0 §4.6). Little-endian.
 * <pre>
 *  0 DW0 u32 (command specific) | 4 DW1 u32 | 8 SQHD u16 | 10 SQID u16 | 12 CID u16
 * 14 STATUS u16: bit 0 phase | 8:1 SC | 11:9 SCT | 13:12 CRD | 14 More | 15 DNR
 * </pre>
 */
public final class NvmeCompletion {
    private NvmeCompletion() {
    }

    public static final int SIZE = 16;
    public static final long DW0_OFFSET = 0;
    public static final long DW1_OFFSET = 4;
    public static final long SQHD_OFFSET = 8;
    public static final long SQID_OFFSET = 10;
    public static final long CID_OFFSET = 12;
    public static final long STATUS_OFFSET = 14;

    public static void write(MemorySegment s, long cqe, int dw0, int dw1, int sqhd, int sqid, int cid, int status) {
        TcpPdu.u32(s, cqe + DW0_OFFSET, Integer.toUnsignedLong(dw0));
        TcpPdu.u32(s, cqe + DW1_OFFSET, Integer.toUnsignedLong(dw1));
        TcpPdu.u16(s, cqe + SQHD_OFFSET, sqhd);
        TcpPdu.u16(s, cqe + SQID_OFFSET, sqid);
        TcpPdu.u16(s, cqe + CID_OFFSET, cid);
        TcpPdu.u16(s, cqe + STATUS_OFFSET, status << 1);
    }

    public static int cid(MemorySegment s, long cqe) {
        return TcpPdu.u16(s, cqe + CID_OFFSET);
    }

    /** The status field without the phase bit: {@link NvmeStatus} encoding. */
    public static int status(MemorySegment s, long cqe) {
        return TcpPdu.u16(s, cqe + STATUS_OFFSET) >>> 1;
    }

    public static long dw0(MemorySegment s, long cqe) {
        return TcpPdu.u32(s, cqe + DW0_OFFSET);
    }
}
