package io.panastor.engine.nvmf.tgt;

import io.panastor.engine.nvmf.proto.NvmeCommand;
import java.lang.foreign.MemorySegment;

/**
 * One command in flight on a queue pair: a copy of its SQE, its data buffer (lent by the
 * reactor's {@link DataBufferPool} while it has data to move), where its data transfer stands
 * and how it ended. Pooled by its queue pair's {@link Requests}; reactor-confined.
 */
final class NvmfRequest {
    /** Where a request is (the request state machine of SPDK's tcp.c, reduced). */
    enum State {
        FREE,
        /** Waiting for a data buffer from the reactor's pool (the connection reads on meanwhile). */
        NEED_BUFFER,
        /** Waiting for its R2T to fit in the send buffer. */
        NEED_R2T,
        /** R2T sent; H2CData PDUs arriving. */
        AWAIT_H2C_DATA,
        /** Running: a bdev IO or an admin command. */
        EXECUTING,
        /** Done; its response waits for room in the send buffer. */
        NEED_RESPONSE,
        /** Its response is queued and its data goes out from {@link #buffer} itself: kept until that send completes. */
        SENDING
    }

    /** Data direction, from the opcode's (or FCTYPE's) bits 1:0 (NVMe base 2.0 §5, Figure 80). */
    static final int DIRECTION_MASK = 0x3;
    static final int DIR_NONE = 0;
    static final int DIR_HOST_TO_CONTROLLER = 1;
    static final int DIR_CONTROLLER_TO_HOST = 2;

    final QueuePair owner;
    final int index;
    final MemorySegment sqe;
    /** The lent data buffer, or null while the command moves no data. */
    DataBuffer data;
    /** {@link #data}'s memory (null without one), named for the command handlers. */
    MemorySegment buffer;
    /** {@link #buffer} as a ByteBuffer, for data digests. */
    java.nio.ByteBuffer bufferView;
    State state = State.FREE;
    int cid;
    int direction;
    /** Bytes the command moves (its SGL length). */
    int length;
    /** H2C bytes received so far. */
    int received;
    /** C2H bytes to send with the response. */
    int transfer;
    int status;
    int dw0;
    int dw1;
    /** When the host's data for this request's R2T must be in ({@link R2TDeadlines}; reactor clock). */
    long dataDeadline;
    /** Bdev IOs still running for this request (Dataset Management issues several). */
    int pendingIos;
    /** Next in the queue pair's waiting-to-send list. */
    NvmfRequest nextWaiting;
    /** Next in the queue pair's waiting-for-a-buffer list. */
    NvmfRequest nextBufferWait;
    NvmfRequest(QueuePair owner, int index, MemorySegment sqe) {
        this.owner = owner;
        this.index = index;
        this.sqe = sqe;
    }

    /** Lends {@code b} (or nothing) to this request. */
    void attach(DataBuffer b) {
        data = b;
        buffer = b == null ? null : b.segment;
        bufferView = b == null ? null : b.view;
    }

    int opcode() {
        return NvmeCommand.opcode(sqe, 0);
    }

    long nsid() {
        return NvmeCommand.nsid(sqe, 0);
    }

    int cdw(int n) {
        return NvmeCommand.cdw(sqe, 0, n);
    }

    /** The first {@code bytes} of the buffer, as a segment of exactly that length, without allocating in steady state. */
    MemorySegment data(long bytes) {
        return data.data(bytes);
    }

    void complete(int status, int dw0) {
        this.status = status;
        this.dw0 = dw0;
    }
}
