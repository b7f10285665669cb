package io.panastor.engine.nvmf.proto;

import java.lang.foreign.MemorySegment;

/**
 * The Discovery log page (log identifier 70h, NVMe over Fabrics 1.1 §5.3, Figures 32-33): a
 * 1024-byte header, then one 1024-byte entry per way to reach a subsystem.
 * <pre>
 * header:  0 GENCTR u64 | 8 NUMREC u64 | 16 RECFMT u16 | 18..1023 reserved
 * entry:   0 TRTYPE u8 | 1 ADRFAM u8 | 2 SUBTYPE u8 | 3 TREQ u8 | 4 PORTID u16 | 6 CNTLID u16
 *          8 ASQSZ u16 | 10 EFLAGS u16 | 32 TRSVCID (32, space-padded) | 256 SUBNQN (256)
 *        512 TRADDR (256, space-padded) | 768 TSAS (256; TCP: 0 SECTYPE u8)
 * </pre>
 */
public final class DiscoveryLog {
    private DiscoveryLog() {
    }

    public static final int HEADER_SIZE = 1024;
    public static final int ENTRY_SIZE = 1024;
    public static final long GENCTR_OFFSET = 0;
    public static final long NUMREC_OFFSET = 8;
    public static final long RECFMT_OFFSET = 16;

    public static final long TRTYPE_OFFSET = 0;
    public static final long ADRFAM_OFFSET = 1;
    public static final long SUBTYPE_OFFSET = 2;
    public static final long TREQ_OFFSET = 3;
    public static final long PORTID_OFFSET = 4;
    public static final long CNTLID_OFFSET = 6;
    public static final long ASQSZ_OFFSET = 8;
    public static final long EFLAGS_OFFSET = 10;
    public static final long TRSVCID_OFFSET = 32;
    public static final int TRSVCID_LENGTH = 32;
    public static final long SUBNQN_OFFSET = 256;
    public static final long TRADDR_OFFSET = 512;
    public static final int TRADDR_LENGTH = 256;
    public static final long TSAS_OFFSET = 768;

    public static final int TRTYPE_TCP = 3;
    public static final int ADRFAM_IPV4 = 1;
    public static final int ADRFAM_IPV6 = 2;
    public static final int SUBTYPE_DISCOVERY = 1;
    public static final int SUBTYPE_NVM = 2;
    /** The entry of the discovery controller that returned the log (NVMe over Fabrics 1.1a). */
    public static final int SUBTYPE_CURRENT_DISCOVERY = 3;
    /** TREQ bits 1:0 = 10b: a secure channel is not required. */
    public static final int TREQ_SECURE_CHANNEL_NOT_REQUIRED = 0x2;
    /** TSAS SECTYPE for TCP: no security. */
    public static final int SECTYPE_NONE = 0;

    /** Where entry {@code i} (0-based) starts. */
    public static long entry(int i) {
        return HEADER_SIZE + (long) ENTRY_SIZE * i;
    }

    public static void header(MemorySegment s, long base, long generation, long records) {
        TcpPdu.u64(s, base + GENCTR_OFFSET, generation);
        TcpPdu.u64(s, base + NUMREC_OFFSET, records);
        TcpPdu.u16(s, base + RECFMT_OFFSET, 0);
    }

    public static long generation(MemorySegment s, long base) {
        return TcpPdu.u64(s, base + GENCTR_OFFSET);
    }

    public static long records(MemorySegment s, long base) {
        return TcpPdu.u64(s, base + NUMREC_OFFSET);
    }

    /** Writes an NVMe/TCP entry (dynamic controllers, no security) at {@code at}, all 1024 bytes. */
    public static void writeTcpEntry(MemorySegment s, long at, int subtype, int adrfam, int portId, int adminQueueSize,
                                     String address, int port, String subNqn) {
        s.asSlice(at, ENTRY_SIZE).fill((byte) 0);
        TcpPdu.u8(s, at + TRTYPE_OFFSET, TRTYPE_TCP);
        TcpPdu.u8(s, at + ADRFAM_OFFSET, adrfam);
        TcpPdu.u8(s, at + SUBTYPE_OFFSET, subtype);
        TcpPdu.u8(s, at + TREQ_OFFSET, TREQ_SECURE_CHANNEL_NOT_REQUIRED);
        TcpPdu.u16(s, at + PORTID_OFFSET, portId);
        TcpPdu.u16(s, at + CNTLID_OFFSET, ConnectCommand.CNTLID_DYNAMIC);
        TcpPdu.u16(s, at + ASQSZ_OFFSET, adminQueueSize);
        TcpPdu.asciiPadded(s, at + TRSVCID_OFFSET, TRSVCID_LENGTH, Integer.toString(port));
        TcpPdu.asciiZ(s, at + SUBNQN_OFFSET, ConnectData.NQN_FIELD_LENGTH, subNqn);
        TcpPdu.asciiPadded(s, at + TRADDR_OFFSET, TRADDR_LENGTH, address);
        TcpPdu.u8(s, at + TSAS_OFFSET, SECTYPE_NONE);
    }

    public static int trtype(MemorySegment s, long at) {
        return TcpPdu.u8(s, at + TRTYPE_OFFSET);
    }

    public static int adrfam(MemorySegment s, long at) {
        return TcpPdu.u8(s, at + ADRFAM_OFFSET);
    }

    public static int subtype(MemorySegment s, long at) {
        return TcpPdu.u8(s, at + SUBTYPE_OFFSET);
    }

    public static int portId(MemorySegment s, long at) {
        return TcpPdu.u16(s, at + PORTID_OFFSET);
    }

    public static int cntlid(MemorySegment s, long at) {
        return TcpPdu.u16(s, at + CNTLID_OFFSET);
    }

    /** TRTYPE's name as nvme-cli prints it ("tcp"), or its number. */
    public static String trtypeName(int trtype) {
        return switch (trtype) {
            case 1 -> "rdma";
            case 2 -> "fc";
            case TRTYPE_TCP -> "tcp";
            case 254 -> "loop";
            default -> Integer.toString(trtype);
        };
    }

    /** ADRFAM's name as nvme-cli prints it ("ipv4"), or its number. */
    public static String adrfamName(int adrfam) {
        return switch (adrfam) {
            case ADRFAM_IPV4 -> "ipv4";
            case ADRFAM_IPV6 -> "ipv6";
            case 3 -> "ib";
            case 4 -> "fc";
            case 254 -> "loop";
            default -> Integer.toString(adrfam);
        };
    }

    /** SUBTYPE's name ("nvme", "discovery" for a referral, "current discovery"), or its number. */
    public static String subtypeName(int subtype) {
        return switch (subtype) {
            case SUBTYPE_DISCOVERY -> "discovery";
            case SUBTYPE_NVM -> "nvme";
            case SUBTYPE_CURRENT_DISCOVERY -> "current discovery";
            default -> Integer.toString(subtype);
        };
    }

    public static String subNqn(MemorySegment s, long at) {
        return TcpPdu.ascii(s, at + SUBNQN_OFFSET, ConnectData.NQN_FIELD_LENGTH);
    }

    public static String address(MemorySegment s, long at) {
        return TcpPdu.ascii(s, at + TRADDR_OFFSET, TRADDR_LENGTH);
    }

    public static String serviceId(MemorySegment s, long at) {
        return TcpPdu.ascii(s, at + TRSVCID_OFFSET, TRSVCID_LENGTH);
    }
}
