package io.panastor.engine.nvmf.proto;

/**
 * Completion status values (NVMe base 2.0 §4.6.1.2, fabrics §3.5.2), encoded as the 15-bit
 * status field without the phase bit: {@code DNR << 14 | SCT << 8 | SC}.
 */
public final class NvmeStatus {
    private NvmeStatus() {
    }

    public static final int SCT_GENERIC = 0x0;
    public static final int SCT_COMMAND_SPECIFIC = 0x1;
    public static final int SCT_MEDIA = 0x2;
    private static final int DNR = 1 << 14;

    public static final int SUCCESS = 0;
    // generic command status (SCT 0)
    public static final int INVALID_OPCODE = dnr(SCT_GENERIC, 0x01);
    public static final int INVALID_FIELD = dnr(SCT_GENERIC, 0x02);
    public static final int COMMAND_ID_CONFLICT = dnr(SCT_GENERIC, 0x03);
    public static final int DATA_TRANSFER_ERROR = of(SCT_GENERIC, 0x04);
    public static final int INTERNAL_ERROR = of(SCT_GENERIC, 0x06);
    public static final int ABORT_REQUESTED = of(SCT_GENERIC, 0x07);
    public static final int ABORTED_SQ_DELETION = of(SCT_GENERIC, 0x08);
    public static final int INVALID_NAMESPACE = dnr(SCT_GENERIC, 0x0B);
    public static final int COMMAND_SEQUENCE_ERROR = dnr(SCT_GENERIC, 0x0C);
    public static final int DATA_SGL_LENGTH_INVALID = dnr(SCT_GENERIC, 0x0F);
    public static final int SGL_DESCRIPTOR_TYPE_INVALID = dnr(SCT_GENERIC, 0x11);
    public static final int SGL_OFFSET_INVALID = dnr(SCT_GENERIC, 0x16);
    public static final int LBA_OUT_OF_RANGE = dnr(SCT_GENERIC, 0x80);
    public static final int NAMESPACE_NOT_READY = of(SCT_GENERIC, 0x82);
    // command specific (SCT 1)
    public static final int ASYNC_EVENT_LIMIT_EXCEEDED = dnr(SCT_COMMAND_SPECIFIC, 0x05);
    public static final int INVALID_LOG_PAGE = dnr(SCT_COMMAND_SPECIFIC, 0x09);
    public static final int FEATURE_NOT_SAVEABLE = dnr(SCT_COMMAND_SPECIFIC, 0x0D);
    public static final int FEATURE_NOT_CHANGEABLE = dnr(SCT_COMMAND_SPECIFIC, 0x0E);
    // fabrics Connect (SCT 1)
    public static final int CONNECT_INCOMPATIBLE_FORMAT = dnr(SCT_COMMAND_SPECIFIC, 0x80);
    public static final int CONNECT_CONTROLLER_BUSY = dnr(SCT_COMMAND_SPECIFIC, 0x81);
    public static final int CONNECT_INVALID_PARAMETERS = dnr(SCT_COMMAND_SPECIFIC, 0x82);
    public static final int CONNECT_INVALID_HOST = dnr(SCT_COMMAND_SPECIFIC, 0x84);
    // media (SCT 2)
    public static final int WRITE_FAULT = of(SCT_MEDIA, 0x80);
    public static final int UNRECOVERED_READ_ERROR = of(SCT_MEDIA, 0x81);

    public static int of(int sct, int sc) {
        return (sct << 8) | sc;
    }

    private static int dnr(int sct, int sc) {
        return DNR | of(sct, sc);
    }

    public static int sct(int status) {
        return (status >>> 8) & 0x7;
    }

    public static int sc(int status) {
        return status & 0xFF;
    }
}
