package io.panastor.engine.nvmf.host;

import static io.panastor.engine.nvmf.proto.TcpPdu.*;

import io.panastor.engine.nvmf.proto.NvmeOpcodes;
import io.panastor.natives.Errno;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.zip.CRC32C;

/**
 * The admin queue of a remote controller, on the control path: a blocking socket, one
 * command at a time. It connects, enables the controller, learns its limits and the
 * namespace's geometry, asks for IO queues, and sends Keep Alive at half the timeout from
 * its own thread. When that fails, when an Abort fails, or when a reset is asked for, the
 * controller is reset: the {@link ControllerListener} hears that it is lost (IO queues
 * stop), the controller is disabled (CC.EN 1→0, waiting for CSTS.RDY 0) and disconnected
 * when it still answers, and a new association is made — at once, then with backoff — after
 * which the listener hears that a controller is ready (IO queues reconnect to it).
 *
 * <p>Thread-safety: any thread; commands are serialised.
 */
final class AdminConnection implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(AdminConnection.class.getName());
    static final int ADMIN_QUEUE_SIZE = 32;
    static final int IO_QUEUES_WANTED = 64;
    static final long MAX_BACKOFF_MILLIS = 5_000;

    /** What the controller and namespace are like. */
    record Geometry(int cntlid, int maxTransfer, int inCapsuleBytes, int maxH2CData, int ioQueues, long blocks,
                    int blockSize) {
    }

    /** Hears when the controller goes and when one is ready again. Called from the admin thread. */
    interface ControllerListener {
        /** The controller is gone or being reset: stop using its IO queues; fail their commands with {@code errno}. */
        void controllerLost(String why, int errno);

        /** A controller (a new one after a loss) is enabled and ready for IO queues. */
        void controllerReady(int cntlid);
    }

    private static final ControllerListener NO_LISTENER = new ControllerListener() {
        @Override
        public void controllerLost(String why, int errno) {
        }

        @Override
        public void controllerReady(int cntlid) {
        }
    };

    private final NvmfUri uri;
    private final ScheduledExecutorService keepAlive;
    private SocketChannel channel;
    private boolean headerDigest;
    private boolean dataDigest;
    private int nextCid;
    private volatile Geometry geometry;
    private volatile boolean closed;
    private volatile boolean connected;
    private volatile ControllerListener listener = NO_LISTENER;
    private final AtomicBoolean resetQueued = new AtomicBoolean();
    private final AtomicBoolean retryQueued = new AtomicBoolean();
    private long backoffMillis = 100;

    private AdminConnection(NvmfUri uri) {
        this.uri = uri;
        this.keepAlive = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon(true)
                .name("nvmf-admin " + uri.nqn()).unstarted(r));
    }

    /** Connects and sets up the controller; throws with the reason when the target refuses. */
    static AdminConnection open(NvmfUri uri) throws IOException {
        AdminConnection a = new AdminConnection(uri);
        try {
            a.connect();
        } catch (IOException | RuntimeException e) {
            a.close();
            throw e;
        }
        long period = Math.max(100, uri.keepAliveMillis() / 2);
        a.keepAlive.scheduleWithFixedDelay(a::keepAlive, period, period, TimeUnit.MILLISECONDS);
        return a;
    }

    Geometry geometry() {
        return geometry;
    }

    void listener(ControllerListener l) {
        listener = l;
    }

    /** Whether the admin queue has a live controller now. */
    boolean connected() {
        return connected;
    }

    NvmfUri uri() {
        return uri;
    }

    private synchronized void connect() throws IOException {
        SocketChannel ch = SocketChannel.open();
        try {
            ch.socket().connect(new InetSocketAddress(uri.host(), uri.port()), uri.ioTimeoutMillis());
            ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
            ch.socket().setSoTimeout(uri.ioTimeoutMillis());
        } catch (IOException e) {
            ch.close();
            throw new IOException("cannot reach " + uri.host() + ":" + uri.port() + ": " + e.getMessage(), e);
        }
        channel = ch;
        headerDigest = false;
        dataDigest = false;
        ByteBuffer ic = le(IC_LENGTH);
        ic.put(0, (byte) ICREQ).put(2, (byte) IC_LENGTH).putInt(4, IC_LENGTH);
        ic.put(11, (byte) ((uri.headerDigest() ? DGST_HDGST : 0) | (uri.dataDigest() ? DGST_DDGST : 0)));
        send(ic.array());
        ByteBuffer resp = readPdu();
        if (resp.get(0) != ICRESP) {
            throw new IOException("expected ICResp from " + uri.host() + ", got PDU type " + resp.get(0));
        }
        headerDigest = (resp.get(11) & DGST_HDGST) != 0;
        dataDigest = (resp.get(11) & DGST_DDGST) != 0;
        int maxH2C = resp.getInt(12);

        byte[] data = new byte[1024];
        ByteBuffer d = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        d.putShort(16, (short) 0xFFFF);
        byte[] sub = uri.nqn().getBytes(StandardCharsets.US_ASCII);
        byte[] host = uri.hostNqn().getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(sub, 0, data, 256, Math.min(255, sub.length));
        System.arraycopy(host, 0, data, 512, Math.min(255, host.length));
        ByteBuffer connect = sqe(NvmeOpcodes.FABRICS, 0);
        connect.put(4, (byte) NvmeOpcodes.FCTYPE_CONNECT).putShort(44, (short) (ADMIN_QUEUE_SIZE - 1))
                .putInt(48, uri.keepAliveMillis());
        Reply r = command(connect, data, 0);
        if (r.status != 0) {
            throw new IOException("the target refused the admin connect to " + uri.nqn() + ": " + describe(r));
        }
        int cntlid = r.dw0 & 0xFFFF;
        setEnabled(true, TimeUnit.SECONDS.toNanos(10));
        ByteBuffer idc = sqe(NvmeOpcodes.ADMIN_IDENTIFY, 0);
        idc.putInt(40, NvmeOpcodes.CNS_CONTROLLER);
        ByteBuffer ctrl = ByteBuffer.wrap(check(command(idc, null, 4096), "identify the controller").data)
                .order(ByteOrder.LITTLE_ENDIAN);
        int mdts = ctrl.get(77) & 0xFF;
        int maxTransfer = mdts == 0 ? 1 << 20 : Math.min(1 << 20, 4096 << mdts);
        int inCapsule = Math.max(0, ctrl.getInt(1792) * 16 - 64);
        ByteBuffer idn = sqe(NvmeOpcodes.ADMIN_IDENTIFY, uri.nsid());
        idn.putInt(40, NvmeOpcodes.CNS_NAMESPACE);
        ByteBuffer ns = ByteBuffer.wrap(check(command(idn, null, 4096), "identify namespace " + uri.nsid()).data)
                .order(ByteOrder.LITTLE_ENDIAN);
        long blocks = ns.getLong(0);
        if (blocks == 0) {
            throw new IOException(uri.nqn() + " has no namespace " + uri.nsid());
        }
        int lbads = (ns.getInt(128 + 4 * (ns.get(26) & 0xF)) >>> 16) & 0xFF;
        ByteBuffer queues = sqe(NvmeOpcodes.ADMIN_SET_FEATURES, 0);
        queues.putInt(40, NvmeOpcodes.FEAT_NUMBER_OF_QUEUES)
                .putInt(44, ((IO_QUEUES_WANTED - 1) << 16) | (IO_QUEUES_WANTED - 1));
        Reply q = check(command(queues, null, 0), "set the number of queues");
        int granted = Math.min(q.dw0 & 0xFFFF, q.dw0 >>> 16) + 1;
        geometry = new Geometry(cntlid, maxTransfer, inCapsule, maxH2C, granted, blocks, 1 << lbads);
        backoffMillis = 100;
        connected = true;
    }

    /**
     * Resets the controller from the admin thread (see the class comment). Requests made while
     * one is queued join it. Any thread.
     */
    void resetAsync(String why) {
        if (closed || !resetQueued.compareAndSet(false, true)) {
            return;
        }
        try {
            keepAlive.execute(() -> {
                resetQueued.set(false);
                reset(why);
            });
        } catch (RejectedExecutionException e) {
            resetQueued.set(false);     // closing
        }
    }

    /** On the admin thread. */
    private void reset(String why) {
        if (closed) {
            return;
        }
        Geometry old = geometry;
        LOG.log(System.Logger.Level.WARNING, "resetting controller {0} of {1}: {2}", old.cntlid(), uri.nqn(), why);
        listener.controllerLost(why, Errno.ETIMEDOUT);
        boolean ready = false;
        synchronized (this) {
            if (channel != null) {
                try {
                    disable();
                } catch (IOException | RuntimeException e) {
                    LOG.log(System.Logger.Level.INFO, "controller {0} of {1} did not take the reset ({2}); "
                            + "dropping its connection", old.cntlid(), uri.nqn(), e.getMessage());
                }
            }
            closeChannel();
            try {
                connect();
                ready = true;
                LOG.log(System.Logger.Level.INFO, "controller {0} of {1} replaces controller {2} after the reset",
                        geometry.cntlid(), uri.nqn(), old.cntlid());
            } catch (IOException | RuntimeException e) {
                closeChannel();
                LOG.log(System.Logger.Level.WARNING, "cannot reconnect to {0} after the reset ({1}); retrying",
                        uri.nqn(), e.getMessage());
            }
        }
        if (ready) {
            listener.controllerReady(geometry.cntlid());
        } else {
            retryLater();
        }
    }

    /**
     * Controller Level Reset over fabrics: CC.EN to 0, wait (up to the IO timeout) for
     * CSTS.RDY to follow, then Disconnect the admin queue, which ends the association.
     */
    private void disable() throws IOException {
        setEnabled(false, TimeUnit.MILLISECONDS.toNanos(uri.ioTimeoutMillis()));
        disconnect();
    }

    /**
     * Writes CC.EN (with 64-byte SQ and 16-byte CQ entries) and waits until CSTS.RDY follows,
     * for at most {@code timeoutNanos}.
     */
    private void setEnabled(boolean enable, long timeoutNanos) throws IOException {
        ByteBuffer cc = sqe(NvmeOpcodes.FABRICS, 0);
        cc.put(4, (byte) NvmeOpcodes.FCTYPE_PROPERTY_SET).putInt(44, NvmeOpcodes.PROP_CC)
                .putLong(48, (enable ? 1 : 0) | (6 << 16) | (4 << 20));
        check(command(cc, null, 0), enable ? "enable the controller" : "disable the controller");
        long deadline = System.nanoTime() + timeoutNanos;
        while (true) {
            ByteBuffer csts = sqe(NvmeOpcodes.FABRICS, 0);
            csts.put(4, (byte) NvmeOpcodes.FCTYPE_PROPERTY_GET).putInt(44, NvmeOpcodes.PROP_CSTS);
            Reply s = check(command(csts, null, 0), "read CSTS");
            if (((s.dw0 & 1) == 1) == enable) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("CSTS.RDY of the controller of " + uri.nqn() + " stayed " + (enable ? 0 : 1)
                        + " after CC.EN was " + (enable ? "set" : "cleared"));
            }
            Thread.onSpinWait();
        }
    }

    /** Fabrics Disconnect on the admin queue: the controller ends with it. */
    private void disconnect() throws IOException {
        ByteBuffer d = sqe(NvmeOpcodes.FABRICS, 0);
        d.put(4, (byte) NvmeOpcodes.FCTYPE_DISCONNECT);
        command(d, null, 0);
    }

    /**
     * Asks the controller, from the admin thread, to abort command {@code cid} of queue
     * {@code qid} (NVMe base 2.0 §5.1). Fire and forget: the IO queue decides what happens
     * if the command still does not complete. Any thread.
     */
    void abortAsync(int qid, int cid) {
        if (closed) {
            return;
        }
        keepAlive.execute(() -> {
            try {
                ByteBuffer abort = sqe(NvmeOpcodes.ADMIN_ABORT, 0);
                abort.putInt(40, (cid << 16) | qid);
                Reply r = command(abort, null, 0);
                LOG.log(System.Logger.Level.INFO, "abort of command {0} on queue {1} of {2}: {3}", cid, qid,
                        uri.nqn(), r.status == 0 && (r.dw0 & 1) == 0 ? "aborted" : "not aborted");
            } catch (IOException | RuntimeException e) {
                // The admin queue does not answer either (and a late reply would be read as the
                // next command's): reset the controller.
                reset("abort of command " + cid + " on queue " + qid + " failed: " + e.getMessage());
            }
        });
    }

    private void keepAlive() {
        if (closed) {
            return;
        }
        boolean reconnected = false;
        try {
            synchronized (this) {
                if (channel == null) {
                    connect();
                    reconnected = true;
                    LOG.log(System.Logger.Level.INFO, "reconnected to {0} as controller {1}", uri.nqn(),
                            geometry.cntlid());
                } else {
                    check(command(sqe(NvmeOpcodes.ADMIN_KEEP_ALIVE, 0), null, 0), "keep alive");
                }
            }
            if (reconnected) {
                listener.controllerReady(geometry.cntlid());
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "admin queue to {0} failed ({1}); reconnecting", uri.nqn(),
                    e.getMessage());
            if (connected) {
                listener.controllerLost("admin queue failed: " + e.getMessage(), Errno.EIO);
            }
            synchronized (this) {
                closeChannel();
            }
            retryLater();
        }
    }

    /** Tries to reconnect after the backoff (which then doubles), besides the regular keep-alive ticks. */
    private void retryLater() {
        long delay;
        synchronized (this) {
            delay = backoffMillis;
            backoffMillis = Math.min(MAX_BACKOFF_MILLIS, backoffMillis * 2);
        }
        if (closed || !retryQueued.compareAndSet(false, true)) {
            return;
        }
        try {
            keepAlive.schedule(() -> {
                retryQueued.set(false);
                keepAlive();
            }, delay, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            retryQueued.set(false);     // closing
        }
    }

    /**
     * Checks the controller now rather than at the next keep-alive: an IO queue was refused
     * and the controller may be gone. Any thread.
     */
    void checkAsync() {
        if (closed) {
            return;
        }
        try {
            keepAlive.execute(this::keepAlive);
        } catch (RejectedExecutionException e) {
            // closing
        }
    }

    // ---------------------------------------------------------------- PDUs

    record Reply(int status, int dw0, byte[] data) {
    }

    private static String describe(Reply r) {
        return String.format("status 0x%x (SCT %d, SC 0x%02x)", r.status, (r.status >>> 8) & 7, r.status & 0xFF);
    }

    private Reply check(Reply r, String what) throws IOException {
        if (r.status != 0) {
            throw new IOException("could not " + what + " on " + uri.nqn() + ": " + describe(r));
        }
        return r;
    }

    private static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static ByteBuffer sqe(int opcode, long nsid) {
        ByteBuffer s = le(64);
        s.put(0, (byte) opcode).put(1, (byte) 0x40).putInt(4, (int) nsid);
        return s;
    }

    private static int crc(byte[] a, int off, int len) {
        CRC32C c = new CRC32C();
        c.update(a, off, len);
        return (int) c.getValue();
    }

    private synchronized Reply command(ByteBuffer sqe, byte[] inCapsule, int c2hLength) throws IOException {
        if (channel == null) {
            throw new IOException("not connected");
        }
        int cid = nextCid++ & 0x7FFF;
        sqe.putShort(2, (short) cid);
        int dataLen = inCapsule == null ? 0 : inCapsule.length;
        int length = dataLen > 0 ? dataLen : c2hLength;
        if (length > 0) {
            sqe.putInt(32, length).put(39, (byte) (dataLen > 0 ? 0x01 : 0x5A));
        }
        int hd = headerDigest ? DIGEST_LENGTH : 0;
        int dd = dataLen > 0 && dataDigest ? DIGEST_LENGTH : 0;
        int plen = CAPSULE_CMD_HLEN + hd + dataLen + dd;
        ByteBuffer p = le(plen);
        p.put(0, (byte) CAPSULE_CMD).put(1, (byte) ((hd > 0 ? FLAG_HDGSTF : 0) | (dd > 0 ? FLAG_DDGSTF : 0)))
                .put(2, (byte) CAPSULE_CMD_HLEN).put(3, (byte) (dataLen > 0 ? CAPSULE_CMD_HLEN + hd : 0)).putInt(4, plen);
        p.put(8, sqe.array(), 0, 64);
        if (hd > 0) {
            p.putInt(CAPSULE_CMD_HLEN, crc(p.array(), 0, CAPSULE_CMD_HLEN));
        }
        if (dataLen > 0) {
            p.put(CAPSULE_CMD_HLEN + hd, inCapsule);
            if (dd > 0) {
                p.putInt(CAPSULE_CMD_HLEN + hd + dataLen, crc(inCapsule, 0, dataLen));
            }
        }
        send(p.array());
        byte[] in = c2hLength > 0 ? new byte[c2hLength] : null;
        while (true) {
            ByteBuffer r = readPdu();
            switch (r.get(0)) {
                case CAPSULE_RESP -> {
                    return new Reply((r.getShort(8 + 14) & 0xFFFF) >>> 1, r.getInt(8), in);
                }
                case C2H_DATA -> {
                    int pdo = r.get(3) & 0xFF;
                    int datao = r.getInt(12);
                    int datal = r.getInt(16);
                    if (in == null || datao < 0 || datal < 0 || datao + datal > in.length) {
                        throw new IOException("the target sent data outside the transfer");
                    }
                    if ((r.get(1) & FLAG_DDGSTF) != 0 && crc(r.array(), pdo, datal) != r.getInt(pdo + datal)) {
                        throw new IOException("data digest error on the admin queue");
                    }
                    System.arraycopy(r.array(), pdo, in, datao, datal);
                    if ((r.get(1) & FLAG_SUCCESS) != 0) {
                        return new Reply(0, 0, in);
                    }
                }
                case C2H_TERM_REQ -> throw new IOException("the target terminated the admin queue (FES "
                        + r.getShort(8) + ")");
                default -> throw new IOException("unexpected PDU type " + r.get(0) + " on the admin queue");
            }
        }
    }

    private void send(byte[] bytes) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) {
            channel.write(b);
        }
    }

    private ByteBuffer readPdu() throws IOException {
        var in = channel.socket().getInputStream();
        byte[] h = in.readNBytes(COMMON_HEADER_LENGTH);
        if (h.length < COMMON_HEADER_LENGTH) {
            throw new EOFException("the target closed the admin queue");
        }
        int plen = ByteBuffer.wrap(h).order(ByteOrder.LITTLE_ENDIAN).getInt(4);
        if (plen < COMMON_HEADER_LENGTH || plen > (1 << 20)) {
            throw new IOException("bad PDU length " + plen + " from the target");
        }
        ByteBuffer p = le(plen);
        p.put(h);
        byte[] rest = in.readNBytes(plen - COMMON_HEADER_LENGTH);
        if (rest.length < plen - COMMON_HEADER_LENGTH) {
            throw new EOFException("the target closed the admin queue");
        }
        p.put(rest);
        int hlen = p.get(2) & 0xFF;
        if ((p.get(1) & FLAG_HDGSTF) != 0 && (hlen + DIGEST_LENGTH > plen || crc(p.array(), 0, hlen) != p.getInt(hlen))) {
            throw new IOException("header digest error on the admin queue");
        }
        return p;
    }

    private void closeChannel() {
        SocketChannel ch = channel;
        channel = null;
        connected = false;
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException e) {
                // closing anyway
            }
        }
    }

    /** Disconnects the admin queue (ending the controller) and stops keep-alive. */
    @Override
    public void close() {
        closed = true;
        keepAlive.shutdownNow();
        synchronized (this) {
            if (channel != null) {
                try {
                    disconnect();
                } catch (IOException e) {
                    // the controller goes with the connection anyway
                }
            }
            closeChannel();
        }
    }
}
