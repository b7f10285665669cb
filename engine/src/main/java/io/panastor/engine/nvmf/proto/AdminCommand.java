package io.panastor.engine.nvmf.proto;

import java.lang.foreign.MemorySegment;

/**
 * The fields of the small admin commands: Abort (NVMe base 2.0 §5.1), Asynchronous Event
 * Request (§5.2) and Keep Alive (§5.25).
 * <pre>
 * Abort:  40 CDW10: 15:0 SQID, 31:16 CID      completion DW0 bit 0: 1 = the command was not aborted
 * AER completion DW0: 2:0 event type | 15:8 event information | 23:16 log page identifier
 * Keep Alive: no fields
 * </pre>
 */
public final class AdminCommand {
    private AdminCommand() {
    }

    /** Abort's completion DW0 bit 0: the command was not aborted (it completed, or could not be). */
    public static final int ABORT_NOT_ABORTED = 0x1;
    public static final int AER_TYPE_NOTICE = 0x2;
    public static final int AER_NOTICE_NAMESPACE_ATTRIBUTE_CHANGED = 0x00;

    public static int abortSqid(MemorySegment s, long sqe) {
        return NvmeCommand.cdw(s, sqe, 10) & 0xFFFF;
    }

    public static int abortCid(MemorySegment s, long sqe) {
        return NvmeCommand.cdw(s, sqe, 10) >>> 16;
    }

    public static void writeAbort(MemorySegment s, long sqe, int cid, int sqid, int abortedCid) {
        NvmeCommand.begin(s, sqe, NvmeOpcodes.ADMIN_ABORT, cid);
        NvmeCommand.cdw(s, sqe, 10, (abortedCid << 16) | (sqid & 0xFFFF));
    }

    public static void writeKeepAlive(MemorySegment s, long sqe, int cid) {
        NvmeCommand.begin(s, sqe, NvmeOpcodes.ADMIN_KEEP_ALIVE, cid);
    }

    public static void writeAsyncEventRequest(MemorySegment s, long sqe, int cid) {
        NvmeCommand.begin(s, sqe, NvmeOpcodes.ADMIN_ASYNC_EVENT_REQUEST, cid);
    }

    /** An AER completion's DW0: event {@code type} with {@code info}, see log page {@code lid}. */
    public static int asyncEvent(int type, int info, int lid) {
        return (lid << 16) | (info << 8) | type;
    }

    public static int asyncEventType(int dw0) {
        return dw0 & 0x7;
    }

    public static int asyncEventInfo(int dw0) {
        return (dw0 >>> 8) & 0xFF;
    }

    public static int asyncEventLogPage(int dw0) {
        return (dw0 >>> 16) & 0xFF;
    }
}
