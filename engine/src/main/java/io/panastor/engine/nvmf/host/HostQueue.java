package io.panastor.engine.nvmf.host;

import static io.panastor.engine.nvmf.proto.TcpPdu.*;

import io.panastor.engine.bdev.BdevIo;
import io.panastor.engine.bdev.IoChannel;
import io.panastor.engine.bdev.IoStatus;
import io.panastor.engine.bdev.IoType;
import io.panastor.engine.nvmf.proto.ConnectCommand;
import io.panastor.engine.nvmf.proto.ConnectData;
import io.panastor.engine.nvmf.proto.NvmeCompletion;
import io.panastor.engine.nvmf.proto.NvmeStatus;
import io.panastor.engine.nvmf.tcp.ConnectionHandler;
import io.panastor.engine.nvmf.tcp.TcpConnection;
import io.panastor.natives.Errno;
import io.panastor.reactor.Reactor;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * One IO queue to a remote controller, owned by one reactor: the initiator's side of a
 * {@code QueuePair}, on a {@link TcpConnection}. It connects (ICReq, fabrics Connect), then
 * turns bdev IO into NVMe commands — an IO larger than the controller's MDTS becomes several
 * commands — small writes travel in the capsule, larger ones answer the target's R2T with
 * H2CData; reads take C2HData straight into the IO's buffers. What each command moved is
 * accounted ({@link HostCommands}): a target that sends too little, too much, out of order or
 * twice breaks the connection and fails the IO, never completes it with wrong data.
 *
 * <p>A command older than {@code io_timeout_ms} is first aborted through the admin queue; one
 * still outstanding a timeout later resets the controller ({@link NvmfBdev#resetController}):
 * this queue's connection is dropped at once and its commands fail with ETIMEDOUT, every queue
 * of the controller is {@linkplain #suspend suspended}, and each reconnects to the new
 * controller when the admin queue has one, holding new IO (up to its deadline) until then. A
 * transport or protocol error on this connection alone only reconnects this queue, with
 * backoff. Closing sends a fabrics Disconnect. Deadlines are kept to the reactor's clock as the
 * timeout scan last read it ({@link Reactor#nanoTime()}, every {@link #TIMEOUT_SCAN_NANOS}):
 * no IO reads the clock, and a test's manual clock drives the timeouts.
 *
 * <p>When the controller is {@linkplain #gone gone for good} (the bdev's {@code
 * ctrlr_loss_timeout_ms} passed) the queue fails everything it holds or has in flight, and
 * all later IO, with an IO error and ENODEV, and never connects again.
 *
 * <p>Thread-safety: reactor-confined, but for {@link #suspendAsync}, {@link #resumeAsync} and
 * {@link #goneAsync}.
 */
final class HostQueue extends IoChannel implements ConnectionHandler {
    private static final System.Logger LOG = System.getLogger(HostQueue.class.getName());

    static final int QUEUE_DEPTH = 128;
    /** The receive buffer holds headers only (payloads stream into the IO's buffers): its size only sets how much one receive takes. */
    static final int RECV_BUFFER = 64 * 1024;
    static final int SEND_BUFFER = 64 * 1024;
    /** How often in-flight IO is checked against its deadline. */
    static final long TIMEOUT_SCAN_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    static final long MIN_BACKOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    static final long MAX_BACKOFF_NANOS = TimeUnit.SECONDS.toNanos(5);
    /** Most blocks one Write Zeroes command covers (NLB is 16 bits, 0's based). */
    static final long MAX_WRITE_ZEROES_BLOCKS = 65536;
    private static final int CONNECT_CID = 0xFFFF;
    private static final int DISCONNECT_CID = 0xFFFE;
    /** Longest wait for the answer to a Disconnect before the socket is closed anyway. */
    static final long DISCONNECT_WAIT_NANOS = TimeUnit.SECONDS.toNanos(1);

    /** What the queue is doing, besides its connection's own state. */
    enum State {
        /** Connecting: transport, ICReq, fabrics Connect. */
        CONNECTING,
        /** IO flows. */
        READY,
        /** Closing: a fabrics Disconnect is on its way; the socket goes when it is answered. */
        DISCONNECTING,
        /** Lost the connection; reconnects after a backoff (or when resumed). */
        FAILED,
        /** Not connected (suspended, or closed). */
        CLOSED
    }

    private final NvmfBdev remote;
    private final int qid;
    private final long timeoutNanos;
    private final int blockSize;
    private final TcpConnection conn;
    private final HostCommands cmds = new HostCommands(QUEUE_DEPTH);
    private final HostCommandWriter writer;
    private final long[] entered = new long[State.values().length];

    /** Per IO descriptor (by index): bytes of its data already given to commands, commands in flight, first failure. */
    private final long[] ioStarted = new long[DEFAULT_IO_POOL_SIZE];
    private final int[] ioParts = new int[DEFAULT_IO_POOL_SIZE];
    private final int[] ioStatus = new int[DEFAULT_IO_POOL_SIZE];
    private final int[] ioErrno = new int[DEFAULT_IO_POOL_SIZE];
    private final long[] ioDeadlines = new long[DEFAULT_IO_POOL_SIZE];
    private final ArrayDeque<BdevIo> waiting = new ArrayDeque<>(IoChannel.DEFAULT_IO_POOL_SIZE);

    private State state = State.CLOSED;
    /** The controller is being reset: do not reconnect until {@link #resume}. */
    private boolean suspended;
    /** The controller is gone for good: every IO fails with ENODEV; no reconnect. */
    private boolean gone;
    private boolean closing;
    private boolean released;
    private long backoffNanos = MIN_BACKOFF_NANOS;
    private long timeoutTimer = -1;
    private long disconnectTimer = -1;
    private long connectTimer = -1;
    /** The clock as the last timeout scan read it: deadlines are kept to it, so no IO reads the clock. */
    private long now;
    private CompletableFuture<Void> goodbye;
    private int maxTransfer;
    /**
     * Sends what the cycle queued: commands submitted by other code during a duty cycle leave
     * together in one send at the reactor's next {@link FlushGroup} poll, rather than one send each.
     */
    private final FlushGroup flushes;
    /** In {@link #flushes}' list; the next queue there. Reactor-confined. */
    boolean flushPending;
    HostQueue nextFlush;
    private final Runnable scan = this::scanTimeouts;

    HostQueue(NvmfBdev remote, Reactor reactor, int qid) {
        super(remote, reactor, DEFAULT_IO_POOL_SIZE);
        this.remote = remote;
        this.qid = qid;
        this.timeoutNanos = TimeUnit.MILLISECONDS.toNanos(remote.remoteUri().ioTimeoutMillis());
        this.blockSize = remote.blockSize();
        this.conn = new TcpConnection(reactor, remote.remoteUri().host(), remote.remoteUri().port(), RECV_BUFFER,
                SEND_BUFFER, this);
        this.writer = new HostCommandWriter(conn, cmds, remote.remoteUri().nsid(), blockSize);
        this.now = reactor.nanoTime();
        this.flushes = FlushGroup.join(reactor);
        if (remote.goneReason() != null) {
            gone = true;
            suspended = true;
        } else {
            connect();
        }
        scheduleTimeoutScan();
    }

    State state() {
        return state;
    }

    long entered(State s) {
        return entered[s.ordinal()];
    }

    TcpConnection connection() {
        return conn;
    }

    private void setState(State s) {
        state = s;
        entered[s.ordinal()]++;
    }

    // ---------------------------------------------------------------- connection

    private void connect() {
        setState(State.CONNECTING);
        maxTransfer = remote.maxTransfer();
        writer.inCapsuleBytes(remote.inCapsuleBytes());
        conn.connect(remote.remoteUri().headerDigest(), remote.remoteUri().dataDigest());
        long limit = TimeUnit.MILLISECONDS.toNanos(remote.remoteUri().connectTimeoutMillis());
        connectTimer = reactor.scheduleTimer(limit, () -> {
            connectTimer = -1;
            if (state == State.CONNECTING) {
                conn.fail("IO queue " + qid + " not connected within connect_timeout_ms", Errno.ETIMEDOUT);
            }
        });
    }

    @Override
    public void onReady() {
        // Fabrics Connect for this IO queue, its 1 KiB of data in the capsule.
        int hd = conn.hd();
        int dd = conn.dd();
        int plen = CAPSULE_CMD_HLEN + hd + ConnectData.SIZE + dd;
        int at = conn.reserve(plen);
        MemorySegment s = conn.filling();
        s.asSlice(at, plen).fill((byte) 0);
        header(s, at, CAPSULE_CMD, (hd > 0 ? FLAG_HDGSTF : 0) | (dd > 0 ? FLAG_DDGSTF : 0), CAPSULE_CMD_HLEN,
                CAPSULE_CMD_HLEN + hd, plen);
        ConnectCommand.write(s, at + SQE_OFFSET, CONNECT_CID, qid, depth(), 0, 0);
        long data = at + CAPSULE_CMD_HLEN + hd;
        ConnectData.write(s, data, null, remote.cntlid(), remote.remoteUri().nqn(), remote.remoteUri().hostNqn());
        conn.sealHeader(at, CAPSULE_CMD_HLEN);
        if (dd > 0) {
            u32(s, data + ConnectData.SIZE, Integer.toUnsignedLong(conn.digestOfFilling((int) data, ConnectData.SIZE)));
        }
    }

    /** Entries this queue asks for: our depth, or less if the controller's CAP.MQES says so. */
    private int depth() {
        return remote.ioQueueDepth();
    }

    private void onConnectResponse(int status) {
        if (status != NvmeStatus.SUCCESS) {
            conn.fail("the target refused IO queue " + qid + ": " + NvmeStatus.describe(status), Errno.EIO);
            // Most likely the controller it named is gone: let the admin queue find out now.
            remote.checkController();
            return;
        }
        cancelConnectTimer();
        setState(State.READY);
        backoffNanos = MIN_BACKOFF_NANOS;
        startWaiting();
    }

    private void cancelConnectTimer() {
        if (connectTimer >= 0) {
            reactor.cancelTimer(connectTimer);
            connectTimer = -1;
        }
    }

    /** The connection is closed: in-flight IO fails; new IO waits for the reconnect. */
    @Override
    public void onClosed(String why, int errno) {
        cancelConnectTimer();
        cmds.clearR2T();
        if (!closing) {
            setState(State.FAILED);     // before failing IO: a callback that resubmits must find the queue down
        }
        int failed = 0;
        for (int cid = 0; cid < QUEUE_DEPTH; cid++) {
            if (cmds.ios[cid] != null) {
                endPart(cid, IoStatus.IO_ERROR, errno == 0 ? Errno.EIO : errno);
                failed++;
            }
        }
        if (closing) {
            finishRelease();
            return;
        }
        LOG.log(System.Logger.Level.WARNING, "nvmf {0} qid {1}: {2} ({3} command(s) failed)", remote.remoteUri().nqn(),
                qid, why, failed);
        if (!suspended) {
            long delay = backoffNanos;
            backoffNanos = Math.min(MAX_BACKOFF_NANOS, backoffNanos * 2);
            reactor.scheduleTimer(delay, () -> {
                if (!closing && !suspended && state == State.FAILED && conn.state() == TcpConnection.State.CLOSED) {
                    connect();
                }
            });
        } else {
            setState(State.CLOSED);
        }
    }

    // ---------------------------------------------------------------- controller reset

    /**
     * The controller is going away (being reset, or its admin queue lost): drop the
     * connection, fail the commands in flight with {@code errno}, and hold new IO until
     * {@link #resume}. Reactor-confined.
     */
    void suspend(String why, int errno) {
        if (closing) {
            return;
        }
        suspended = true;
        conn.fail(why, errno);
    }

    /** The controller is back (possibly a new one): reconnect now. Reactor-confined. */
    void resume() {
        if (closing || gone || !suspended) {
            return;
        }
        suspended = false;
        backoffNanos = MIN_BACKOFF_NANOS;
        if (conn.state() == TcpConnection.State.CLOSED) {
            connect();
        }
        // DRAINING: onClosed reconnects (after the shortest backoff) once the old socket is done.
    }

    /**
     * The controller is gone for good: drop the connection, fail what is in flight and what
     * is held with ENODEV, and fail all later IO the same way. Reactor-confined.
     */
    void gone(String why) {
        gone = true;
        suspended = true;
        if (conn.state() != TcpConnection.State.CLOSED) {
            conn.fail(why, Errno.ENODEV);
        }
        failHeld(IoStatus.IO_ERROR, Errno.ENODEV);
    }

    /** Ends the IO held for a connection with {@code status}; IO with parts in flight ends with its last part. */
    private void failHeld(int status, int errno) {
        int held = waiting.size();
        for (int n = 0; n < held; n++) {
            BdevIo io = waiting.poll();
            int i = io.index();
            if (ioParts[i] == 0) {
                complete(io, status, errno);
            } else {
                // Parts of it are still in flight on the closing connection: the last one's end completes it.
                if (ioStatus[i] == IoStatus.SUCCESS) {
                    ioStatus[i] = status;
                    ioErrno[i] = errno;
                }
                waiting.add(io);
            }
        }
    }

    /**
     * Closing (the bdev is being destroyed) while IO waits for a connection that is down: no
     * reconnect is waited for, so a dead target's IO does not hold the destroy until
     * {@code ctrlr_loss_timeout_ms}. IO waiting for room on a live queue is sent as usual.
     */
    @Override
    protected void onCloseWithIoInFlight() {
        if (state != State.READY) {
            failHeld(IoStatus.ABORTED, 0);
        }
    }

    /** {@link #gone} from any thread; completes once it has run (or the reactor is closed). */
    CompletableFuture<Void> goneAsync(String why) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        try {
            reactor.execute(() -> {
                try {
                    gone(why);
                } finally {
                    done.complete(null);
                }
            });
        } catch (RejectedExecutionException e) {
            done.complete(null);     // the reactor is closing, and this queue with it
        }
        return done;
    }

    /** {@link #suspend} from any thread. */
    void suspendAsync(String why, int errno) {
        runOnReactor(() -> suspend(why, errno));
    }

    /** {@link #resume} from any thread. */
    void resumeAsync() {
        runOnReactor(this::resume);
    }

    private void runOnReactor(Runnable r) {
        try {
            reactor.execute(r);
        } catch (RejectedExecutionException e) {
            // the reactor is closing, and this queue with it
        }
    }

    // ---------------------------------------------------------------- IO

    @Override
    protected void doSubmit(BdevIo io) {
        int i = io.index();
        ioDeadlines[i] = now + timeoutNanos + TIMEOUT_SCAN_NANOS;
        ioStarted[i] = 0;
        ioParts[i] = 0;
        ioStatus[i] = IoStatus.SUCCESS;
        ioErrno[i] = 0;
        if (io.type() == IoType.WRITE_ZEROES && io.numBlocks() > MAX_WRITE_ZEROES_BLOCKS) {
            completeLater(io, IoStatus.UNSUPPORTED, 0);
            return;
        }
        if (io.type() == IoType.RESET) {
            completeLater(io, IoStatus.SUCCESS, 0);
            return;
        }
        if (gone) {
            completeLater(io, IoStatus.IO_ERROR, Errno.ENODEV);
            return;
        }
        if (state != State.READY || !waiting.isEmpty() || !start(io)) {
            waiting.add(io);
        } else {
            flushes.later(this);
        }
    }

    /**
     * Queues the commands of waiting IO while CIDs and send room last. It does not send: the
     * caller's receive or send completion does, once, for everything its handling queued.
     */
    private void startWaiting() {
        while (state == State.READY && !waiting.isEmpty()) {
            if (!start(waiting.peek())) {
                break;
            }
            waiting.poll();
        }
    }

    /**
     * Queues the commands for what is left of {@code io} (reads and writes larger than MDTS
     * become several); false when CIDs or send room ran out first (it stays at the head).
     */
    private boolean start(BdevIo io) {
        int i = io.index();
        long total = io.type() == IoType.READ || io.type() == IoType.WRITE ? io.numBlocks() * blockSize : 0;
        do {
            long offset = ioStarted[i];
            int length = (int) Math.min(Math.max(blockSize, maxTransfer - (maxTransfer % blockSize)), total - offset);
            if (!writer.startPart(io, offset, length, ioDeadlines[i])) {
                return false;
            }
            ioStarted[i] = offset + length;
            ioParts[i]++;
        } while (ioStarted[i] < total);
        return true;
    }

    @Override
    public void onSent(int side) {
        while (cmds.hasPendingR2T()) {
            int cid = cmds.peekR2T();
            if (cmds.ios[cid] != null && !writer.sendH2C(cid)) {
                break;
            }
            cmds.popR2T();
        }
        startWaiting();
    }

    /** Starts a send of what is queued unless one is in flight (its completion sends the rest). */
    int flushQueued() {
        if (!released && conn.hasQueued() && !conn.sendInFlight()) {
            conn.flush();
            return 1;
        }
        return 0;
    }

    // ---------------------------------------------------------------- PDUs from the target

    @Override
    public boolean onPdu(int type, int flags, MemorySegment pdu, long base, int dataOffset, int dataLength,
                         boolean dataIntact) {
        switch (type) {
            case CAPSULE_RESP -> onCapsuleResp(pdu, base);
            case R2T -> onR2T(pdu, base);
            case C2H_TERM_REQ -> conn.fail("the target terminated the connection (FES " + u16(pdu, base + FES_OFFSET)
                    + ")", Errno.EIO);
            default -> conn.protocolError("PDU type " + type + " on an IO queue");
        }
        return true;
    }

    private void onCapsuleResp(MemorySegment pdu, long base) {
        long cqe = base + CQE_OFFSET;
        int cid = NvmeCompletion.cid(pdu, cqe);
        int status = NvmeCompletion.status(pdu, cqe);
        if (state == State.DISCONNECTING) {
            if (cid == DISCONNECT_CID) {
                endDisconnect();
            }
            return;
        }
        if (state == State.CONNECTING) {
            if (cid == CONNECT_CID) {
                onConnectResponse(status);
            } else {
                conn.protocolError("a completion for cid " + cid + " while connecting");
            }
            return;
        }
        if (!cmds.inFlight(cid)) {
            conn.protocolError("a completion for cid " + cid + ", which has no command in flight");
            return;
        }
        if (status == NvmeStatus.SUCCESS && !allMoved(cid)) {
            conn.protocolError("command " + cid + " (" + cmds.ios[cid].type() + ") completed successfully having moved "
                    + cmds.moved[cid] + " of " + cmds.partLength[cid] + " bytes");
            return;
        }
        finish(cid, status);
    }

    /** Whether command {@code cid} moved all of its data: every read byte in (with LAST_PDU), every write byte sent. */
    private boolean allMoved(int cid) {
        IoType t = cmds.ios[cid].type();
        if (t == IoType.READ) {
            return cmds.dataDone[cid] && cmds.moved[cid] == cmds.partLength[cid];
        }
        if (t == IoType.WRITE) {
            return cmds.moved[cid] == cmds.partLength[cid] && cmds.r2tNext[cid] == cmds.r2tEnd[cid];
        }
        return true;
    }

    private void finish(int cid, int status) {
        int ioStatus;
        int errno = 0;
        if (status == NvmeStatus.SUCCESS) {
            ioStatus = IoStatus.SUCCESS;
        } else if (status == NvmeStatus.LBA_OUT_OF_RANGE) {
            ioStatus = IoStatus.OUT_OF_RANGE;
        } else if (status == NvmeStatus.INVALID_OPCODE) {
            ioStatus = IoStatus.UNSUPPORTED;
        } else if (status == NvmeStatus.CAPACITY_EXCEEDED) {
            ioStatus = IoStatus.NO_SPACE;
        } else {
            ioStatus = IoStatus.IO_ERROR;
            errno = Errno.EIO;
        }
        endPart(cid, ioStatus, errno);
        startWaiting();
    }

    /** Ends one command of an IO; the IO completes with its first failure once all its commands are done. */
    private void endPart(int cid, int status, int errno) {
        BdevIo io = cmds.release(cid);
        int i = io.index();
        if (status != IoStatus.SUCCESS && ioStatus[i] == IoStatus.SUCCESS) {
            ioStatus[i] = status;
            ioErrno[i] = errno;
        }
        if (--ioParts[i] > 0) {
            return;
        }
        long total = io.type() == IoType.READ || io.type() == IoType.WRITE ? io.numBlocks() * blockSize : 0;
        if (ioStarted[i] < total) {
            if (ioStatus[i] == IoStatus.SUCCESS) {
                return;     // more of it is still waiting to start
            }
            waiting.remove(io);
        }
        complete(io, ioStatus[i], ioErrno[i]);
    }

    @Override
    public boolean onDataStart(int type, int flags, MemorySegment pdu, long base) {
        int cid = u16(pdu, base + CCCID_OFFSET);
        long datao = u32(pdu, base + DATAO_OFFSET);
        long datal = u32(pdu, base + DATAL_OFFSET);
        if (state != State.READY || !cmds.inFlight(cid) || cmds.ios[cid].type() != IoType.READ || cmds.dataDone[cid]) {
            conn.protocolError("C2HData for cid " + cid + ", which is no read awaiting data");
            return false;
        }
        // In order, each byte once, within the command: DATAO must be where the data so far
        // ends (no gap, no overlap), and the PDU must end within the command (long arithmetic).
        if (datao != cmds.moved[cid] || datao + datal > cmds.partLength[cid]) {
            conn.protocolError("C2HData for cid " + cid + " at " + datao + " (+" + datal + ") where " + cmds.moved[cid]
                    + " of " + cmds.partLength[cid] + " bytes have arrived");
            return false;
        }
        if ((flags & FLAG_SUCCESS) != 0 && (flags & FLAG_LAST_PDU) == 0) {
            conn.protocolError("C2HData with SUCCESS but not LAST_PDU (cid " + cid + ")");
            return false;
        }
        cmds.receiving = cid;
        cmds.receivingAt = cmds.partOffset[cid] + datao;
        return true;
    }

    @Override
    public void onData(MemorySegment from, long at, int length) {
        int cid = cmds.receiving;
        cmds.ios[cid].copyToBuffers(from, at, cmds.receivingAt, length);
        cmds.receivingAt += length;
        cmds.moved[cid] += length;
    }

    @Override
    public void onDataEnd(int flags, boolean intact) {
        if (!intact) {
            conn.protocolError("data digest error");
            return;
        }
        int cid = cmds.receiving;
        cmds.receiving = -1;
        if ((flags & FLAG_LAST_PDU) != 0) {
            if (cmds.moved[cid] != cmds.partLength[cid]) {
                conn.protocolError("LAST_PDU after " + cmds.moved[cid] + " of " + cmds.partLength[cid] + " bytes (cid "
                        + cid + ")");
                return;
            }
            cmds.dataDone[cid] = true;
        }
        if ((flags & FLAG_SUCCESS) != 0) {
            finish(cid, NvmeStatus.SUCCESS);
        }
    }

    private void onR2T(MemorySegment pdu, long base) {
        int cid = u16(pdu, base + CCCID_OFFSET);
        long offset = u32(pdu, base + R2TO_OFFSET);
        long length = u32(pdu, base + R2TL_OFFSET);
        if (state != State.READY || !cmds.inFlight(cid) || cmds.ios[cid].type() != IoType.WRITE) {
            conn.protocolError("R2T for cid " + cid + ", which is no write");
            return;
        }
        // We asked for one R2T at a time (MAXR2T 0): the next asks for what follows the last.
        if (length == 0 || offset != cmds.moved[cid] || offset + length > cmds.partLength[cid]
                || cmds.r2tNext[cid] != cmds.r2tEnd[cid]) {
            conn.protocolError("R2T for cid " + cid + " of " + offset + " (+" + length + ") where " + cmds.moved[cid]
                    + " of " + cmds.partLength[cid] + " bytes were asked for"
                    + (cmds.r2tNext[cid] != cmds.r2tEnd[cid] ? " and the last R2T is not answered yet" : ""));
            return;
        }
        cmds.ttags[cid] = u16(pdu, base + TTAG_OFFSET);
        cmds.moved[cid] = (int) (offset + length);
        cmds.r2tNext[cid] = (int) offset;
        cmds.r2tEnd[cid] = (int) (offset + length);
        if (cmds.hasPendingR2T() || !writer.sendH2C(cid)) {
            cmds.queueR2T(cid);
        }
    }

    // ---------------------------------------------------------------- timeouts and teardown

    private void scheduleTimeoutScan() {
        timeoutTimer = reactor.scheduleTimer(TIMEOUT_SCAN_NANOS, scan);
    }

    private void scanTimeouts() {
        timeoutTimer = -1;
        if (closing) {
            return;
        }
        now = reactor.nanoTime();
        for (int cid = 0; cid < QUEUE_DEPTH; cid++) {
            if (cmds.ios[cid] == null || now - cmds.deadlines[cid] <= 0) {
                continue;
            }
            if (!cmds.abortSent[cid] && state == State.READY) {
                // First, ask the controller to abort it, and give it one more timeout.
                cmds.abortSent[cid] = true;
                cmds.deadlines[cid] = now + timeoutNanos;
                remote.abort(qid, cid);
                continue;
            }
            // The abort did not help: reset the controller. This queue fails its commands now
            // (the caller learns within two timeouts); the others follow from the admin queue.
            String why = "command " + cid + " on queue " + qid + " timed out after "
                    + remote.remoteUri().ioTimeoutMillis() + " ms and an abort";
            suspend(why + "; resetting the controller", Errno.ETIMEDOUT);
            remote.resetController(why);
            break;
        }
        while (!waiting.isEmpty() && now - ioDeadlines[waiting.peek().index()] > 0
                && ioParts[waiting.peek().index()] == 0) {
            complete(waiting.poll(), IoStatus.IO_ERROR, Errno.ETIMEDOUT);
        }
        scheduleTimeoutScan();
    }

    @Override
    protected void onClose() {
        closing = true;
        if (timeoutTimer >= 0) {
            reactor.cancelTimer(timeoutTimer);
            timeoutTimer = -1;
        }
        if (state == State.READY && sendDisconnect()) {
            // Nothing is in flight (the channel closes only then): end the queue the way the
            // spec asks (fabrics Disconnect, NVMe over Fabrics 1.1 §3.3.2), and give the target
            // a moment to answer before the socket goes anyway. The bdev's admin queue closes
            // after its IO queues: it waits for this.
            setState(State.DISCONNECTING);
            goodbye = lingerAfterClose();
            disconnectTimer = reactor.scheduleTimer(DISCONNECT_WAIT_NANOS, () -> {
                disconnectTimer = -1;
                if (state == State.DISCONNECTING) {
                    endDisconnect();
                }
            });
            return;
        }
        if (conn.state() == TcpConnection.State.CLOSED) {
            finishRelease();
        } else {
            goodbye = lingerAfterClose();
            conn.fail("closed", 0);
        }
    }

    /** Queues and sends a fabrics Disconnect for this queue; false when it does not fit. */
    private boolean sendDisconnect() {
        if (!writer.disconnect(DISCONNECT_CID)) {
            return false;
        }
        conn.flush();
        return conn.state() == TcpConnection.State.READY;
    }

    /** The Disconnect was answered (or not in time): the socket goes. */
    private void endDisconnect() {
        if (disconnectTimer >= 0) {
            reactor.cancelTimer(disconnectTimer);
            disconnectTimer = -1;
        }
        setState(State.CLOSED);
        conn.fail("disconnected", 0);
    }

    private void finishRelease() {
        if (released) {
            return;
        }
        released = true;
        cancelConnectTimer();
        if (disconnectTimer >= 0) {
            reactor.cancelTimer(disconnectTimer);
            disconnectTimer = -1;
        }
        setState(State.CLOSED);
        remote.queueReleased(this);
        flushes.leave();
        conn.release();
        if (goodbye != null) {
            goodbye.complete(null);
        }
    }
}
