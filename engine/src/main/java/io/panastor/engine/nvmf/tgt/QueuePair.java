package io.panastor.engine.nvmf.tgt;

import static io.panastor.engine.nvmf.proto.TcpPdu.*;

import io.panastor.engine.nvmf.proto.NvmeCommand;
import io.panastor.engine.nvmf.proto.NvmeCompletion;
import io.panastor.engine.nvmf.proto.NvmeOpcodes;
import io.panastor.engine.nvmf.proto.NvmeStatus;
import io.panastor.engine.nvmf.tcp.Crc32cDigest;
import io.panastor.engine.nvmf.tcp.RecvBuffer;
import io.panastor.engine.nvmf.tcp.SendBuffers;
import io.panastor.natives.CompletionHandler;
import io.panastor.natives.IoUring;
import io.panastor.natives.Sockets;
import io.panastor.reactor.Reactor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * One NVMe/TCP connection: one queue (admin or IO) of one controller, owned by one reactor.
 * Receives into one buffer and parses PDUs in place; sends from two buffers that alternate,
 * so that every response, R2T and C2HData queued while a send is in flight leaves in the
 * next single send (few syscalls under load). No allocation per PDU.
 *
 * <p>Memory follows use: data buffers are lent per command by the reactor's shared
 * {@link DataBufferPool} (when it is empty the connection stops parsing until one comes back);
 * request slots and SQE copies match the queue size the host's Connect asked for; the receive
 * buffer starts small and grows only when PDUs or bursts need more; send buffers and their
 * iovecs are small and fixed. An idle IO queue holds well under 256 KiB of native memory.
 *
 * <p>A connection that has not finished ICReq and Connect within the target's handshake
 * timeout is closed (slowloris sockets cost a timer and a small buffer, not megabytes).
 *
 * <p>Connection states ({@link State}): AWAIT_ICREQ → READY (commands flow; the first must be
 * a fabrics Connect) → TERMINATING (a fatal protocol error: C2HTermReq queued, input ignored)
 * → CLOSING (socket shut down, waiting for in-flight IO) → CLOSED.
 *
 * <p>Thread-safety: reactor-confined; others reach it through {@link #closeAsync}.
 */
public final class QueuePair implements CompletionHandler {
    private static final System.Logger LOG = System.getLogger(QueuePair.class.getName());

    /** Connection states, written out as SPDK's tcp.c does. */
    public enum State {
        AWAIT_ICREQ,
        READY,
        TERMINATING,
        CLOSING,
        CLOSED
    }

    /** Largest data transfer of one command (Identify Controller MDTS = 5 with 4 KiB pages). */
    static final int MAX_TRANSFER = 128 * 1024;
    /**
     * Largest H2CData payload the host may send (ICResp MAXH2CDATA): a quarter of MDTS, so that
     * the largest PDU, which must fit the receive buffer whole, keeps a busy connection's buffer
     * at {@link #RECV_MAX}; hosts split an R2T's data into PDUs of this size (NVMe/TCP 1.0 §3.6.2.2).
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
    /** The longest PDU we accept: an H2CData of MAXH2CDATA with both digests. */
    static final int MAX_PDU = DATA_HLEN + 2 * DIGEST_LENGTH + MAX_H2C_DATA;
    private static final int TOKEN_RECV = 0;
    private static final int TOKEN_SEND = 1;

    final NvmfTarget target;
    final Reactor reactor;
    private final IoUring ring;
    final int fd;
    private final String peer;
    private final int handlerId;
    private final Arena arena = Arena.ofShared();
    /** The reactor's data buffers, shared with its other connections. */
    final DataBufferPool pool;
    final Requests requests;
    private final Crc32cDigest crc = new Crc32cDigest();

    private RecvBuffer in;
    /** {@link #in}'s own arena: a grown buffer replaces it. */
    private Arena recvArena;
    /** {@link #in}'s memory and view, named for the parsing code. */
    MemorySegment recv;
    private ByteBuffer recvView;
    /** Native bytes this connection holds itself (not counting lent data buffers). */
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

    private State state = State.AWAIT_ICREQ;
    private final long[] stateEntries = new long[State.values().length];
    private boolean headerDigest;
    private boolean dataDigest;
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
        this.ring = reactor.ring();
        this.fd = fd;
        this.peer = peer;
        this.group = target.pollGroup(reactor);
        this.pool = group.buffers();
        this.requests = new Requests(this, arena);
        this.recvArena = Arena.ofShared();
        useRecvBuffer(new RecvBuffer(recvArena, RECV_INITIAL, RECV_INITIAL));
        this.out = new SendBuffers(arena, SEND_BUFFER, SEND_IOVS);
        this.buffers = new BufferLending(this, pool, arena);
        this.writer = new ResponseWriter(this, out);
        this.r2tDeadlines = new R2TDeadlines(this, reactor, target.r2tTimeoutNanos());
        account(requests.nativeBytes() + in.capacity() + out.nativeBytes() + BufferLending.nativeBytes());
        this.handlerId = reactor.registerCompletionHandler(this);
        stateEntries[State.AWAIT_ICREQ.ordinal()]++;
        long timeout = target.handshakeTimeoutNanos();
        if (timeout > 0) {
            handshakeTimer = reactor.scheduleTimer(timeout, this::onHandshakeTimeout);
        }
        postRecv();
    }

    private void useRecvBuffer(RecvBuffer b) {
        in = b;
        recv = b.segment();
        recvView = b.view();
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
        if (controller == null && state != State.CLOSING && state != State.CLOSED) {
            target.counters().onHandshakeTimeout();
            close("no ICReq and Connect within " + target.handshakeTimeoutNanos() / 1_000_000 + " ms");
            maybeFinishClose();
        }
    }

    /**
     * Grows the receive buffer to hold at least {@code bytes} (at most {@link #RECV_MAX}),
     * keeping what is unparsed. Only between receives.
     */
    private void growRecv(int bytes) {
        int size = Math.min(RECV_MAX, Math.max(bytes, 2 * in.capacity()));
        if (size <= in.capacity() || in.inFlight()) {
            return;
        }
        size = (size + 4095) & ~4095;
        Arena a = Arena.ofShared();
        RecvBuffer bigger = new RecvBuffer(a, size, Math.min(size, MAX_PDU));
        in.moveUnparsedTo(bigger);
        account(size - in.capacity());
        Arena old = recvArena;
        recvArena = a;
        useRecvBuffer(bigger);
        old.close();
    }

    /** A buffer may be free again: requests waiting get theirs in order, then parsing goes on. From the poll group. */
    void onBufferAvailable() {
        try {
            NvmfRequest req;
            while (state == State.READY && (req = buffers.nextReady()) != null) {
                Capsules.withBuffer(this, req);
            }
            streamPaused = false;
            process();
            postRecv();
            flush();
        } catch (RuntimeException e) {
            handlerFailures++;
            target.counters().handlerFailed(this, "resume after waiting for a buffer", e);
            close("internal error: " + e);
        }
        maybeFinishClose();
    }

    public State state() {
        return state;
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

    /** How many times the connection entered each {@link State}, by ordinal. */
    long[] stateEntries() {
        return stateEntries.clone();
    }

    void setState(State next) {
        state = next;
        stateEntries[next.ordinal()]++;
    }

    // ---------------------------------------------------------------- socket completions

    @Override
    public void onCompletion(long token, int res, int flags) {
        try {
            if (token == TOKEN_RECV) {
                onRecv(res);
            } else {
                onSend(res);
            }
        } catch (RuntimeException e) {
            // Nothing a connection does may end up in the reactor's duty cycle: this one ends.
            handlerFailures++;
            target.counters().handlerFailed(this, token == TOKEN_RECV ? "receive handling" : "send handling", e);
            close("internal error: " + e);
            maybeFinishClose();
        }
    }

    private void postRecv() {
        if (in.inFlight() || streamPaused || state == State.CLOSING || state == State.CLOSED
                || state == State.TERMINATING) {
            return;
        }
        if (in.free() < in.capacity() / 4 && in.start() == 0) {
            // Full of unparsed bytes that are not a whole PDU yet (or a burst): room first.
            growRecv(2 * in.capacity());
        }
        if (in.free() == 0 && in.start() == 0) {
            return;     // nothing can be received until something is parsed (cannot happen: growRecv made room)
        }
        if (!in.post(ring, fd, Reactor.userData(handlerId, TOKEN_RECV))) {
            close("no submission slot for a receive");
        }
    }

    private void onRecv(int res) {
        boolean filled = res > 0 && res == in.free();
        in.onReceived(res);
        if (filled && in.capacity() < RECV_MAX) {
            // The receive filled all the room there was: more is waiting, so take more at a time.
            growRecv(2 * in.capacity());
        }
        if (res <= 0) {
            close(res == 0 ? "host closed the connection" : "receive failed: " + io.panastor.natives.Errno.name(-res));
            maybeFinishClose();
            return;
        }
        process();
        postRecv();
        flush();
        maybeFinishClose();
    }

    private void onSend(int res) {
        if (res < 0) {
            out.onFailed();
            close("send failed: " + io.panastor.natives.Errno.name(-res));
            maybeFinishClose();
            return;
        }
        int side = out.fillingIndex() ^ 1;
        int sent = out.onSent(res, ring, fd, Reactor.userData(handlerId, TOKEN_SEND));
        if (sent == SendBuffers.RESUBMITTED) {
            return;
        }
        if (sent == SendBuffers.SENT) {
            writer.releaseHeld(side);
        }
        if (sent == SendBuffers.STUCK) {
            close("no submission slot for the rest of a send");
            maybeFinishClose();
            return;
        }
        drainWaiting();
        flush();
        if (state == State.TERMINATING && !out.inFlight()) {
            close("protocol error");
        }
        maybeFinishClose();
    }

    /** Starts a send of everything queued, unless one is in flight (then it goes next). */
    void flush() {
        if (state == State.CLOSING || state == State.CLOSED) {
            return;
        }
        if (!out.flush(ring, fd, Reactor.userData(handlerId, TOKEN_SEND))) {
            close("no submission slot for a send");
        }
    }


    // ---------------------------------------------------------------- PDU parsing

    /** Parses every complete PDU in the receive buffer. */
    private void process() {
        while ((state == State.READY || state == State.AWAIT_ICREQ) && !streamPaused) {
            int available = in.available();
            if (available < COMMON_HEADER_LENGTH) {
                return;
            }
            long base = in.start();
            int type = type(recv, base);
            int flags = flags(recv, base);
            int hlen = hlen(recv, base);
            int pdo = pdo(recv, base);
            long plen = plen(recv, base);
            int expected = expectedHlen(type);
            boolean hostType = type == ICREQ || type == CAPSULE_CMD || type == H2C_DATA || type == H2C_TERM_REQ;
            if (expected < 0 || !hostType) {
                fatal(FES_INVALID_PDU_HEADER_FIELD, (int) TYPE_OFFSET, base);
                return;
            }
            if (hlen != expected) {
                fatal(FES_INVALID_PDU_HEADER_FIELD, (int) HLEN_OFFSET, base);
                return;
            }
            if ((state == State.AWAIT_ICREQ) != (type == ICREQ)) {
                fatal(FES_PDU_SEQUENCE_ERROR, 0, base);
                return;
            }
            boolean hd = type != ICREQ && type != H2C_TERM_REQ && headerDigest;
            boolean dd = (type == CAPSULE_CMD || type == H2C_DATA) && dataDigest;
            if (type != ICREQ && type != H2C_TERM_REQ
                    && (((flags & FLAG_HDGSTF) != 0) != hd || ((flags & FLAG_DDGSTF) != 0 && !dataDigest))) {
                fatal(FES_INVALID_PDU_HEADER_FIELD, (int) FLAGS_OFFSET, base);
                return;
            }
            int headerBytes = hlen + (hd ? DIGEST_LENGTH : 0);
            long maxPlen = type == H2C_DATA ? headerBytes + MAX_H2C_DATA + (dd ? DIGEST_LENGTH : 0)
                    : type == CAPSULE_CMD ? headerBytes + IN_CAPSULE_DATA + (dd ? DIGEST_LENGTH : 0)
                    : type == H2C_TERM_REQ ? hlen + TERM_REQ_MAX_DATA : hlen;
            if (plen < headerBytes || plen > maxPlen) {
                fatal(type == H2C_DATA && plen > maxPlen ? FES_DATA_TRANSFER_LIMIT_EXCEEDED
                        : FES_INVALID_PDU_HEADER_FIELD, (int) PLEN_OFFSET, base);
                return;
            }
            boolean hasData = plen > headerBytes && type != H2C_TERM_REQ;
            if (hasData && pdo != headerBytes) {
                // CPDA is 0: data starts right after the header and its digest (§3.6.2.1).
                fatal(FES_INVALID_PDU_HEADER_FIELD, (int) PDO_OFFSET, base);
                return;
            }
            if (hasData && (flags & FLAG_DDGSTF) != 0 && plen < headerBytes + DIGEST_LENGTH) {
                fatal(FES_INVALID_PDU_HEADER_FIELD, (int) PLEN_OFFSET, base);
                return;
            }
            if (available < plen) {
                if (plen > in.capacity()) {
                    growRecv((int) plen);
                }
                return;
            }
            DataBuffer lent = null;
            if (type == CAPSULE_CMD) {
                long need = bufferNeeded(base + SQE_OFFSET);
                if (need > 0) {
                    lent = buffers.forInCapsule(need);
                    if (lent == null) {
                        // Every buffer is in use, our reserve too (by a command that is running):
                        // wait for one, the PDU left unparsed and nothing more received.
                        streamPaused = true;
                        pool.await(this, need);
                        return;
                    }
                }
            }
            if (hd && digest(recvView, (int) base, hlen) != (int) u32(recv, base + hlen)) {
                fatal(FES_HEADER_DIGEST_ERROR, 0, base);
                return;
            }
            int dataOffset = (int) base + headerBytes;
            int dataLength = hasData ? (int) plen - headerBytes - ((flags & FLAG_DDGSTF) != 0 ? DIGEST_LENGTH : 0) : 0;
            boolean dataIntact = !hasData || (flags & FLAG_DDGSTF) == 0
                    || digest(recvView, dataOffset, dataLength) == (int) u32(recv, dataOffset + dataLength);
            in.consume((int) plen);
            try {
                switch (type) {
                    case ICREQ -> onIcReq(base);
                    case CAPSULE_CMD -> Capsules.onCapsuleCmd(this, base, dataOffset, dataLength, dataIntact, lent);
                    case H2C_DATA -> Capsules.onH2CData(this, base, dataOffset, dataLength, dataIntact, flags);
                    case H2C_TERM_REQ -> close("host terminated the connection (FES " + u16(recv, base + FES_OFFSET)
                            + ")");
                    default -> throw new IllegalStateException("PDU type " + type);
                }
            } catch (RuntimeException e) {
                // A handler bug the PDU provoked: the PDU is what we name in the C2HTermReq.
                handlerFailures++;
                target.counters().handlerFailed(this, "PDU type " + type, e);
                if (state == State.READY || state == State.AWAIT_ICREQ) {
                    fatal(FES_INVALID_PDU_HEADER_FIELD, 0, base);
                }
                return;
            }
        }
    }

    /**
     * Bytes of in-capsule data the command at {@code sqe} of the receive buffer brings, which
     * need a buffer before the capsule can be consumed; else 0 (a command whose data comes by
     * R2T, or goes to the host, gets its buffer later and may wait for it without holding up
     * the stream).
     */
    private long bufferNeeded(long sqe) {
        if (NvmeCommand.sglId(recv, sqe) != NvmeCommand.SGL_IN_CAPSULE) {
            return 0;
        }
        int opcode = NvmeCommand.opcode(recv, sqe);
        int direction = (opcode == NvmeOpcodes.FABRICS ? NvmeCommand.fctype(recv, sqe) : opcode)
                & NvmfRequest.DIRECTION_MASK;
        long length = NvmeCommand.sglLength(recv, sqe);
        return direction == NvmfRequest.DIR_NONE || length <= 0 || length > MAX_TRANSFER ? 0 : length;
    }

    private int digest(ByteBuffer view, int offset, int length) {
        return crc.of(view, offset, length);
    }

    private void onIcReq(long base) {
        int pfv = u16(recv, base + PFV_OFFSET);
        int hpda = u8(recv, base + HPDA_OFFSET);
        int dgst = u8(recv, base + DGST_OFFSET);
        if (pfv != 0) {
            fatal(FES_INVALID_PDU_HEADER_FIELD, (int) PFV_OFFSET, base);
            return;
        }
        if (hpda > 31) {
            fatal(FES_INVALID_PDU_HEADER_FIELD, (int) HPDA_OFFSET, base);
            return;
        }
        writer.icResp(dgst & (DGST_HDGST | DGST_DDGST), MAX_H2C_DATA);
        // Digests apply to the PDUs after the exchange (§3.6.2.2).
        headerDigest = (dgst & DGST_HDGST) != 0;
        dataDigest = (dgst & DGST_DDGST) != 0;
        writer.digests(headerDigest, dataDigest);
        setState(State.READY);
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
        if (handshakeTimer >= 0) {
            reactor.cancelTimer(handshakeTimer);
            handshakeTimer = -1;
        }
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
        handlerFailures++;
        target.counters().handlerFailed(this, "bdev submit", e);
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
            if (state == State.CLOSING || state == State.CLOSED) {
                release(req);
                maybeFinishClose();
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
        if (out.hasQueued() && !out.inFlight() && state != State.CLOSING && state != State.CLOSED) {
            flush();
            return 1;
        }
        return 0;
    }

    /** Ends a request: queues its C2H data and response, or waits for send room. */
    void finish(NvmfRequest req, int status) {
        req.status = status;
        req.state = NvmfRequest.State.NEED_RESPONSE;
        if (state == State.CLOSING || state == State.CLOSED) {
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
            if (buffers.giveBack(b) && streamPaused && state == State.READY) {
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
        maybeFinishClose();
    }

    /**
     * A fatal transport error (§3.6.2.3): queue a C2HTermReq that names the field and carries
     * the offending header, stop reading, and close once it is sent.
     */
    void fatal(int fes, int fieldOffset, long pduBase) {
        int copy = Math.min(in.end() - (int) pduBase, Math.min(hlen(recv, pduBase) == 0 ? COMMON_HEADER_LENGTH
                : hlen(recv, pduBase), TERM_REQ_MAX_DATA));
        copy = Math.max(0, Math.min(copy, in.end() - (int) pduBase));
        target.counters().transportError(this, fes, fieldOffset);
        writer.termReq(fes, fieldOffset, recv, pduBase, copy);
        setState(State.TERMINATING);
        flush();
        if (!out.inFlight()) {
            close("protocol error");
        }
    }

    /** Closes from any thread. */
    public void closeAsync(String reason) {
        reactor.execute(() -> close(reason));
    }

    /** Shuts the socket down and frees everything once nothing is in flight. Reactor-confined. */
    void close(String reason) {
        if (state == State.CLOSING || state == State.CLOSED) {
            return;
        }
        LOG.log(System.Logger.Level.DEBUG, "nvmf {0} qid {1}: closing: {2}", peer, qid, reason);
        setState(State.CLOSING);
        Sockets.shutdown(fd);
        waitHead = null;
        waitTail = null;
        writer.clearHeld();
        buffers.clear();
        streamPaused = false;
        if (handshakeTimer >= 0) {
            reactor.cancelTimer(handshakeTimer);
            handshakeTimer = -1;
        }
        r2tDeadlines.cancel();
        leaveUnconnected();
        for (NvmfRequest r : requests.all()) {
            if (r.state != NvmfRequest.State.FREE && r.state != NvmfRequest.State.EXECUTING) {
                release(r);
            } else if (r.state == NvmfRequest.State.EXECUTING && r.pendingIos == 0) {
                release(r);
            }
        }
        Controller c = controller;
        if (c != null) {
            c.onQueueClosed(this);
        }
        maybeFinishClose();
    }

    private void maybeFinishClose() {
        if (state != State.CLOSING || in.inFlight() || out.inFlight() || executing > 0) {
            return;
        }
        setState(State.CLOSED);
        Sockets.close(fd);
        reactor.unregisterCompletionHandler(handlerId);
        arena.close();
        recvArena.close();
        account(-nativeBytes);
        target.onQueuePairClosed(this);
    }

    @Override
    public String toString() {
        return "queue pair " + peer + " qid " + qid + (controller != null ? " cntlid " + controller.cntlid() : "")
                + " (" + state + ")";
    }
}
