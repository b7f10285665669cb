package io.panastor.engine.nvmf.host;

import static io.panastor.engine.nvmf.proto.TcpPdu.*;

import io.panastor.engine.nvmf.proto.AdminCommand;
import io.panastor.engine.nvmf.proto.ConnectCommand;
import io.panastor.engine.nvmf.proto.ConnectData;
import io.panastor.engine.nvmf.proto.ControllerRegisters;
import io.panastor.engine.nvmf.proto.Features;
import io.panastor.engine.nvmf.proto.IdentifyCommand;
import io.panastor.engine.nvmf.proto.LogPage;
import io.panastor.engine.nvmf.proto.NvmeCommand;
import io.panastor.engine.nvmf.proto.NvmeOpcodes;
import io.panastor.engine.nvmf.proto.PropertyCommand;
import io.panastor.engine.nvmf.proto.NvmeStatus;
import io.panastor.engine.nvmf.tcp.ConnectionHandler;
import io.panastor.engine.nvmf.tcp.TcpConnection;
import io.panastor.natives.Errno;
import io.panastor.reactor.Reactor;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The admin queue of a remote controller: a queue pair on a reactor like every IO queue
 * ({@link TcpConnection}), with no thread of its own. Its home is the reactor the bdev
 * registry hands the new bdev ({@code BdevContext.home()}: the registry spreads bdevs over
 * its reactors round-robin), or the shared fallback reactor ({@link FallbackReactor}) for a
 * registry that has none. Everything runs there, asynchronously; control-path callers get
 * {@link CompletableFuture}s.
 *
 * <p>An association (NVMe over Fabrics 1.1 §3.3, NVMe base 2.0 §3.5.1): connect and ICReq,
 * fabrics Connect (QID 0) → CNTLID, Property Get CAP, Property Set CC.EN=1 then CSTS.RDY
 * polled on a reactor timer (5 ms doubling to 100 ms) until it is 1, for at most CAP.TO, then
 * Identify controller and namespace (every field range-checked, {@link RemoteController}),
 * Set Features Number of Queues, and Keep Alive every KATO/2 on a timer. Each
 * association has one deadline, the URI's {@code connect_timeout_ms}, for all of it (a peer
 * that trickles one byte at a time fails at that deadline, not at a read timeout that restarts
 * with every byte); every admin command also has its own (the larger of {@code
 * io_timeout_ms} and {@code connect_timeout_ms}).
 *
 * <p>When the controller is lost — a keep-alive or Abort goes unanswered, the connection
 * fails, or {@link #resetAsync} asks — the {@link ControllerListener} hears it (IO queues
 * are suspended), the controller is disabled if it still answers (CC.EN 1→0, CSTS.RDY 0
 * polled as above, fabrics Disconnect), and a new association is made at once, then with
 * backoff (100 ms doubling to 5 s); the listener hears when a controller is ready again (IO
 * queues reconnect to it). {@link #closeAsync} sends Disconnect and ends the connection.
 *
 * <p>A discovery controller (the URI names {@link NvmeOpcodes#DISCOVERY_NQN}) has no
 * namespace and no IO queues: its association ends at CSTS.RDY, and then it serves
 * {@link #getLogPageAsync} ({@link Discovery} reads the discovery log so).
 *
 * <p>A controller lost for longer than {@code ctrlr_loss_timeout_ms} (timed on the reactor's
 * clock from the moment the listener heard {@code controllerLost}; 0: never) is lost for good:
 * reconnecting stops ({@link Phase#GONE}) and the listener hears {@code controllerGone} once.
 * A controller ready again before then cancels the deadline.
 *
 * <p>Thread-safety: reactor-confined, but for the methods marked "any thread".
 */
final class AdminQueue implements ConnectionHandler {
    private static final System.Logger LOG = System.getLogger(AdminQueue.class.getName());
    static final int IO_QUEUES_WANTED = 64;
    static final long MIN_BACKOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    static final long MAX_BACKOFF_NANOS = TimeUnit.SECONDS.toNanos(5);
    static final long FIRST_CSTS_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(5);
    static final long MAX_CSTS_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    /** Longest wait for the answer to the Disconnect sent on close. */
    static final long DISCONNECT_WAIT_NANOS = TimeUnit.SECONDS.toNanos(1);
    static final int RECV_BYTES = 16 * 1024;
    static final int SEND_BYTES = 8 * 1024;
    /** Admin commands are copied whole into the send side: no gathered payloads, the fewest iovecs. */
    static final int SEND_IOVS = 3;

    /** Why an attach failed, with the errno of the connection's end (ECONNREFUSED, ETIMEDOUT, EPROTO, EIO...). */
    static final class AttachFailed extends java.io.IOException {
        private static final long serialVersionUID = 1L;
        private final int errno;

        AttachFailed(String why, int errno) {
            super(why);
            this.errno = errno;
        }

        int errno() {
            return errno;
        }
    }

    /** Hears when the controller goes and when one is ready again. Called on the admin queue's reactor. */
    interface ControllerListener {
        /** The controller is gone or being reset: stop using its IO queues; fail their commands with {@code errno}. */
        void controllerLost(String why, int errno);

        /** A controller (a new one after a loss) is enabled and ready for IO queues. */
        void controllerReady(int cntlid);

        /**
         * The controller was lost for longer than {@code ctrlr_loss_timeout_ms}: the admin queue
         * gave up and will not reconnect. Heard once, after {@link #controllerLost}.
         */
        void controllerGone(String why);
    }

    /** Where the admin queue is in its life. */
    enum Phase {
        /** Transport connect and ICReq. */
        CONNECTING,
        /** Fabrics Connect, CAP, CC.EN=1, CSTS.RDY polled, Identify, Set Features. */
        ASSOCIATING,
        /** The controller is ready; keep-alive runs. */
        LIVE,
        /** A reset: CC.EN=0, CSTS.RDY=0 polled, Disconnect. */
        DISABLING,
        /** Lost: waiting out the backoff before the next association. */
        BACKOFF,
        /** Lost for good (past {@code ctrlr_loss_timeout_ms}): no more associations; waits for close. */
        GONE,
        /** Closing: Disconnect sent, the connection ends. */
        CLOSING,
        /** Done. */
        CLOSED
    }

    private final NvmfUri uri;
    private final Reactor reactor;
    private final TcpConnection conn;
    private final AdminCommands commands;
    private final long[] entered = new long[Phase.values().length];
    /** Deadline of each admin command: the larger of io_timeout_ms and connect_timeout_ms. */
    private final long ioTimeoutNanos;
    private final CompletableFuture<RemoteController> attached = new CompletableFuture<>();
    private final CompletableFuture<Void> closed = new CompletableFuture<>();
    private volatile RemoteController controller;
    private volatile Phase phase = Phase.CLOSED;
    private volatile boolean live;
    private ControllerListener listener;
    private int cntlid;
    private long capTimeoutNanos;
    private int mqes;
    private long backoffNanos = MIN_BACKOFF_NANOS;
    private long keepAliveTimer = -1;
    private long attachTimer = -1;
    private long backoffTimer = -1;
    /** The {@code ctrlr_loss_timeout_ms} deadline, from a loss until a controller is ready again. */
    private long lossTimer = -1;
    private long cstsPolls;
    private String lossReason;
    private boolean resetPending;

    private AdminQueue(NvmfUri uri, Reactor reactor) {
        this.uri = uri;
        this.reactor = reactor;
        // Admin commands wait at least as long as an association may take: a short IO timeout
        // must not make a busy machine's attach or reset fail (Linux keeps them apart too).
        this.ioTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(Math.max(uri.ioTimeoutMillis(), uri.connectTimeoutMillis()));
        this.conn = new TcpConnection(reactor, uri.host(), uri.port(), RECV_BYTES, SEND_BYTES, SEND_IOVS, this);
        this.commands = new AdminCommands(reactor, conn);
    }

    /**
     * Attaches on {@code reactor}: the future completes with the controller's limits once the
     * first association is LIVE, or fails (with the reason, and nothing left open) at the
     * first error or at {@code connect_timeout_ms}. Any thread.
     */
    static CompletableFuture<AdminQueue> attach(NvmfUri uri, Reactor reactor) {
        CompletableFuture<AdminQueue> result = new CompletableFuture<>();
        try {
            reactor.execute(() -> {
                AdminQueue a;
                try {
                    a = new AdminQueue(uri, reactor);
                } catch (RuntimeException e) {
                    result.completeExceptionally(e);
                    return;
                }
                a.attached.whenComplete((c, t) -> {
                    if (t == null) {
                        result.complete(a);
                    } else {
                        result.completeExceptionally(t);
                    }
                });
                a.associate();
            });
        } catch (RejectedExecutionException e) {
            result.completeExceptionally(new java.io.IOException("the admin queue's reactor is closed", e));
        }
        return result;
    }

    RemoteController controller() {
        return controller;
    }

    NvmfUri uri() {
        return uri;
    }

    Reactor reactor() {
        return reactor;
    }

    /** Whether the admin queue has a live controller now. Any thread. */
    boolean live() {
        return live;
    }

    Phase phase() {
        return phase;
    }

    long entered(Phase p) {
        return entered[p.ordinal()];
    }

    /** CSTS reads made so far (bounded per enable or disable by CAP.TO). */
    long cstsPolls() {
        return cstsPolls;
    }

    TcpConnection connection() {
        return conn;
    }

    /** Set once, on the reactor, right after attach. */
    void listener(ControllerListener l) {
        listener = l;
    }

    private void setPhase(Phase p) {
        phase = p;
        entered[p.ordinal()]++;
        live = p == Phase.LIVE;
    }

    // ---------------------------------------------------------------- association

    /** Starts an association, with {@code connect_timeout_ms} for all of it. */
    private void associate() {
        setPhase(Phase.CONNECTING);
        if (attachTimer >= 0) {
            reactor.cancelTimer(attachTimer);
        }
        attachTimer = reactor.scheduleTimer(TimeUnit.MILLISECONDS.toNanos(uri.connectTimeoutMillis()), () -> {
            attachTimer = -1;
            if (phase == Phase.CONNECTING || phase == Phase.ASSOCIATING) {
                conn.fail(silence() + " within connect_timeout_ms=" + uri.connectTimeoutMillis(), Errno.ETIMEDOUT);
            }
        });
        conn.connect(uri.headerDigest(), uri.dataDigest());
    }

    /** What an attach that timed out was waiting for, naming the address, for the person reading it. */
    private String silence() {
        String at = uri.host() + ":" + uri.port();
        return switch (conn.state()) {
            case CONNECTING -> "no TCP connection to " + at;
            case AWAIT_ICRESP -> at + " accepted the connection but sent no ICResp (is it an NVMe/TCP target?)";
            default -> "no ready controller for " + uri.nqn() + " at " + at + " (" + phase + ")";
        };
    }

    @Override
    public void onReady() {
        setPhase(Phase.ASSOCIATING);
        byte[] data = new byte[ConnectData.SIZE];
        // Dynamic controller model: any controller (fabrics 1.1 §3.3.1).
        ConnectData.write(MemorySegment.ofArray(data), 0, null, ConnectCommand.CNTLID_DYNAMIC, uri.nqn(), uri.hostNqn());
        send("Connect", (s, sqe, cid) -> ConnectCommand.write(s, sqe, cid, 0, AdminCommands.QUEUE_SIZE, 0,
                uri.keepAliveMillis()), data, 0, (status, dw, unused, why) -> {
                    if (status != NvmeStatus.SUCCESS) {
                        refused("the target refused the admin connect to " + uri.nqn(), status, why);
                        return;
                    }
                    cntlid = ConnectCommand.cntlid((int) dw);
                    readCap();
                });
    }

    private void readCap() {
        propertyGet("read CAP", ControllerRegisters.CAP, true, cap -> {
            mqes = ControllerRegisters.maxQueueEntries(cap) - 1;
            capTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(Math.max(ControllerRegisters.CAP_TO_UNIT_MILLIS,
                    ControllerRegisters.readyTimeoutMillis(cap)));
            setEnabled(true, discovery() ? this::discoveryReady : this::identifyController);
        });
    }

    /** Writes CC.EN, then polls CSTS.RDY on a timer until it follows, for at most CAP.TO. */
    private void setEnabled(boolean enable, Runnable then) {
        String what = enable ? "enable the controller" : "disable the controller";
        long deadline = reactor.nanoTime() + capTimeoutNanos;
        // CC.EN with 64-byte SQ and 16-byte CQ entries (IOSQES 6, IOCQES 4).
        int cc = enable ? ControllerRegisters.CC_ENABLE : ControllerRegisters.CC_ENABLE & ~ControllerRegisters.CC_EN;
        send(what, (s, sqe, cid) -> PropertyCommand.writeSet(s, sqe, cid, ControllerRegisters.CC, cc), null, 0,
                (status, dw, d, why) -> {
                    if (status != NvmeStatus.SUCCESS) {
                        refused("could not " + what, status, why);
                        return;
                    }
                    pollReady(enable, deadline, FIRST_CSTS_POLL_NANOS, then);
                });
    }

    private void pollReady(boolean enable, long deadline, long interval, Runnable then) {
        cstsPolls++;
        propertyGet("read CSTS", ControllerRegisters.CSTS, false, value -> {
            int csts = (int) value;
            if (ControllerRegisters.fatal(csts) && enable) {
                conn.fail("the controller of " + uri.nqn() + " reports a fatal status (CSTS.CFS) after CC.EN was set",
                        Errno.EIO);
                return;
            }
            if (ControllerRegisters.ready(csts) == enable) {
                then.run();
                return;
            }
            long now = reactor.nanoTime();
            if (now - deadline > 0) {
                conn.fail("CSTS.RDY of the controller of " + uri.nqn() + " stayed " + (enable ? 0 : 1) + " for CAP.TO ("
                        + TimeUnit.NANOSECONDS.toMillis(capTimeoutNanos) + " ms) after CC.EN was "
                        + (enable ? "set" : "cleared"), Errno.ETIMEDOUT);
                return;
            }
            reactor.scheduleTimer(Math.min(interval, deadline - now), () -> {
                if (conn.state() == TcpConnection.State.READY) {
                    pollReady(enable, deadline, Math.min(MAX_CSTS_POLL_NANOS, interval * 2), then);
                }
            });
        });
    }

    private boolean discovery() {
        return NvmeOpcodes.DISCOVERY_NQN.equals(uri.nqn());
    }

    /** A discovery controller is ready once enabled: no namespace to identify, no IO queues to ask for. */
    private void discoveryReady() {
        becomeLive(new RemoteController(cntlid, 0, 0, 0, 0, 0, mqes + 1));
    }

    private void identifyController() {
        send("identify the controller", (s, sqe, cid) -> IdentifyCommand.write(s, sqe, cid,
                IdentifyCommand.CNS_CONTROLLER, 0), null, IdentifyCommand.DATA_SIZE, (status, dw, data, why) -> {
                    if (status != NvmeStatus.SUCCESS) {
                        refused("could not identify the controller", status, why);
                        return;
                    }
                    int[] limits;
                    try {
                        limits = RemoteController.checkController(data, cntlid);
                    } catch (RemoteController.Invalid e) {
                        invalid(e);
                        return;
                    }
                    identifyNamespace(limits[0], limits[1]);
                });
    }

    private void identifyNamespace(int maxTransfer, int inCapsule) {
        send("identify namespace " + uri.nsid(), (s, sqe, cid) -> IdentifyCommand.write(s, sqe, cid,
                IdentifyCommand.CNS_NAMESPACE, Integer.toUnsignedLong(uri.nsid())), null, IdentifyCommand.DATA_SIZE,
                (status, dw, data, why) -> {
                    if (status != NvmeStatus.SUCCESS) {
                        refused("could not identify namespace " + uri.nsid(), status, why);
                        return;
                    }
                    long[] ns;
                    try {
                        ns = RemoteController.checkNamespace(data, uri.nsid());
                    } catch (RemoteController.Invalid e) {
                        invalid(e);
                        return;
                    }
                    setQueues(maxTransfer, inCapsule, (int) ns[0], ns[1]);
                });
    }

    private void setQueues(int maxTransfer, int inCapsule, int blockSize, long blocks) {
        int wanted = Features.queues(IO_QUEUES_WANTED, IO_QUEUES_WANTED);
        send("set the number of queues", (s, sqe, cid) -> Features.writeSet(s, sqe, cid, Features.FID_NUMBER_OF_QUEUES,
                wanted), null, 0, (status, dw, d, why) -> {
                    if (status != NvmeStatus.SUCCESS) {
                        refused("could not set the number of queues", status, why);
                        return;
                    }
                    int granted = Math.min(Features.submissionQueues((int) dw), Features.completionQueues((int) dw));
                    RemoteController c = new RemoteController(cntlid, maxTransfer, inCapsule,
                            Math.min(granted, IO_QUEUES_WANTED), blocks, blockSize, mqes + 1);
                    RemoteController old = controller;
                    // A namespace that grew (a replica resized) is taken; any other change is not the same device.
                    if (old != null && (old.blockSize() != blockSize || old.blocks() > blocks)) {
                        conn.fail("namespace " + uri.nsid() + " of " + uri.nqn() + " changed from " + old.blocks() + " x "
                                + old.blockSize() + " B to " + blocks + " x " + blockSize + " B", Errno.EIO);
                        return;
                    }
                    becomeLive(c);
                });
    }

    private void becomeLive(RemoteController c) {
        controller = c;
        setPhase(Phase.LIVE);
        backoffNanos = MIN_BACKOFF_NANOS;
        if (attachTimer >= 0) {
            reactor.cancelTimer(attachTimer);
            attachTimer = -1;
        }
        cancelLossTimer();
        scheduleKeepAlive();
        if (!attached.isDone()) {
            attached.complete(c);
        } else {
            LOG.log(System.Logger.Level.INFO, "controller {0} of {1} is ready", c.cntlid(), uri.nqn());
            if (listener != null) {
                listener.controllerReady(c.cntlid());
            }
        }
        if (resetPending) {
            resetPending = false;
            reset(lossReason);
        }
    }

    private void refused(String what, int status, String why) {
        if (status < 0) {
            return;     // the connection is already failing, with its own reason
        }
        conn.fail(what + ": " + NvmeStatus.describe(status), Errno.EIO);
    }

    private void invalid(RemoteController.Invalid e) {
        conn.protocolError("the controller of " + uri.nqn() + " sent an unusable Identify: " + e.getMessage());
    }

    // ---------------------------------------------------------------- keep-alive, abort, reset

    private void scheduleKeepAlive() {
        long period = TimeUnit.MILLISECONDS.toNanos(Math.max(100, uri.keepAliveMillis() / 2));
        keepAliveTimer = reactor.scheduleTimer(period, () -> {
            keepAliveTimer = -1;
            if (phase == Phase.LIVE) {
                keepAlive();
                scheduleKeepAlive();
            }
        });
    }

    private void keepAlive() {
        send("keep alive", AdminCommand::writeKeepAlive, null, 0, (status, dw, d, why) -> {
            if (status > 0) {
                refused("keep alive", status, why);
            }
        });
    }

    /**
     * Asks the controller to abort command {@code cid} of queue {@code qid} (NVMe base 2.0
     * §5.1); the IO queue decides what happens if it still does not complete. An Abort that
     * gets no reply in time ends the connection, and so resets the controller. Any thread.
     */
    void abortAsync(int qid, int cid) {
        onReactor(() -> {
            if (phase != Phase.LIVE) {
                return;
            }
            send("abort", (s, sqe, acid) -> AdminCommand.writeAbort(s, sqe, acid, qid, cid), null, 0,
                    (status, dw, d, why) -> LOG.log(System.Logger.Level.INFO,
                            "abort of command {0} on queue {1} of {2}: {3}", cid, qid, uri.nqn(),
                            status == NvmeStatus.SUCCESS && (dw & AdminCommand.ABORT_NOT_ABORTED) == 0 ? "aborted"
                                    : status < 0 ? why : "not aborted"));
        });
    }

    /** Resets the controller (see the class comment); requests while one is under way join it. Any thread. */
    void resetAsync(String why) {
        onReactor(() -> reset(why));
    }

    private void reset(String why) {
        switch (phase) {
            case LIVE -> {
                LOG.log(System.Logger.Level.WARNING, "resetting controller {0} of {1}: {2}", cntlid, uri.nqn(), why);
                lost(why, Errno.ETIMEDOUT);
                setPhase(Phase.DISABLING);
                setEnabled(false, () -> send("disconnect", AdminQueue::writeDisconnect, null, 0,
                        (status, dw, d, w) -> conn.fail("reset: " + why, Errno.ETIMEDOUT)));
            }
            case CONNECTING, ASSOCIATING -> {
                resetPending = true;
                lossReason = why;
            }
            default -> {
                // disabling already, waiting to reconnect, or closing: nothing more to do
            }
        }
    }

    /** An IO queue was refused: check the controller now rather than at the next keep-alive. Any thread. */
    /**
     * Identifies the namespace again and takes its new size, if it grew; the block count after.
     * Any thread. A controller that is not live, or a namespace that shrank or changed its block
     * size, fails the future and changes nothing.
     */
    java.util.concurrent.CompletableFuture<Long> rescanAsync() {
        java.util.concurrent.CompletableFuture<Long> f = new java.util.concurrent.CompletableFuture<>();
        onReactor(() -> {
            if (phase != Phase.LIVE) {
                f.completeExceptionally(new java.io.IOException("controller of " + uri.nqn() + " is " + phase));
                return;
            }
            boolean sent = send("identify namespace " + uri.nsid(), (s, sqe, cid) -> IdentifyCommand.write(s, sqe, cid,
                    IdentifyCommand.CNS_NAMESPACE, Integer.toUnsignedLong(uri.nsid())), null, IdentifyCommand.DATA_SIZE,
                    (status, dw, data, why) -> {
                        RemoteController c = controller;
                        if (status != NvmeStatus.SUCCESS || c == null) {
                            f.completeExceptionally(new java.io.IOException("identify namespace " + uri.nsid() + " of "
                                    + uri.nqn() + ": " + (status < 0 ? why : NvmeStatus.describe(status))));
                            return;
                        }
                        long[] ns;
                        try {
                            ns = RemoteController.checkNamespace(data, uri.nsid());
                        } catch (RemoteController.Invalid e) {
                            f.completeExceptionally(new java.io.IOException(e.getMessage()));
                            return;
                        }
                        if (ns[0] != c.blockSize() || ns[1] < c.blocks()) {
                            f.completeExceptionally(new java.io.IOException("namespace " + uri.nsid() + " of " + uri.nqn()
                                    + " is now " + ns[1] + " x " + ns[0] + " B, was " + c.blocks() + " x " + c.blockSize()
                                    + " B: it may only grow"));
                            return;
                        }
                        controller = new RemoteController(c.cntlid(), c.maxTransfer(), c.inCapsuleBytes(), c.ioQueues(),
                                ns[1], c.blockSize(), c.maxQueueEntries());
                        f.complete(ns[1]);
                    });
            if (!sent) {
                f.completeExceptionally(new java.io.IOException("identify namespace " + uri.nsid() + ": not sent"));
            }
        });
        return f;
    }

    void checkAsync() {
        onReactor(() -> {
            if (phase == Phase.LIVE) {
                keepAlive();
            } else if (phase == Phase.BACKOFF) {
                if (backoffTimer >= 0) {
                    reactor.cancelTimer(backoffTimer);
                    backoffTimer = -1;
                }
                associate();
            }
        });
    }

    private void lost(String why, int errno) {
        if (lossTimer < 0 && uri.ctrlrLossTimeoutMillis() > 0) {
            long limit = TimeUnit.MILLISECONDS.toNanos(uri.ctrlrLossTimeoutMillis());
            lossTimer = reactor.scheduleTimer(limit, () -> {
                lossTimer = -1;
                giveUp("controller of " + uri.nqn() + " at " + uri.host() + ":" + uri.port() + " lost for more than"
                        + " ctrlr_loss_timeout_ms=" + uri.ctrlrLossTimeoutMillis() + " (first: " + why + ")");
            });
        }
        if (listener != null) {
            listener.controllerLost(why, errno);
        }
    }

    private void cancelLossTimer() {
        if (lossTimer >= 0) {
            reactor.cancelTimer(lossTimer);
            lossTimer = -1;
        }
    }

    /** Past the loss timeout: stop reconnecting and tell the listener the controller is gone for good. */
    private void giveUp(String why) {
        if (phase == Phase.LIVE || phase == Phase.GONE || phase == Phase.CLOSING || phase == Phase.CLOSED) {
            return;
        }
        LOG.log(System.Logger.Level.WARNING, "giving up: {0}", why);
        if (backoffTimer >= 0) {
            reactor.cancelTimer(backoffTimer);
            backoffTimer = -1;
        }
        if (attachTimer >= 0) {
            reactor.cancelTimer(attachTimer);
            attachTimer = -1;
        }
        resetPending = false;
        setPhase(Phase.GONE);
        if (conn.state() != TcpConnection.State.CLOSED) {
            conn.fail(why, Errno.ENODEV);     // an association under way ends; onClosed stays GONE
        }
        if (listener != null) {
            listener.controllerGone(why);
        }
    }

    // ---------------------------------------------------------------- the connection

    @Override
    public boolean onPdu(int type, int flags, MemorySegment pdu, long base, int dataOffset, int dataLength,
                         boolean dataIntact) {
        switch (type) {
            case CAPSULE_RESP -> commands.onCapsuleResp(pdu, base);
            case C2H_TERM_REQ -> conn.fail("the target terminated the admin queue (FES " + u16(pdu, base + FES_OFFSET)
                    + ")", Errno.EIO);
            default -> conn.protocolError("PDU type " + type + " on an admin queue");   // R2T: we write no data by R2T
        }
        return true;
    }

    @Override
    public boolean onDataStart(int type, int flags, MemorySegment pdu, long base) {
        return commands.onDataStart(flags, pdu, base);
    }

    @Override
    public void onData(MemorySegment from, long at, int length) {
        commands.onData(from, at, length);
    }

    @Override
    public void onDataEnd(int flags, boolean intact) {
        if (!intact) {
            conn.protocolError("data digest error");
            return;
        }
        commands.onDataEnd(flags);
    }

    @Override
    public void onSent(int side) {
        // admin commands go one at a time (each waits for its reply); nothing waits for room
    }

    @Override
    public void onClosed(String why, int errno) {
        commands.failAll(why);
        if (keepAliveTimer >= 0) {
            reactor.cancelTimer(keepAliveTimer);
            keepAliveTimer = -1;
        }
        Phase was = phase;
        if (was == Phase.CLOSING || was == Phase.CLOSED) {
            finishClose();
            return;
        }
        if (was == Phase.GONE) {
            return;     // given up: no more associations; closeAsync finishes
        }
        if (!attached.isDone()) {
            if (attachTimer >= 0) {
                reactor.cancelTimer(attachTimer);
                attachTimer = -1;
            }
            setPhase(Phase.CLOSED);
            conn.release();
            attached.completeExceptionally(new AttachFailed(why, errno));
            return;
        }
        if (was == Phase.LIVE) {
            LOG.log(System.Logger.Level.WARNING, "admin queue to {0} failed ({1}); reconnecting", uri.nqn(), why);
            // A keep-alive or admin command that got no reply is a timeout, and the IO it fails says so.
            lost("admin queue failed: " + why, errno == 0 ? Errno.EIO : errno);
        }
        if (was == Phase.DISABLING) {
            // The reset's end: a new association at once.
            associate();
            return;
        }
        LOG.log(System.Logger.Level.INFO, "no controller for {0} ({1}); next try in {2} ms", uri.nqn(), why,
                TimeUnit.NANOSECONDS.toMillis(backoffNanos));
        setPhase(Phase.BACKOFF);
        long delay = backoffNanos;
        backoffNanos = Math.min(MAX_BACKOFF_NANOS, backoffNanos * 2);
        backoffTimer = reactor.scheduleTimer(delay, () -> {
            backoffTimer = -1;
            if (phase == Phase.BACKOFF) {
                associate();
            }
        });
    }

    /** A fabrics Disconnect (fabrics 1.1 §3.3.2): on the admin queue it ends the association. */
    static void writeDisconnect(MemorySegment s, long sqe, int cid) {
        NvmeCommand.begin(s, sqe, NvmeOpcodes.FABRICS, cid);
        NvmeCommand.fctype(s, sqe, NvmeOpcodes.FCTYPE_DISCONNECT);
    }

    private boolean send(String name, AdminCommands.Sqe sqe, byte[] inCapsule, int dataIn, AdminCommands.Reply reply) {
        if (commands.send(name, sqe, inCapsule, dataIn, ioTimeoutNanos, reply)) {
            return true;
        }
        if (conn.state() == TcpConnection.State.READY) {
            conn.fail("no room on the admin queue for " + name, Errno.EAGAIN);
        }
        return false;
    }

    private void propertyGet(String name, int offset, boolean eightBytes, java.util.function.LongConsumer then) {
        send(name, (s, sqe, cid) -> PropertyCommand.writeGet(s, sqe, cid, offset, eightBytes), null, 0,
                (status, dw, d, why) -> {
                    if (status != NvmeStatus.SUCCESS) {
                        refused("could not " + name, status, why);
                        return;
                    }
                    then.accept(eightBytes ? dw : dw & 0xFFFFFFFFL);
                });
    }

    /**
     * Reads {@code length} bytes of log page {@code lid} from byte {@code offset} (Get Log Page,
     * NVMe base 2.0 §5.16); fails with the reason when the controller is not live, refuses, or
     * the connection ends first. Any thread.
     */
    CompletableFuture<byte[]> getLogPageAsync(int lid, long offset, int length) {
        CompletableFuture<byte[]> page = new CompletableFuture<>();
        String name = "get log page 0x" + Integer.toHexString(lid);
        try {
            reactor.execute(() -> {
                if (phase != Phase.LIVE) {
                    page.completeExceptionally(new java.io.IOException(name + ": the controller is " + phase));
                    return;
                }
                boolean sent = send(name, (s, sqe, cid) -> LogPage.write(s, sqe, cid, lid, 0, offset, length), null,
                        length, (status, dw, data, why) -> {
                            if (status == NvmeStatus.SUCCESS) {
                                page.complete(data);
                            } else {
                                page.completeExceptionally(new java.io.IOException(name + ": "
                                        + (status < 0 ? why : NvmeStatus.describe(status))));
                            }
                        });
                if (!sent) {
                    page.completeExceptionally(new java.io.IOException(name + ": no room on the admin queue"));
                }
            });
        } catch (RejectedExecutionException e) {
            page.completeExceptionally(new java.io.IOException("the admin queue's reactor is closed", e));
        }
        return page;
    }

    // ---------------------------------------------------------------- close

    /**
     * Disconnects (ending the controller) and closes; completes when the connection is
     * closed. Any thread.
     */
    CompletableFuture<Void> closeAsync() {
        onReactor(() -> {
            if (phase == Phase.CLOSING || phase == Phase.CLOSED) {
                return;
            }
            if (backoffTimer >= 0) {
                reactor.cancelTimer(backoffTimer);
                backoffTimer = -1;
            }
            cancelLossTimer();
            boolean wasLive = phase == Phase.LIVE;
            setPhase(Phase.CLOSING);
            if (conn.state() == TcpConnection.State.CLOSED) {
                finishClose();
                return;
            }
            if (wasLive && send("disconnect", AdminQueue::writeDisconnect, null, 0,
                    (status, dw, d, why) -> conn.fail("closed", 0))) {
                reactor.scheduleTimer(DISCONNECT_WAIT_NANOS, () -> conn.fail("closed", 0));
            } else {
                conn.fail("closed", 0);
            }
        });
        return closed;
    }

    private void finishClose() {
        if (attachTimer >= 0) {
            reactor.cancelTimer(attachTimer);
            attachTimer = -1;
        }
        setPhase(Phase.CLOSED);
        conn.release();
        attached.completeExceptionally(new java.io.IOException("closed while attaching"));
        closed.complete(null);
    }

    private void onReactor(Runnable r) {
        try {
            reactor.execute(r);
        } catch (RejectedExecutionException e) {
            // the reactor is closing; the connection goes with it
            closed.complete(null);
        }
    }
}
