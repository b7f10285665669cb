package io.panastor.engine.nvmf.proto;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.HashMap;
import java.util.Map;

/**
 * Completion status values (NVMe base 2.0 §4.6.1.2, fabrics §3.5.2), encoded as the 15-bit
 * status field without the phase bit: {@code DNR << 14 | More << 13 | CRD << 11 | SCT << 8 | SC}.
 * A status that reaches a person is named, not printed as a number: {@link #describe}.
 */
public final class NvmeStatus {
    private NvmeStatus() {
    }

    public static final int SCT_GENERIC = 0x0;
    public static final int SCT_COMMAND_SPECIFIC = 0x1;
    public static final int SCT_MEDIA = 0x2;
    public static final int SCT_PATH = 0x3;
    public static final int SCT_VENDOR = 0x7;
    /** Do Not Retry: the same command would fail again. */
    public static final int DNR = 1 << 14;
    public static final int MORE = 1 << 13;

    public static final int SUCCESS = 0;
    // generic command status (SCT 0)
    public static final int INVALID_OPCODE = DNR | SCT_GENERIC << 8 | 0x01;
    public static final int INVALID_FIELD = DNR | SCT_GENERIC << 8 | 0x02;
    public static final int COMMAND_ID_CONFLICT = DNR | SCT_GENERIC << 8 | 0x03;
    public static final int DATA_TRANSFER_ERROR = SCT_GENERIC << 8 | 0x04;
    public static final int ABORTED_POWER_LOSS = SCT_GENERIC << 8 | 0x05;
    public static final int INTERNAL_ERROR = SCT_GENERIC << 8 | 0x06;
    public static final int ABORT_REQUESTED = SCT_GENERIC << 8 | 0x07;
    public static final int ABORTED_SQ_DELETION = SCT_GENERIC << 8 | 0x08;
    public static final int INVALID_NAMESPACE = DNR | SCT_GENERIC << 8 | 0x0B;
    public static final int COMMAND_SEQUENCE_ERROR = DNR | SCT_GENERIC << 8 | 0x0C;
    public static final int INVALID_SGL_SEGMENT_DESCRIPTOR = DNR | SCT_GENERIC << 8 | 0x0D;
    public static final int INVALID_NUMBER_OF_SGL_DESCRIPTORS = DNR | SCT_GENERIC << 8 | 0x0E;
    public static final int DATA_SGL_LENGTH_INVALID = DNR | SCT_GENERIC << 8 | 0x0F;
    public static final int SGL_DESCRIPTOR_TYPE_INVALID = DNR | SCT_GENERIC << 8 | 0x11;
    public static final int SGL_OFFSET_INVALID = DNR | SCT_GENERIC << 8 | 0x16;
    public static final int HOST_ID_INCONSISTENT_FORMAT = DNR | SCT_GENERIC << 8 | 0x18;
    public static final int KEEP_ALIVE_EXPIRED = SCT_GENERIC << 8 | 0x19;
    public static final int KEEP_ALIVE_INVALID = DNR | SCT_GENERIC << 8 | 0x1A;
    public static final int COMMAND_INTERRUPTED = SCT_GENERIC << 8 | 0x21;
    /** A data digest error, or another transport fault the command may be retried after (NVMe/TCP §3.6.2.5). */
    public static final int TRANSIENT_TRANSPORT_ERROR = SCT_GENERIC << 8 | 0x22;
    public static final int LBA_OUT_OF_RANGE = DNR | SCT_GENERIC << 8 | 0x80;
    public static final int CAPACITY_EXCEEDED = DNR | SCT_GENERIC << 8 | 0x81;
    public static final int NAMESPACE_NOT_READY = SCT_GENERIC << 8 | 0x82;
    public static final int RESERVATION_CONFLICT = DNR | SCT_GENERIC << 8 | 0x83;
    // command specific (SCT 1)
    public static final int INVALID_QUEUE_IDENTIFIER = DNR | SCT_COMMAND_SPECIFIC << 8 | 0x01;
    public static final int INVALID_QUEUE_SIZE = DNR | SCT_COMMAND_SPECIFIC << 8 | 0x02;
    public static final int ABORT_LIMIT_EXCEEDED = SCT_COMMAND_SPECIFIC << 8 | 0x03;
    public static final int ASYNC_EVENT_LIMIT_EXCEEDED = DNR | SCT_COMMAND_SPECIFIC << 8 | 0x05;
    public static final int INVALID_LOG_PAGE = DNR | SCT_COMMAND_SPECIFIC << 8 | 0x09;
    public static final int FEATURE_NOT_SAVEABLE = DNR | SCT_COMMAND_SPECIFIC << 8 | 0x0D;
    public static final int FEATURE_NOT_CHANGEABLE = DNR | SCT_COMMAND_SPECIFIC << 8 | 0x0E;
    // fabrics Connect (SCT 1, NVMe over Fabrics 1.1 §3.3.1)
    public static final int CONNECT_INCOMPATIBLE_FORMAT = DNR | SCT_COMMAND_SPECIFIC << 8 | 0x80;
    public static final int CONNECT_CONTROLLER_BUSY = DNR | SCT_COMMAND_SPECIFIC << 8 | 0x81;
    public static final int CONNECT_INVALID_PARAMETERS = DNR | SCT_COMMAND_SPECIFIC << 8 | 0x82;
    public static final int CONNECT_RESTART_DISCOVERY = DNR | SCT_COMMAND_SPECIFIC << 8 | 0x83;
    public static final int CONNECT_INVALID_HOST = DNR | SCT_COMMAND_SPECIFIC << 8 | 0x84;
    public static final int INVALID_QUEUE_TYPE = DNR | SCT_COMMAND_SPECIFIC << 8 | 0x85;
    // media and data integrity (SCT 2)
    public static final int WRITE_FAULT = SCT_MEDIA << 8 | 0x80;
    public static final int UNRECOVERED_READ_ERROR = SCT_MEDIA << 8 | 0x81;
    public static final int COMPARE_FAILURE = DNR | SCT_MEDIA << 8 | 0x85;
    public static final int ACCESS_DENIED = DNR | SCT_MEDIA << 8 | 0x86;
    public static final int DEALLOCATED_OR_UNWRITTEN = DNR | SCT_MEDIA << 8 | 0x87;
    // path related (SCT 3)
    public static final int INTERNAL_PATH_ERROR = SCT_PATH << 8 | 0x00;
    public static final int ANA_PERSISTENT_LOSS = SCT_PATH << 8 | 0x01;
    public static final int ANA_INACCESSIBLE = SCT_PATH << 8 | 0x02;
    public static final int ANA_TRANSITION = SCT_PATH << 8 | 0x03;
    public static final int CONTROLLER_PATHING_ERROR = SCT_PATH << 8 | 0x60;
    public static final int HOST_PATHING_ERROR = SCT_PATH << 8 | 0x70;
    public static final int ABORTED_BY_HOST = SCT_PATH << 8 | 0x71;

    public static int of(int sct, int sc) {
        return (sct << 8) | sc;
    }

    /** Every status this class names, by its SCT and SC, named as its constant. */
    private static final Map<Integer, String> NAMES = new HashMap<>();

    static {
        for (Field f : NvmeStatus.class.getFields()) {
            if (f.getType() == int.class && Modifier.isStatic(f.getModifiers()) && !f.getName().startsWith("SCT_")
                    && !f.getName().equals("DNR") && !f.getName().equals("MORE") && !f.getName().equals("SUCCESS")) {
                try {
                    NAMES.put(f.getInt(null) & 0x7FF, f.getName());
                } catch (IllegalAccessException e) {
                    throw new AssertionError(e);
                }
            }
        }
    }

    public static int sct(int status) {
        return (status >>> 8) & 0x7;
    }

    public static int sc(int status) {
        return status & 0xFF;
    }

    public static boolean doNotRetry(int status) {
        return (status & DNR) != 0;
    }

    /** The status's name, or {@code null} for one this table does not know. Control path. */
    public static String name(int status) {
        return status == SUCCESS ? "SUCCESS" : NAMES.get(status & 0x7FF);
    }

    /**
     * The status as a person reads it: {@code CONNECT_INVALID_HOST (SCT 1, SC 0x84, DNR)};
     * an unknown one is {@code UNKNOWN (SCT 7, SC 0xc1)}. Control path.
     */
    public static String describe(int status) {
        String name = name(status);
        return String.format("%s (SCT %d, SC 0x%02x%s)", name != null ? name : "UNKNOWN", sct(status), sc(status),
                doNotRetry(status) ? ", DNR" : "");
    }
}
