package io.panastor.engine.nvmf.proto;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

import java.lang.foreign.MemorySegment;

/**
 * The 64-byte submission queue entry (NVMe base 2.0 §4.2) and the fabrics command fields
 * (NVMe over Fabrics 1.1 §3.3), as offsets from the SQE's start. Little-endian.
 * <pre>
 *  0 OPC u8 | 1 FUSE (1:0) PSDT (7:6) u8 | 2 CID u16 | 4 NSID u32 (fabrics: 4 FCTYPE u8)
 *  8 CDW2 | 12 CDW3 | 16 MPTR u64
 * 24 DPTR: SGL descriptor (16): 24 address u64 | 32 length u32 | 36 reserved[3] | 39 SGL identifier u8
 * 40 CDW10 | 44 CDW11 | 48 CDW12 | 52 CDW13 | 56 CDW14 | 60 CDW15
 * NVM Read / Write / Write Zeroes (NVM command set 1.0 §3.2.4, .6, .8):
 * 40 SLBA u64 | 48 NLB u16 (0's based) | 50 control u16 (bit 15 LR, 14 FUA, 9 DEAC)
 * </pre>
 */
public final class NvmeCommand {
    private NvmeCommand() {
    }

    public static final int SIZE = 64;
    public static final long OPC_OFFSET = 0;
    public static final long FLAGS_OFFSET = 1;
    public static final long CID_OFFSET = 2;
    public static final long NSID_OFFSET = 4;
    public static final long FCTYPE_OFFSET = 4;
    public static final long SGL_ADDRESS_OFFSET = 24;
    public static final long SGL_LENGTH_OFFSET = 32;
    public static final long SGL_ID_OFFSET = 39;
    public static final long CDW10_OFFSET = 40;
    public static final long CDW11_OFFSET = 44;
    public static final long CDW12_OFFSET = 48;
    public static final long CDW13_OFFSET = 52;
    public static final long CDW14_OFFSET = 56;
    public static final long CDW15_OFFSET = 60;

    /** SLBA of an NVM Read, Write or Write Zeroes. */
    public static final long SLBA_OFFSET = 40;
    /** NLB (0's based) of an NVM Read, Write or Write Zeroes. */
    public static final long NLB_OFFSET = 48;
    /** Most blocks one Read, Write or Write Zeroes covers (NLB is 16 bits, 0's based). */
    public static final int MAX_NLB = 65536;

    /** PSDT (FLAGS bits 7:6): 01b = SGLs, the metadata pointer a contiguous buffer; what fabrics require (§4.1.1). */
    public static final int PSDT_SGL = 1;
    /** The FLAGS byte of a fabrics command: FUSE 0, PSDT {@link #PSDT_SGL}. */
    public static final int FLAGS_SGL = PSDT_SGL << 6;

    /** SGL identifier: Data Block, Offset subtype: data in this capsule at {@code address} (§3.2.1, fabrics). */
    public static final int SGL_IN_CAPSULE = 0x01;
    /** SGL identifier: Transport Data Block, transport-specific subtype: data moved by R2T/H2CData or C2HData. */
    public static final int SGL_TRANSPORT = 0x5A;

    public static int opcode(MemorySegment s, long sqe) {
        return TcpPdu.u8(s, sqe + OPC_OFFSET);
    }

    public static int cid(MemorySegment s, long sqe) {
        return TcpPdu.u16(s, sqe + CID_OFFSET);
    }

    public static long nsid(MemorySegment s, long sqe) {
        return TcpPdu.u32(s, sqe + NSID_OFFSET);
    }

    public static int fctype(MemorySegment s, long sqe) {
        return TcpPdu.u8(s, sqe + FCTYPE_OFFSET);
    }

    /** PSDT: 0 = PRPs, 1 or 2 = SGLs (fabrics require SGLs). */
    public static int psdt(MemorySegment s, long sqe) {
        return (TcpPdu.u8(s, sqe + FLAGS_OFFSET) >>> 6) & 0x3;
    }

    public static int fuse(MemorySegment s, long sqe) {
        return TcpPdu.u8(s, sqe + FLAGS_OFFSET) & 0x3;
    }

    public static long sglAddress(MemorySegment s, long sqe) {
        return s.get(JAVA_LONG_UNALIGNED, sqe + SGL_ADDRESS_OFFSET);
    }

    public static long sglLength(MemorySegment s, long sqe) {
        return TcpPdu.u32(s, sqe + SGL_LENGTH_OFFSET);
    }

    public static int sglId(MemorySegment s, long sqe) {
        return TcpPdu.u8(s, sqe + SGL_ID_OFFSET);
    }

    /** Starting LBA of an NVM Read, Write or Write Zeroes. */
    public static long slba(MemorySegment s, long sqe) {
        return s.get(JAVA_LONG_UNALIGNED, sqe + SLBA_OFFSET);
    }

    /** Number of logical blocks of an NVM Read, Write or Write Zeroes (1..65536; NLB is 0's based on the wire). */
    public static int blocks(MemorySegment s, long sqe) {
        return TcpPdu.u16(s, sqe + NLB_OFFSET) + 1;
    }

    /**
     * Zeroes the 64-byte SQE and writes what every command has: OPC, FLAGS (PSDT = SGLs) and
     * CID; NSID (or, for fabrics commands, FCTYPE) is the caller's.
     */
    public static void begin(MemorySegment s, long sqe, int opcode, int cid) {
        for (long i = 0; i < SIZE; i += 8) {
            s.set(JAVA_LONG_UNALIGNED, sqe + i, 0L);
        }
        TcpPdu.u8(s, sqe + OPC_OFFSET, opcode);
        TcpPdu.u8(s, sqe + FLAGS_OFFSET, FLAGS_SGL);
        TcpPdu.u16(s, sqe + CID_OFFSET, cid);
    }

    public static void nsid(MemorySegment s, long sqe, long nsid) {
        TcpPdu.u32(s, sqe + NSID_OFFSET, nsid);
    }

    public static void fctype(MemorySegment s, long sqe, int fctype) {
        TcpPdu.u8(s, sqe + FCTYPE_OFFSET, fctype);
    }

    /** SGL1: {@code id} (e.g. {@link #SGL_IN_CAPSULE}, {@link #SGL_TRANSPORT}), address (offset) and length. */
    public static void sgl(MemorySegment s, long sqe, int id, long address, long length) {
        s.set(JAVA_LONG_UNALIGNED, sqe + SGL_ADDRESS_OFFSET, address);
        TcpPdu.u32(s, sqe + SGL_LENGTH_OFFSET, length);
        TcpPdu.u8(s, sqe + SGL_ID_OFFSET, id);
    }

    /** SLBA and NLB of an NVM Read, Write or Write Zeroes; {@code blocks} 1..{@link #MAX_NLB}. */
    public static void range(MemorySegment s, long sqe, long slba, int blocks) {
        s.set(JAVA_LONG_UNALIGNED, sqe + SLBA_OFFSET, slba);
        TcpPdu.u16(s, sqe + NLB_OFFSET, blocks - 1);
    }

    /** Sets command dword {@code n} (10..15). */
    public static void cdw(MemorySegment s, long sqe, int n, int value) {
        s.set(JAVA_INT_UNALIGNED, sqe + CDW10_OFFSET + (n - 10) * 4L, value);
    }

    /** Command dword {@code n} (10..15). */
    public static int cdw(MemorySegment s, long sqe, int n) {
        return s.get(JAVA_INT_UNALIGNED, sqe + CDW10_OFFSET + (n - 10) * 4L);
    }

    /** CDW10..11 as one 64-bit value (a starting LBA). */
    public static long cdw10_11(MemorySegment s, long sqe) {
        return s.get(JAVA_LONG_UNALIGNED, sqe + CDW10_OFFSET);
    }
}
