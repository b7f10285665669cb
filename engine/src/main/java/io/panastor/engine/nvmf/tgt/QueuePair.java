package io.panastor.engine.nvmf.tgt;

import static io.panastor.engine.nvmf.proto.TcpPdu.*;

import io.panastor.engine.nvmf.proto.NvmeCommand;
import io.panastor.engine.nvmf.proto.NvmeOpcodes;
import io.panastor.engine.nvmf.proto.NvmeStatus;
import io.panastor.engine.nvmf.tcp.SendBuffers;
import io.panastor.engine.nvmf.tcp.ConnectionLimits;
import io.panastor.engine.nvmf.tcp.ConnectionHandler;
import io.panastor.engine.nvmf.tcp.TcpConnection;
import io.panastor.reactor.Reactor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One queue (admin or IO) of one controller: the target's handler of one accepted
 * {@link TcpConnection}, owned by one reactor. The connection checks and parses PDUs and
 * sends; this gives each CapsuleCmd a request slot, streams H2CData into the request's buffer,
 * runs commands ({@link Capsules}) and answers them ({@link ResponseWriter}: every response,
 * R2T and C2HData queued while a send is in flight leaves in the next single send). No
 * allocation per PDU.
 *
 * <p>Memory follows use: data buffers are lent per command by the reactor's shared
 * {@link DataBufferPool} (when it is empty the connection stops parsing until one comes back);
 * request slots and SQE copies match the queue size the host's Connect asked for; the receive
 * buffer starts small and grows only when capsules or bursts need more; send buffers and their
 * iovecs are small and fixed. An idle IO queue holds well under 256 KiB of native memory.
 *
 * <p>A connection that has not finished ICReq and Connect within the target's handshake
 * timeout is closed (slowloris sockets cost a timer and a small buffer, not megabytes).
 *
 * <p>Its life is the connection's ({@link TcpConnection.State}): AWAIT_ICREQ, READY (the first
 * command must be a fabrics Connect), TERMINATING (a C2HTermReq or the Disconnect's response
 * going out), DRAINING, CLOSED; once the connection is closed and no bdev IO of its commands
 * is still running, everything is freed.
 *
 * <p>Thread-safety: reactor-confined; others reach it through {@link #closeAsync}.
 */
public final class QueuePair implements ConnectionHandler {
    private static final System.Logger LOG = System.getLogger(QueuePair.class.getName());

    /** Largest data transfer of one command (Identify Controller MDTS = 5 with 4 KiB pages). */
    static final int MAX_TRANSFER = 128 * 1024;
    /**
     * Largest H2CData payload the host may send (ICResp MAXH2CDATA); hosts split an R2T's
     * data into PDUs of this size (NVMe/TCP 1.0 §3.6.2.2). The payload streams into the
     * request's buffer, so this does not size the receive buffer.
     */
    static final int MAX_H2C_DATA = 32 * 1024;
    /** In-capsule data a command may carry on an IO queue (IOCCSZ = 8 KiB + the SQE); the admin queue takes as much. */
    static final int IN_CAPSULE_DATA = 8192;
    /** Queue entries of any queue (CAP.MQES + 1). */
    static final int MAX_QUEUE_DEPTH = 128;
    /** C2H payloads from this size up are sent from the request's buffer rather than copied. */
    static final int GATHER_MIN_BYTES = 1024;
    static final int ADMIN_QUEUE_DEPTH = 32;
    /** The receive buffer a connection starts with: a capsule with full in-capsule data, and then some. */
    static final int RECV_INITIAL = 16 * 1024;
    /** The most it grows to (under a burst of in-capsule writes: a QD 32 of 4 KiB, say). */
    static final int RECV_MAX = 128 * 1024;
    /** Each of the two send sides; a response that does not fit waits for the next send. */
    static final int SEND_BUFFER = 32 * 1024;
    /** iovecs per send side: two per gathered C2H payload, one per request at most, plus the tail. */
    static final int SEND_IOVS = 2 * MAX_QUEUE_DEPTH + 2;
    /** The longest PDU held whole: a CapsuleCmd with full in-capsule data and both digests. */
    static final int MAX_WHOLE_PDU = CAPSULE_CMD_HLEN + 2 * DIGEST_LENGTH + IN_CAPSULE_DATA;
    static final ConnectionLimits LIMITS = new ConnectionLimits(RECV_INITIAL, RECV_MAX, MAX_WHOLE_PDU,
            SEND_BUFFER, SEND_IOVS, MAX_H2C_DATA, IN_CAPSULE_DATA);

    final NvmfTarget target;
    final Reactor reactor;
    private final String peer;
    private final Arena arena = Arena.ofShared();
    /** The reactor's data buffers, shared with its other connections. */
    final DataBufferPool pool;
    final Requests requests;
    final TcpConnection conn;
    /** Native bytes this connection holds (not counting lent data buffers). */
    private long nativeBytes;
    /** The reactor's poll group: sends what completions queued, lends data buffers. */
    private final PollGroup group;
    /** On {@link #group}'s flush list; set by it. */
    boolean flushPending;
    /** To be resumed by {@link #group} (its reserve buffer came back). */
    boolean resumePending;
    /** Data buffers for this connection's requests: the pool's, and a reserve of its own. */
    private final BufferLending buffers;
    /** Parsing paused at a capsule whose in-capsule data has no buffer yet. */
    private boolean streamPaused;
    QueuePair nextFlush;
    /** Waiting for a data buffer from {@link #pool} (parsing and receiving paused); set by the pool. */
    boolean awaitingBuffer;
    int awaitedClass;
    QueuePair nextBufferWaiter;
    private long handshakeTimer = -1;
    /** How long the host has to send R2T'd data before the connection is closed. */
    final R2TDeadlines r2tDeadlines;
    /** Counted among the target's connections that have not connected yet. */
    private boolean unconnected = true;

    final SendBuffers out;
    private final ResponseWriter writer;
    private NvmfRequest waitHead;
    private NvmfRequest waitTail;
    /** The request whose H2CData payload is streaming in, and where the next byte goes. */
    private NvmfRequest receiving;
    private long receivingAt;
    private long receivingFrom;

    /** The connection ended (or is ending): nothing more is sent or run. */
    private boolean closing;
    /** The host disconnected: responses already waiting for room still go, then the connection closes. */
    private boolean disconnecting;
    /** The connection is CLOSED (its socket is gone). */
    private boolean connClosed;
    private boolean freed;
    private int executing;

    Controller controller;
    int qid = -1;
    int depth;
    int sqHead;
    private boolean sqFlowControlDisabled;
    long commands;
    /** Handlers that threw on this connection (see {@link TargetCounters#handlerFailures()}). */
    long handlerFailures;
    long bytesRead;
    long bytesWritten;
    long readCommands;
    long writeCommands;

    QueuePair(NvmfTarget target, Reactor reactor, int fd, String peer) {
        this.target = target;
        this.reactor = reactor;
        this.peer = peer;
        this.group = target.pollGroup(reactor);
        this.pool = group.buffers();
        try {
            this.requests = new Requests(this, arena);
            this.buffers = new BufferLending(this, pool, arena);
        } catch (RuntimeException e) {
            arena.close();
            throw e;    // the caller closes the fd
        }
        this.r2tDeadlines = new R2TDeadlines(this, reactor, target.r2tTimeoutNanos());
        long timeout = target.handshakeTimeoutNanos();
        if (timeout > 0) {
            handshakeTimer = reactor.scheduleTimer(timeout, this::onHandshakeTimeout);
        }
        TcpConnection c;
        try {
            c = new TcpConnection(reactor, fd, peer, LIMITS, this);
        } catch (RuntimeException e) {
            cancelHandshakeTimer();
            arena.close();
            throw e;
        }
        this.conn = c;
        c.setSendStallTimeout(target.sendStallTimeoutNanos());
        this.out = c.sendBuffers();
        this.writer = new ResponseWriter(this, out);
        account(requests.nativeBytes() + c.nativeBytes() + BufferLending.nativeBytes());
    }

    private void account(long bytes) {
        nativeBytes += bytes;
        target.counters().connectionMemory(bytes);
    }

    /** Native bytes this connection holds itself (receive/send buffers, iovecs, SQE copies). */
    long nativeBytes() {
        return nativeBytes;
    }

    /** No ICReq and Connect within the handshake timeout: the socket is closed (a slowloris, or a lost host). */
    private void onHandshakeTimeout() {
        handshakeTimer = -1;
        if (controller == null && !closing) {
            target.counters().onHandshakeTimeout();
            close("no ICReq and Connect within " + target.handshakeTimeoutNanos() / 1_000_000 + " ms");
        }
    }

    private void cancelHandshakeTimer() {
        if (handshakeTimer >= 0) {
            reactor.cancelTimer(handshakeTimer);
            handshakeTimer = -1;
        }
    }

    /** A buffer may be free again: requests waiting get theirs in order, then parsing goes on. From the poll group. */
    void onBufferAvailable() {
        try {
            NvmfRequest req;
            while (live() && (req = buffers.nextReady()) != null) {
                Capsules.withBuffer(this, req);
            }
            if (streamPaused) {
                streamPaused = false;
                conn.resume();
            } else if (live()) {
                conn.flush();
            }
        } catch (RuntimeException e) {
            onHandlerFailure("resume after waiting for a buffer", e);
            close("internal error: " + e);
        }
    }

    /** The connection's state (CLOSED once it is gone). */
    public TcpConnection.State state() {
        return conn.state();
    }

    /** Whether the connection is ending or gone: nothing more is sent or run. */
    boolean closing() {
        return closing || conn.state() == TcpConnection.State.DRAINING || conn.state() == TcpConnection.State.CLOSED;
    }

    /** Whether responses may be sent: the connection is READY and not closing. */
    private boolean live() {
        return !closing && conn.state() == TcpConnection.State.READY;
    }

    public String peer() {
        return peer;
    }

    public int qid() {
        return qid;
    }

    public Controller controller() {
        return controller;
    }

    // ---------------------------------------------------------------- the connection's events

    @Override
    public void onReady() {
        writer.digests(conn.headerDigest(), conn.dataDigest());
    }

    @Override
    public boolean onPdu(int type, int flags, MemorySegment pdu, long base, int dataOffset, int dataLength,
                         boolean dataIntact) {
        if (type == H2C_TERM_REQ) {
            close("host terminated the connection (FES " + u16(pdu, base + FES_OFFSET) + ")");
            return true;
        }
        DataBuffer lent = null;
        long need = bufferNeeded(pdu, base + SQE_OFFSET, dataLength);
        if (need > 0) {
            lent = buffers.forInCapsule(need);
            if (lent == null) {
                // Every buffer is in use, our reserve too (by a command that is running):
                // wait for one, the PDU left unparsed and nothing more received.
                streamPaused = true;
                pool.await(this, need);
                return false;
            }
        }
        Capsules.onCapsuleCmd(this, pdu, base, dataOffset, dataLength, dataIntact, lent);
        return true;
    }

    @Override
    public boolean onDataStart(int type, int flags, MemorySegment pdu, long base) {
        NvmfRequest req = Capsules.onH2CDataStart(this, pdu, base, flags);
        if (req == null) {
            return false;
        }
        receiving = req;
        receivingFrom = u32(pdu, base + DATAO_OFFSET);
        receivingAt = receivingFrom;
        return true;
    }

    @Override
    public void onData(MemorySegment from, long at, int length) {
        MemorySegment.copy(from, at, receiving.buffer, receivingAt, length);
        receivingAt += length;
    }

    @Override
    public void onDataEnd(int flags, boolean intact) {
        NvmfRequest req = receiving;
        receiving = null;
        Capsules.onH2CDataEnd(this, req, (int) (receivingAt - receivingFrom), intact);
    }

    @Override
    public void onSent(int side) {
        writer.releaseHeld(side);
        if (!closing && (disconnecting || conn.state() == TcpConnection.State.READY)) {
            drainWaiting();
        }
    }

    /** Posts the first receive; from {@link NvmfTarget} once the queue pair is listed. */
    void start() {
        conn.start();
    }

    /** A data buffer lent for a capsule that is not taken after all goes back where it came from. */
    void giveBack(DataBuffer b) {
        buffers.giveBack(b);
    }

    @Override
    public void onClosed(String why, int errno) {
        connClosed = true;
        close(why);
        maybeFree();
    }

    @Override
    public void onTransportError(int fes, int fieldOffset, String why) {
        target.counters().transportError(this, fes, fieldOffset);
    }

    @Override
    public void onHandlerFailure(String what, RuntimeException e) {
        handlerFailures++;
        target.counters().handlerFailed(this, what, e);
    }

    @Override
    public void onSendStalled(long timeoutNanos) {
        target.counters().sendStalled(this, timeoutNanos);
    }

    @Override
    public void onMemoryChanged(long delta) {
        account(delta);
    }

    /**
     * Bytes of in-capsule data the command at {@code sqe} brings, which need a buffer before
     * the capsule can be taken; else 0 (a command whose data comes by R2T, or goes to the
     * host, gets its buffer later and may wait for it without holding up the stream).
     */
    private static long bufferNeeded(MemorySegment pdu, long sqe, int dataLength) {
        if (dataLength == 0 || NvmeCommand.sglId(pdu, sqe) != NvmeCommand.SGL_IN_CAPSULE) {
            return 0;
        }
        int opcode = NvmeCommand.opcode(pdu, sqe);
        int direction = (opcode == NvmeOpcodes.FABRICS ? NvmeCommand.fctype(pdu, sqe) : opcode)
                & NvmfRequest.DIRECTION_MASK;
        long length = NvmeCommand.sglLength(pdu, sqe);
        return direction == NvmfRequest.DIR_NONE || length <= 0 || length > MAX_TRANSFER ? 0 : length;
    }

    int sqHead() {
        return sqHead;
    }

    boolean sqFlowControlDisabled() {
        return sqFlowControlDisabled;
    }

    /** Called by {@link NvmfTarget#connect} once the Connect is accepted. */
    void connected(Controller c, int queueId, int queueDepth, boolean disableSqFlowControl) {
        this.controller = c;
        this.qid = queueId;
        this.depth = queueDepth;
        this.sqFlowControlDisabled = disableSqFlowControl;
        long before = requests.nativeBytes();
        requests.grow(queueDepth);
        account(requests.nativeBytes() - before);
        cancelHandshakeTimer();
        leaveUnconnected();
    }

    private void leaveUnconnected() {
        if (unconnected) {
            unconnected = false;
            target.onHandshakeEnded();
        }
    }

    /**
     * A bdev IO's submit threw: its completion may never come, so the request stops waiting
     * for it (the descriptor, its context cleared, is dropped by the completion if one comes).
     */
    void ioSubmitFailed(NvmfRequest req, RuntimeException e) {
        onHandlerFailure("bdev submit", e);
        ioFinished(req, NvmeStatus.INTERNAL_ERROR);
    }

    /** Counts a bdev IO started for a request. */
    void ioStarted(NvmfRequest req) {
        req.pendingIos++;
        executing++;
    }

    /** A bdev IO of {@code req} ended; when it was the last, the request ends with its status. */
    void ioFinished(NvmfRequest req, int status) {
        executing--;
        if (status != NvmeStatus.SUCCESS && req.status == NvmeStatus.SUCCESS) {
            req.status = status;
        }
        if (--req.pendingIos == 0) {
            if (!live()) {
                release(req);
                maybeFree();
                return;
            }
            // Sent by the poll group's poller, together with every other response this
            // cycle's completions produced: one send per batch of completions.
            finish(req, req.status);
            group.flushLater(this);
        }
    }

    /** Starts a send of whatever the last cycle queued, when none is in flight (from the poll group). */
    int flushQueued() {
        if (out.hasQueued() && !out.inFlight() && live()) {
            conn.flush();
            return 1;
        }
        return 0;
    }

    /** Ends a request: queues its C2H data and response, or waits for send room. */
    void finish(NvmfRequest req, int status) {
        req.status = status;
        req.state = NvmfRequest.State.NEED_RESPONSE;
        if (!live()) {
            release(req);
            return;
        }
        if (waitHead != null || !writer.tryRespond(req)) {
            enqueueWaiting(req);
        }
    }

    void sendR2T(NvmfRequest req) {
        if (waitHead != null || !writer.tryR2T(req)) {
            enqueueWaiting(req);
        }
    }

    private void enqueueWaiting(NvmfRequest req) {
        req.nextWaiting = null;
        if (waitTail == null) {
            waitHead = req;
        } else {
            waitTail.nextWaiting = req;
        }
        waitTail = req;
    }

    private void drainWaiting() {
        while (waitHead != null) {
            NvmfRequest req = waitHead;
            boolean done = req.state == NvmfRequest.State.NEED_R2T ? writer.tryR2T(req) : writer.tryRespond(req);
            if (!done) {
                return;
            }
            waitHead = req.nextWaiting;
            if (waitHead == null) {
                waitTail = null;
            }
            req.nextWaiting = null;
        }
    }

    void release(NvmfRequest req) {
        if (req.state == NvmfRequest.State.FREE) {
            return;
        }
        req.state = NvmfRequest.State.FREE;
        DataBuffer b = req.data;
        if (b != null) {
            req.attach(null);
            if (buffers.giveBack(b) && streamPaused && live()) {
                // The reserve is back and the stream waited for it.
                pool.cancel(this);
                group.resumeLater(this);
            }
        }
        requests.put(req);
    }

    /** See {@link BufferLending#lendOrWait}; {@link Capsules#withBuffer} goes on with a request that waited. */
    boolean lendOrWait(NvmfRequest req) {
        return buffers.lendOrWait(req);
    }

    /** Requests this queue can hold at once (the host's SQSIZE + 1 once connected). */
    int capacity() {
        return requests.capacity();
    }

    // ---------------------------------------------------------------- errors and teardown

    /** {@code late}'s R2T'd data did not come in time (see {@link R2TDeadlines}): the connection ends, its buffers freed. */
    void r2tTimedOut(NvmfRequest late) {
        target.counters().r2tTimedOut(this, late.cid, r2tDeadlines.timeoutNanos());
        close("no H2CData for the R2T of cid " + late.cid + " within " + r2tDeadlines.timeoutNanos() / 1_000_000
                + " ms");
    }

    /**
     * A fatal transport error (§3.6.2.3) in the PDU at {@code pduBase}: the connection queues a
     * C2HTermReq that names the field and carries the offending header, stops reading, and
     * closes once it is sent.
     */
    void fatal(int fes, int fieldOffset, long pduBase, String why) {
        conn.terminate(fes, fieldOffset, pduBase, why);
    }

    /** Sends what is queued (the response to a Disconnect, and responses waiting for room before it) and then closes. */
    void disconnect() {
        disconnecting = true;
        conn.closeAfterSend("host disconnected", 0);
    }

    /** Starts a send of what is queued, unless one is in flight. */
    void flush() {
        conn.flush();
    }

    /** Closes from any thread. */
    public void closeAsync(String reason) {
        reactor.execute(() -> close(reason));
    }

    /**
     * Ends the queue: nothing more is sent or run, requests not running are freed, the
     * controller forgets the queue, and the connection fails; everything is freed once it is
     * closed and no bdev IO is still running. Reactor-confined.
     */
    void close(String reason) {
        if (closing) {
            return;
        }
        closing = true;
        LOG.log(System.Logger.Level.DEBUG, "nvmf {0} qid {1}: closing: {2}", peer, qid, reason);
        waitHead = null;
        waitTail = null;
        receiving = null;
        writer.clearHeld();
        buffers.clear();
        if (streamPaused || awaitingBuffer) {
            pool.cancel(this);
        }
        streamPaused = false;
        cancelHandshakeTimer();
        r2tDeadlines.cancel();
        leaveUnconnected();
        for (NvmfRequest r : requests.all()) {
            if (r.state != NvmfRequest.State.FREE && (r.state != NvmfRequest.State.EXECUTING || r.pendingIos == 0)) {
                release(r);
            }
        }
        Controller c = controller;
        if (c != null) {
            c.onQueueClosed(this);
        }
        conn.fail(reason, 0);
        maybeFree();
    }

    private void maybeFree() {
        if (freed || !closing || !connClosed || executing > 0) {
            return;
        }
        freed = true;
        conn.release();
        arena.close();
        account(-nativeBytes);
        target.onQueuePairClosed(this);
    }

    @Override
    public String toString() {
        return "queue pair " + peer + " qid " + qid + (controller != null ? " cntlid " + controller.cntlid() : "")
                + " (" + conn.state() + ")";
    }
}
