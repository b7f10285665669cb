package io.panastor.engine.nvmf.proto;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The 1024 bytes of data of a fabrics Connect (NVMe over Fabrics 1.1 §3.3.1, Figure 20).
 * <pre>
 *    0 HOSTID (16) | 16 CNTLID u16 | 18..255 reserved
 *  256 SUBNQN (256, NUL-terminated) | 512 HOSTNQN (256, NUL-terminated) | 768..1023 reserved
 * </pre>
 */
public final class ConnectData {
    private ConnectData() {
    }

    public static final int SIZE = 1024;
    public static final long HOSTID_OFFSET = 0;
    public static final int HOSTID_LENGTH = 16;
    public static final long CNTLID_OFFSET = 16;
    public static final long SUBNQN_OFFSET = 256;
    public static final long HOSTNQN_OFFSET = 512;
    /** Every NQN field is 256 bytes; the NQN itself at most 223 (NVMe base 2.0 §4.5). */
    public static final int NQN_FIELD_LENGTH = 256;

    public static byte[] hostId(MemorySegment s, long base) {
        return s.asSlice(base + HOSTID_OFFSET, HOSTID_LENGTH).toArray(ValueLayout.JAVA_BYTE);
    }

    public static int cntlid(MemorySegment s, long base) {
        return TcpPdu.u16(s, base + CNTLID_OFFSET);
    }

    public static String subNqn(MemorySegment s, long base) {
        return TcpPdu.ascii(s, base + SUBNQN_OFFSET, NQN_FIELD_LENGTH);
    }

    public static String hostNqn(MemorySegment s, long base) {
        return TcpPdu.ascii(s, base + HOSTNQN_OFFSET, NQN_FIELD_LENGTH);
    }

    /** Writes all 1024 bytes (reserved ones zeroed); {@code hostId} is 16 bytes or null for zeroes. */
    public static void write(MemorySegment s, long base, byte[] hostId, int cntlid, String subNqn, String hostNqn) {
        s.asSlice(base, SIZE).fill((byte) 0);
        if (hostId != null) {
            MemorySegment.copy(hostId, 0, s, ValueLayout.JAVA_BYTE, base + HOSTID_OFFSET,
                    Math.min(HOSTID_LENGTH, hostId.length));
        }
        TcpPdu.u16(s, base + CNTLID_OFFSET, cntlid);
        TcpPdu.asciiZ(s, base + SUBNQN_OFFSET, NQN_FIELD_LENGTH, subNqn);
        TcpPdu.asciiZ(s, base + HOSTNQN_OFFSET, NQN_FIELD_LENGTH, hostNqn);
    }
}
