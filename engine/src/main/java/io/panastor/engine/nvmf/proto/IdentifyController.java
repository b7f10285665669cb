package io.panastor.engine.nvmf.proto;

import java.lang.foreign.MemorySegment;

/**
 * The Identify Controller data structure (NVMe base 2.0 §5.17.2.1, Figure 275; fabrics fields
 * from NVMe over Fabrics 1.1 §4.1), 4096 bytes, as offsets from its start.
 * <pre>
 *    0 VID u16 | 2 SSVID u16 | 4 SN (20, space-padded) | 24 MN (40) | 64 FR (8) | 72 RAB u8
 *   73 IEEE (3) | 76 CMIC u8 | 77 MDTS u8 (2^n minimum pages; 0 = no limit) | 78 CNTLID u16
 *   80 VER u32 | 84 RTD3R u32 | 88 RTD3E u32 | 92 OAES u32 | 96 CTRATT u32 | 111 CNTRLTYPE u8
 *  256 OACS u16 | 258 ACL u8 | 259 AERL u8 | 260 FRMW u8 | 261 LPA u8 | 262 ELPE u8
 *  320 KAS u16 (100 ms units)
 *  512 SQES u8 | 513 CQES u8 | 514 MAXCMD u16 | 516 NN u32 | 520 ONCS u16 | 522 FUSES u16
 *  524 FNA u8 | 525 VWC u8 | 526 AWUN u16 | 528 AWUPF u16 | 534 OCFS u16 | 536 SGLS u32
 *  768 SUBNQN (256, NUL-terminated)
 * 1792 IOCCSZ u32 (16-byte units, SQE included) | 1796 IORCSZ u32 | 1800 ICDOFF u16
 * 1802 FCATT u8 (bit 0: static model) | 1803 MSDBD u8 | 1804 OFCS u16 (bit 0: Disconnect)
 * </pre>
 */
public final class IdentifyController {
    private IdentifyController() {
    }

    public static final int SIZE = 4096;
    public static final long VID_OFFSET = 0;
    public static final long SSVID_OFFSET = 2;
    public static final long SN_OFFSET = 4;
    public static final int SN_LENGTH = 20;
    public static final long MN_OFFSET = 24;
    public static final int MN_LENGTH = 40;
    public static final long FR_OFFSET = 64;
    public static final int FR_LENGTH = 8;
    public static final long RAB_OFFSET = 72;
    public static final long IEEE_OFFSET = 73;
    public static final long CMIC_OFFSET = 76;
    public static final long MDTS_OFFSET = 77;
    public static final long CNTLID_OFFSET = 78;
    public static final long VER_OFFSET = 80;
    public static final long RTD3R_OFFSET = 84;
    public static final long RTD3E_OFFSET = 88;
    public static final long OAES_OFFSET = 92;
    public static final long CTRATT_OFFSET = 96;
    public static final long CNTRLTYPE_OFFSET = 111;
    public static final long OACS_OFFSET = 256;
    public static final long ACL_OFFSET = 258;
    public static final long AERL_OFFSET = 259;
    public static final long FRMW_OFFSET = 260;
    public static final long LPA_OFFSET = 261;
    public static final long ELPE_OFFSET = 262;
    public static final long KAS_OFFSET = 320;
    public static final long SQES_OFFSET = 512;
    public static final long CQES_OFFSET = 513;
    public static final long MAXCMD_OFFSET = 514;
    public static final long NN_OFFSET = 516;
    public static final long ONCS_OFFSET = 520;
    public static final long FUSES_OFFSET = 522;
    public static final long FNA_OFFSET = 524;
    public static final long VWC_OFFSET = 525;
    public static final long AWUN_OFFSET = 526;
    public static final long AWUPF_OFFSET = 528;
    public static final long OCFS_OFFSET = 534;
    public static final long SGLS_OFFSET = 536;
    public static final long SUBNQN_OFFSET = 768;
    public static final long IOCCSZ_OFFSET = 1792;
    public static final long IORCSZ_OFFSET = 1796;
    public static final long ICDOFF_OFFSET = 1800;
    public static final long FCATT_OFFSET = 1802;
    public static final long MSDBD_OFFSET = 1803;
    public static final long OFCS_OFFSET = 1804;

    /** CMIC bit 1: more than one controller may attach to the subsystem. */
    public static final int CMIC_MULTI_CONTROLLER = 0x2;
    /** OAES bit 8: Namespace Attribute Notices. */
    public static final int OAES_NAMESPACE_ATTRIBUTE = 1 << 8;
    /** CTRATT bit 0: 128-bit host identifier. */
    public static final int CTRATT_HOST_ID_128 = 0x1;
    public static final int CNTRLTYPE_IO = 1;
    public static final int CNTRLTYPE_DISCOVERY = 2;
    /** LPA bit 2: extended data (NUMDU, offsets) for Get Log Page. */
    public static final int LPA_EXTENDED_DATA = 0x4;
    /** SQES 64-byte entries (required and maximum 2^6), CQES 16-byte (2^4). */
    public static final int SQES_64 = 0x66;
    public static final int CQES_16 = 0x44;
    public static final int ONCS_DATASET_MANAGEMENT = 1 << 2;
    public static final int ONCS_WRITE_ZEROES = 1 << 3;
    /** VWC bit 0: a volatile write cache is present; bits 2:1 = 10b: Flush with NSID FFFFFFFFh not supported. */
    public static final int VWC_PRESENT_NO_BROADCAST_FLUSH = 0x05;
    /** SGLS bit 0: SGLs supported; bit 20: the address field of SGL data blocks may be an offset. */
    public static final int SGLS_SUPPORTED_OFFSET = 0x1 | (1 << 20);
    /** OFCS bit 0: Disconnect is supported. */
    public static final int OFCS_DISCONNECT = 0x1;
    /** MDTS is in units of the minimum memory page size, which we take as 4 KiB (CAP.MPSMIN = 0). */
    public static final int MIN_PAGE_SIZE = 4096;
    /** The largest MDTS exponent we accept from a controller: 4 KiB x 2^8 = 1 MiB. */
    public static final int MAX_MDTS = 8;

    public static int mdts(MemorySegment s, long base) {
        return TcpPdu.u8(s, base + MDTS_OFFSET);
    }

    public static int cntlid(MemorySegment s, long base) {
        return TcpPdu.u16(s, base + CNTLID_OFFSET);
    }

    public static long version(MemorySegment s, long base) {
        return TcpPdu.u32(s, base + VER_OFFSET);
    }

    public static int maxCommands(MemorySegment s, long base) {
        return TcpPdu.u16(s, base + MAXCMD_OFFSET);
    }

    public static long namespaces(MemorySegment s, long base) {
        return TcpPdu.u32(s, base + NN_OFFSET);
    }

    public static int oncs(MemorySegment s, long base) {
        return TcpPdu.u16(s, base + ONCS_OFFSET);
    }

    /** IOCCSZ: the IO command capsule size in 16-byte units, the 64-byte SQE included. */
    public static long ioccsz(MemorySegment s, long base) {
        return TcpPdu.u32(s, base + IOCCSZ_OFFSET);
    }

    public static String serial(MemorySegment s, long base) {
        return TcpPdu.ascii(s, base + SN_OFFSET, SN_LENGTH);
    }

    public static String model(MemorySegment s, long base) {
        return TcpPdu.ascii(s, base + MN_OFFSET, MN_LENGTH);
    }

    public static String firmware(MemorySegment s, long base) {
        return TcpPdu.ascii(s, base + FR_OFFSET, FR_LENGTH);
    }

    public static String subNqn(MemorySegment s, long base) {
        return TcpPdu.ascii(s, base + SUBNQN_OFFSET, ConnectData.NQN_FIELD_LENGTH);
    }

    /** Bytes of in-capsule data an IO command may carry, from IOCCSZ (0 when the value is below the SQE). */
    public static long inCapsuleBytes(long ioccsz) {
        return Math.max(0, ioccsz * 16 - NvmeCommand.SIZE);
    }

    /** The largest transfer MDTS allows, in bytes, or -1 for MDTS 0 (no limit). */
    public static long maxTransferBytes(int mdts) {
        return mdts == 0 ? -1 : (long) MIN_PAGE_SIZE << mdts;
    }
}
