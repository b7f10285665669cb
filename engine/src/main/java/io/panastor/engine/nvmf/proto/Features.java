package io.panastor.engine.nvmf.proto;

import java.lang.foreign.MemorySegment;

/**
 * Get Features and Set Features (NVMe base 2.0 §5.15, §5.27): the command fields, feature
 * identifiers and the values of the features a fabrics controller has.
 * <pre>
 * Set Features: 40 CDW10: 7:0 FID, 31 SV (save) | 44 CDW11: the value
 * Get Features: 40 CDW10: 7:0 FID, 10:8 SEL (0 current, 1 default, 2 saved, 3 supported capabilities)
 * Number of Queues (07h): CDW11 15:0 NSQR, 31:16 NCQR (0's based, FFFFh invalid);
 *                         DW0 of the completion 15:0 NSQA, 31:16 NCQA (0's based)
 * Keep Alive Timer (0Fh): CDW11 KATO (ms)     Asynchronous Event Configuration (0Bh): CDW11 bits
 * Get Features SEL 3 answer (DW0): 0 saveable, 1 namespace specific, 2 changeable
 * </pre>
 */
public final class Features {
    private Features() {
    }

    public static final int FID_ARBITRATION = 0x01;
    public static final int FID_POWER_MANAGEMENT = 0x02;
    public static final int FID_TEMPERATURE_THRESHOLD = 0x04;
    public static final int FID_ERROR_RECOVERY = 0x05;
    public static final int FID_VOLATILE_WRITE_CACHE = 0x06;
    public static final int FID_NUMBER_OF_QUEUES = 0x07;
    public static final int FID_WRITE_ATOMICITY = 0x0A;
    public static final int FID_ASYNC_EVENT_CONFIG = 0x0B;
    public static final int FID_KEEP_ALIVE_TIMER = 0x0F;
    public static final int FID_HOST_IDENTIFIER = 0x81;

    public static final int SEL_CURRENT = 0;
    public static final int SEL_DEFAULT = 1;
    public static final int SEL_SAVED = 2;
    public static final int SEL_SUPPORTED_CAPABILITIES = 3;
    /** SEL 3 answer bit 2: the feature is changeable. */
    public static final int CAPABILITY_CHANGEABLE = 0x4;
    /** Async event configuration bit 8: Namespace Attribute Notices. */
    public static final int AEC_NAMESPACE_ATTRIBUTE = 1 << 8;
    /** The 0's based queue count that is invalid in a Number of Queues request. */
    public static final int QUEUES_INVALID = 0xFFFF;

    public static int fid(MemorySegment s, long sqe) {
        return NvmeCommand.cdw(s, sqe, 10) & 0xFF;
    }

    public static boolean save(MemorySegment s, long sqe) {
        return (NvmeCommand.cdw(s, sqe, 10) & 0x8000_0000) != 0;
    }

    public static int select(MemorySegment s, long sqe) {
        return (NvmeCommand.cdw(s, sqe, 10) >>> 8) & 0x7;
    }

    public static int value(MemorySegment s, long sqe) {
        return NvmeCommand.cdw(s, sqe, 11);
    }

    /** A Number of Queues value (request CDW11 or completion DW0) for {@code sq} and {@code cq} queues (1-based counts). */
    public static int queues(int sq, int cq) {
        return ((cq - 1) << 16) | ((sq - 1) & 0xFFFF);
    }

    /** Submission queues a Number of Queues value names (1-based; NSQR/NSQA + 1). */
    public static int submissionQueues(int value) {
        return (value & 0xFFFF) + 1;
    }

    /** Completion queues a Number of Queues value names (1-based; NCQR/NCQA + 1). */
    public static int completionQueues(int value) {
        return (value >>> 16) + 1;
    }

    /** A whole Set Features SQE. */
    public static void writeSet(MemorySegment s, long sqe, int cid, int fid, int value) {
        NvmeCommand.begin(s, sqe, NvmeOpcodes.ADMIN_SET_FEATURES, cid);
        NvmeCommand.cdw(s, sqe, 10, fid);
        NvmeCommand.cdw(s, sqe, 11, value);
    }

    /** A whole Get Features SQE. */
    public static void writeGet(MemorySegment s, long sqe, int cid, int fid, int select) {
        NvmeCommand.begin(s, sqe, NvmeOpcodes.ADMIN_GET_FEATURES, cid);
        NvmeCommand.cdw(s, sqe, 10, fid | (select << 8));
    }
}
