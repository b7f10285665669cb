package io.panastor.engine.nvmf.proto;

import java.lang.foreign.MemorySegment;

/**
 * The fabrics Connect command (NVMe over Fabrics 1.1 §3.3.1) as offsets from its SQE; its
 * 1024 bytes of data are {@link ConnectData}. Little-endian.
 * <pre>
 *  0 OPC 0x7F | 1 FLAGS | 2 CID u16 | 4 FCTYPE 0x01 | 24 SGL1 (the data, in the capsule)
 * 40 RECFMT u16 | 42 QID u16 | 44 SQSIZE u16 (0's based) | 46 CATTR u8 | 47 reserved
 * 48 KATO u32 (ms; admin queue only) | 52..63 reserved
 * Response DW0: 15:0 CNTLID on success; on Connect Invalid Parameters 15:0 IATTR (bit 0:
 * the field is in the data) and 31:16 IPO (its byte offset).
 * </pre>
 */
public final class ConnectCommand {
    private ConnectCommand() {
    }

    public static final long RECFMT_OFFSET = 40;
    public static final long QID_OFFSET = 42;
    public static final long SQSIZE_OFFSET = 44;
    public static final long CATTR_OFFSET = 46;
    public static final long KATO_OFFSET = 48;

    /** CATTR bit 2: the host disables SQ flow control (then C2HData may carry SUCCESS, NVMe/TCP §3.6.2.9). */
    public static final int CATTR_DISABLE_SQ_FLOW_CONTROL = 0x04;
    /** The dynamic controller model's CNTLID in an admin Connect: "any" (§3.3.1). */
    public static final int CNTLID_DYNAMIC = 0xFFFF;

    public static int recfmt(MemorySegment s, long sqe) {
        return TcpPdu.u16(s, sqe + RECFMT_OFFSET);
    }

    public static int qid(MemorySegment s, long sqe) {
        return TcpPdu.u16(s, sqe + QID_OFFSET);
    }

    /** SQSIZE as on the wire (0's based: the queue holds SQSIZE + 1 entries). */
    public static int sqsize(MemorySegment s, long sqe) {
        return TcpPdu.u16(s, sqe + SQSIZE_OFFSET);
    }

    public static int cattr(MemorySegment s, long sqe) {
        return TcpPdu.u8(s, sqe + CATTR_OFFSET);
    }

    /** KATO in milliseconds (0: no keep-alive). */
    public static long kato(MemorySegment s, long sqe) {
        return TcpPdu.u32(s, sqe + KATO_OFFSET);
    }

    /**
     * Writes a whole Connect SQE for queue {@code qid} holding {@code entries} commands, its
     * data in the capsule at offset 0.
     */
    public static void write(MemorySegment s, long sqe, int cid, int qid, int entries, int cattr, long katoMillis) {
        NvmeCommand.begin(s, sqe, NvmeOpcodes.FABRICS, cid);
        NvmeCommand.fctype(s, sqe, NvmeOpcodes.FCTYPE_CONNECT);
        NvmeCommand.sgl(s, sqe, NvmeCommand.SGL_IN_CAPSULE, 0, ConnectData.SIZE);
        TcpPdu.u16(s, sqe + QID_OFFSET, qid);
        TcpPdu.u16(s, sqe + SQSIZE_OFFSET, entries - 1);
        TcpPdu.u8(s, sqe + CATTR_OFFSET, cattr);
        TcpPdu.u32(s, sqe + KATO_OFFSET, katoMillis);
    }

    /** The CNTLID in a successful Connect's DW0. */
    public static int cntlid(int dw0) {
        return dw0 & 0xFFFF;
    }

    /** DW0 of Connect Invalid Parameters: where the offending field is (§3.3.1, Figure 22). */
    public static int invalidParameter(boolean inData, int byteOffset) {
        return (byteOffset << 16) | (inData ? 1 : 0);
    }
}
