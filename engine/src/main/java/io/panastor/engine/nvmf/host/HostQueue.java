package io.panastor.engine.nvmf.host;

import static io.panastor.engine.nvmf.proto.TcpPdu.*;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

import io.panastor.engine.bdev.BdevIo;
import io.panastor.engine.bdev.IoChannel;
import io.panastor.engine.bdev.IoStatus;
import io.panastor.engine.bdev.IoType;
import io.panastor.engine.nvmf.proto.NvmeCommand;
import io.panastor.engine.nvmf.proto.NvmeCompletion;
import io.panastor.engine.nvmf.proto.NvmeOpcodes;
import io.panastor.engine.nvmf.proto.NvmeStatus;
import io.panastor.engine.nvmf.tcp.Crc32cDigest;
import io.panastor.engine.nvmf.tcp.RecvBuffer;
import io.panastor.engine.nvmf.tcp.SendBuffers;
import io.panastor.natives.CompletionHandler;
import io.panastor.natives.Errno;
import io.panastor.natives.IoUring;
import io.panastor.natives.Sockets;
import io.panastor.reactor.Reactor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * One IO queue to a remote controller, owned by one reactor: the initiator's side of a
 * {@code QueuePair}. It connects through the reactor's ring (connect, ICReq, fabrics
 * Connect), then turns bdev IO into NVMe commands: small writes travel in the capsule,
 * larger ones answer the target's R2T with H2CData; reads gather C2HData into the IO's
 * buffers. A command older than the URI's {@code io_timeout_ms} is first aborted through the
 * admin queue; one still outstanding a timeout later resets the controller
 * ({@link NvmfBdev#resetController}): this queue's connection is dropped at once and its
 * commands fail with ETIMEDOUT, every queue of the controller is {@linkplain #suspend
 * suspended}, and each reconnects to the new controller when the admin queue has one,
 * holding new IO (up to its deadline) until then. A transport error on this connection alone
 * only reconnects this queue, with backoff. Closing sends a fabrics Disconnect.
 *
 * <p>Connection states: CONNECTING → AWAIT_ICRESP → AWAIT_CONNECT → READY → (DISCONNECTING);
 * FAILED (waiting to reconnect); CLOSED. Reactor-confined, but for {@link #suspendAsync} and
 * {@link #resumeAsync}.
 */
final class HostQueue extends IoChannel implements CompletionHandler {
    private static final System.Logger LOG = System.getLogger(HostQueue.class.getName());

    enum State {
        CONNECTING,
        AWAIT_ICRESP,
        AWAIT_CONNECT,
        READY,
        /** Closing: a fabrics Disconnect is on its way; the socket goes when it is answered. */
        DISCONNECTING,
        FAILED,
        CLOSED
    }

    static final int QUEUE_DEPTH = 128;
    /** Write payloads from this size up are sent from the IO's buffers rather than copied. */
    static final int GATHER_MIN_BYTES = 1024;
    static final int RECV_BUFFER = 512 * 1024;
    static final int SEND_BUFFER = 512 * 1024;
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
    /** Dataset Management CDW11: deallocate (NVM command set 1.0 §3.2.3). */
    private static final int DSM_DEALLOCATE = 1 << 2;
    private static final int TOKEN_CONNECT = 0;
    private static final int TOKEN_RECV = 1;
    private static final int TOKEN_SEND = 2;

    private final NvmfBdev remote;
    private final IoUring ring;
    private final int qid;
    private final int handlerId;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment sockaddr;
    private final Crc32cDigest crc = new Crc32cDigest();
    private final long timeoutNanos;
    private final int blockSize;

    private final RecvBuffer in;
    /** {@link #in}'s memory and view, named for the parsing code. */
    private final MemorySegment recv;
    private final ByteBuffer recvView;
    private final SendBuffers out;
    private boolean connectInFlight;

    private final BdevIo[] slots = new BdevIo[QUEUE_DEPTH];
    private final long[] deadlines = new long[QUEUE_DEPTH];
    /** Deadline of each submitted IO, by descriptor index (the descriptor's own fields are the submitter's). */
    private final long[] ioDeadlines = new long[DEFAULT_IO_POOL_SIZE];
    /** Whether an Abort was already sent for the command in each CID. */
    private final boolean[] abortSent = new boolean[QUEUE_DEPTH];
    /** The TTAG of the R2T a write answers, by CID. */
    private final int[] ttags = new int[QUEUE_DEPTH];
    private final int[] freeCids = new int[QUEUE_DEPTH];
    private int freeCount;
    private final ArrayDeque<BdevIo> waiting = new ArrayDeque<>(IoChannel.DEFAULT_IO_POOL_SIZE);
    /** Writes whose R2T arrived while the send buffer was full: cid, offset, length. */
    private final ArrayDeque<long[]> pendingR2T = new ArrayDeque<>();

    private int fd = -1;
    private State state = State.CLOSED;
    /** The controller is being reset: do not reconnect until {@link #resume}. */
    private boolean suspended;
    private boolean headerDigest;
    private boolean dataDigest;
    private int maxH2CData;
    private long backoffNanos = MIN_BACKOFF_NANOS;
    private long timeoutTimer = -1;
    private boolean closing;
    /**
     * Sends what the cycle queued: commands submitted by other code during a duty cycle leave
     * together in one send at the next poll, rather than one send each.
     */
    private final io.panastor.reactor.Poller flusher = this::flushQueued;

    HostQueue(NvmfBdev remote, Reactor reactor, int qid) {
        super(remote, reactor, DEFAULT_IO_POOL_SIZE);
        this.remote = remote;
        this.ring = reactor.ring();
        this.qid = qid;
        this.timeoutNanos = TimeUnit.MILLISECONDS.toNanos(remote.remoteUri().ioTimeoutMillis());
        this.blockSize = remote.blockSize();
        this.sockaddr = Sockets.socketAddress(arena, remote.remoteUri().host(), remote.remoteUri().port());
        this.in = new RecvBuffer(arena, RECV_BUFFER, RECV_BUFFER / 2);
        this.recv = in.segment();
        this.recvView = in.view();
        this.out = new SendBuffers(arena, SEND_BUFFER);
        for (int i = 0; i < QUEUE_DEPTH; i++) {
            freeCids[i] = QUEUE_DEPTH - 1 - i;
        }
        freeCount = QUEUE_DEPTH;
        this.handlerId = reactor.registerCompletionHandler(this);
        reactor.addPoller(flusher);
        connect();
        scheduleTimeoutScan();
    }

    State state() {
        return state;
    }

    // ---------------------------------------------------------------- connection

    private void connect() {
        fd = Sockets.socket();
        in.reset();
        out.clearQueued();
        state = State.CONNECTING;
        connectInFlight = ring.prepConnect(fd, sockaddr.address(), (int) sockaddr.byteSize(),
                Reactor.userData(handlerId, TOKEN_CONNECT));
        if (!connectInFlight) {
            fail("no submission slot for the connect", Errno.EAGAIN);
        }
    }

    private void onConnected(int res) {
        connectInFlight = false;
        if (res < 0) {
            fail("connect to " + remote.remoteUri().host() + ":" + remote.remoteUri().port() + " failed: " + Errno.name(-res),
                    -res);
            return;
        }
        Sockets.tune(fd, 0);
        int at = reserve(IC_LENGTH);
        MemorySegment s = out.filling();
        s.asSlice(at, IC_LENGTH).fill((byte) 0);
        header(s, at, ICREQ, 0, IC_LENGTH, 0, IC_LENGTH);
        u8(s, at + DGST_OFFSET, (remote.remoteUri().headerDigest() ? DGST_HDGST : 0)
                | (remote.remoteUri().dataDigest() ? DGST_DDGST : 0));
        headerDigest = false;
        dataDigest = false;
        state = State.AWAIT_ICRESP;
        postRecv();
        flush();
    }

    private void onIcResp(long base) {
        int dgst = u8(recv, base + DGST_OFFSET);
        maxH2CData = (int) Math.min(u32(recv, base + MAXH2CDATA_OFFSET), 1 << 20);
        if (maxH2CData < 4096 || u8(recv, base + CPDA_OFFSET) != 0) {
            fail("the target's ICResp asks for what we do not do (MAXH2CDATA " + maxH2CData + ", CPDA "
                    + u8(recv, base + CPDA_OFFSET) + ")", Errno.EOPNOTSUPP);
            return;
        }
        headerDigest = (dgst & DGST_HDGST) != 0;
        dataDigest = (dgst & DGST_DDGST) != 0;
        // Fabrics Connect for this IO queue, its 1 KiB of data in the capsule.
        int hd = headerDigest ? DIGEST_LENGTH : 0;
        int dd = dataDigest ? DIGEST_LENGTH : 0;
        int plen = CAPSULE_CMD_HLEN + hd + 1024 + dd;
        int at = reserve(plen);
        MemorySegment s = out.filling();
        s.asSlice(at, plen).fill((byte) 0);
        header(s, at, CAPSULE_CMD, (hd > 0 ? FLAG_HDGSTF : 0) | (dd > 0 ? FLAG_DDGSTF : 0), CAPSULE_CMD_HLEN,
                CAPSULE_CMD_HLEN + hd, plen);
        long sqe = at + SQE_OFFSET;
        u8(s, sqe, NvmeOpcodes.FABRICS);
        u8(s, sqe + 1, 0x40);
        u16(s, sqe + 2, CONNECT_CID);
        u8(s, sqe + NvmeCommand.FCTYPE_OFFSET, NvmeOpcodes.FCTYPE_CONNECT);
        u32(s, sqe + NvmeCommand.SGL_LENGTH_OFFSET, 1024);
        u8(s, sqe + NvmeCommand.SGL_ID_OFFSET, NvmeCommand.SGL_IN_CAPSULE);
        u16(s, sqe + 42, qid);
        u16(s, sqe + 44, QUEUE_DEPTH - 1);
        long data = at + CAPSULE_CMD_HLEN + hd;
        u16(s, data + 16, remote.cntlid());
        ascii(s, data + 256, remote.remoteUri().nqn());
        ascii(s, data + 512, remote.remoteUri().hostNqn());
        if (hd > 0) {
            u32(s, at + CAPSULE_CMD_HLEN, Integer.toUnsignedLong(digest(out.fillingView(), at, CAPSULE_CMD_HLEN)));
        }
        if (dd > 0) {
            u32(s, data + 1024, Integer.toUnsignedLong(digest(out.fillingView(), (int) data, 1024)));
        }
        state = State.AWAIT_CONNECT;
    }

    private static void ascii(MemorySegment s, long at, String text) {
        byte[] b = text.getBytes(StandardCharsets.US_ASCII);
        MemorySegment.copy(b, 0, s, java.lang.foreign.ValueLayout.JAVA_BYTE, at, Math.min(255, b.length));
    }

    private void onConnectResponse(int status) {
        if (status != NvmeStatus.SUCCESS) {
            fail(String.format("the target refused IO queue %d (status 0x%x)", qid, status), Errno.EIO);
            // Most likely the controller it named is gone: let the admin queue find out now.
            remote.checkController();
            return;
        }
        state = State.READY;
        backoffNanos = MIN_BACKOFF_NANOS;
        startWaiting();
    }

    /** Drops the connection: in-flight IO fails with {@code errno}; new IO waits for the reconnect. */
    private void fail(String why, int errno) {
        if (state == State.FAILED || state == State.CLOSED) {
            return;
        }
        LOG.log(System.Logger.Level.WARNING, "nvmf {0} qid {1}: {2}", remote.remoteUri().nqn(), qid, why);
        state = State.FAILED;
        if (fd >= 0) {
            Sockets.shutdown(fd);
        }
        pendingR2T.clear();
        for (int cid = 0; cid < QUEUE_DEPTH; cid++) {
            BdevIo io = slots[cid];
            if (io != null) {
                slots[cid] = null;
                freeCids[freeCount++] = cid;
                complete(io, IoStatus.IO_ERROR, errno);
            }
        }
        maybeReconnect();
    }

    /** Once nothing of the old socket is in flight: close it and, unless closing, reconnect after a backoff. */
    private void maybeReconnect() {
        if (in.inFlight() || out.inFlight() || connectInFlight) {
            return;
        }
        if (fd >= 0) {
            Sockets.close(fd);
            fd = -1;
        }
        if (closing) {
            finishRelease();
            return;
        }
        if (state == State.FAILED) {
            state = State.CLOSED;
            if (!suspended) {
                scheduleReconnect();
            }
        }
    }

    private void scheduleReconnect() {
        long delay = backoffNanos;
        backoffNanos = Math.min(MAX_BACKOFF_NANOS, backoffNanos * 2);
        reactor.scheduleTimer(delay, () -> {
            if (!closing && !suspended && state == State.CLOSED && fd < 0) {
                connect();
            }
        });
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
        if (state != State.FAILED && state != State.CLOSED) {
            fail(why, errno);
        }
    }

    /** The controller is back (possibly a new one): reconnect now. Reactor-confined. */
    void resume() {
        if (closing || !suspended) {
            return;
        }
        suspended = false;
        backoffNanos = MIN_BACKOFF_NANOS;
        if (state == State.CLOSED && fd < 0) {
            connect();
        }
        // FAILED: maybeReconnect() reconnects once the old socket's last completion is in.
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
        ioDeadlines[io.index()] = System.nanoTime() + timeoutNanos;
        long bytes = io.numBlocks() * blockSize;
        if ((io.type() == IoType.READ || io.type() == IoType.WRITE) && bytes > remote.maxTransfer()) {
            completeLater(io, IoStatus.BAD_BUFFER, 0);
            return;
        }
        if (io.type() == IoType.WRITE_ZEROES && io.numBlocks() > MAX_WRITE_ZEROES_BLOCKS) {
            completeLater(io, IoStatus.UNSUPPORTED, 0);
            return;
        }
        if (io.type() == IoType.RESET) {
            completeLater(io, IoStatus.SUCCESS, 0);
            return;
        }
        if (state != State.READY || !waiting.isEmpty() || !start(io)) {
            waiting.add(io);
        }
    }

    /**
     * Queues the commands of waiting IO while CIDs and send room last. It does not send: the
     * caller's receive or send completion does, once, for everything its handling queued
     * (sending here would put the first command of a batch on the wire alone and make the
     * rest wait for that send).
     */
    private void startWaiting() {
        while (state == State.READY && !waiting.isEmpty()) {
            if (!start(waiting.peek())) {
                break;
            }
            waiting.poll();
        }
    }

    /** Queues the command for {@code io}; false when no CID or send room is free now. */
    private boolean start(BdevIo io) {
        if (freeCount == 0) {
            return false;
        }
        int hd = headerDigest ? DIGEST_LENGTH : 0;
        int dd = dataDigest ? DIGEST_LENGTH : 0;
        long bytes = io.numBlocks() * blockSize;
        IoType type = io.type();
        int inCapsule = type == IoType.UNMAP ? 16
                : type == IoType.WRITE && bytes <= remote.inCapsuleBytes() ? (int) bytes : 0;
        int plen = CAPSULE_CMD_HLEN + hd + inCapsule + (inCapsule > 0 ? dd : 0);
        // Write data of 1 KiB and up is sent from the IO's own buffers (they stay put until the
        // IO completes, which is after the target answered); with data digests it is copied.
        int pieces = type == IoType.WRITE && inCapsule >= GATHER_MIN_BYTES && dd == 0 ? pieces(io, 0, inCapsule) : 0;
        boolean gather = pieces > 0 && SendBuffers.fitsOneSend(pieces);
        if (gather && !out.canAppendExternal(pieces)) {
            return false;
        }
        int at = reserve(gather ? CAPSULE_CMD_HLEN + hd : plen);
        if (at < 0) {
            return false;
        }
        int cid = freeCids[--freeCount];
        slots[cid] = io;
        deadlines[cid] = ioDeadlines[io.index()];
        ttags[cid] = 0;
        abortSent[cid] = false;
        MemorySegment s = out.filling();
        header(s, at, CAPSULE_CMD, (hd > 0 ? FLAG_HDGSTF : 0) | (inCapsule > 0 && dd > 0 ? FLAG_DDGSTF : 0),
                CAPSULE_CMD_HLEN, inCapsule > 0 ? CAPSULE_CMD_HLEN + hd : 0, plen);
        long sqe = at + SQE_OFFSET;
        for (long i = 0; i < NvmeCommand.SIZE; i += 8) {
            s.set(JAVA_LONG_UNALIGNED, sqe + i, 0L);
        }
        int opcode = switch (type) {
            case READ -> NvmeOpcodes.NVM_READ;
            case WRITE -> NvmeOpcodes.NVM_WRITE;
            case FLUSH -> NvmeOpcodes.NVM_FLUSH;
            case WRITE_ZEROES -> NvmeOpcodes.NVM_WRITE_ZEROES;
            case UNMAP -> NvmeOpcodes.NVM_DATASET_MANAGEMENT;
            case RESET -> throw new IllegalStateException();
        };
        u8(s, sqe, opcode);
        u8(s, sqe + 1, 0x40);
        u16(s, sqe + 2, cid);
        u32(s, sqe + NvmeCommand.NSID_OFFSET, remote.remoteUri().nsid());
        if (type == IoType.READ || type == IoType.WRITE || type == IoType.WRITE_ZEROES) {
            s.set(JAVA_LONG_UNALIGNED, sqe + NvmeCommand.CDW10_OFFSET, io.offsetBlocks());
            u32(s, sqe + NvmeCommand.CDW12_OFFSET, io.numBlocks() - 1);
        }
        if (type == IoType.READ || type == IoType.WRITE || type == IoType.UNMAP) {
            u32(s, sqe + NvmeCommand.SGL_LENGTH_OFFSET, inCapsule > 0 ? inCapsule : bytes);
            u8(s, sqe + NvmeCommand.SGL_ID_OFFSET, inCapsule > 0 ? NvmeCommand.SGL_IN_CAPSULE : NvmeCommand.SGL_TRANSPORT);
        }
        if (type == IoType.UNMAP) {
            u32(s, sqe + NvmeCommand.CDW11_OFFSET, DSM_DEALLOCATE);    // one range (NR = 0)
        }
        // The header digest covers the finished SQE.
        if (hd > 0) {
            u32(s, at + CAPSULE_CMD_HLEN, Integer.toUnsignedLong(digest(out.fillingView(), at, CAPSULE_CMD_HLEN)));
        }
        long data = at + CAPSULE_CMD_HLEN + hd;
        if (type == IoType.UNMAP) {
            u32(s, data, 0);
            u32(s, data + 4, io.numBlocks());
            s.set(JAVA_LONG_UNALIGNED, data + 8, io.offsetBlocks());
        } else if (gather) {
            appendData(io, 0, inCapsule);
        } else if (inCapsule > 0) {
            io.copyFromBuffers(0, s, data, inCapsule);
        }
        if (inCapsule > 0 && dd > 0) {
            u32(s, data + inCapsule, Integer.toUnsignedLong(digest(out.fillingView(), (int) data, inCapsule)));
        }
        return true;
    }

    private boolean sendH2C(int cid, long offset, long length) {
        BdevIo io = slots[cid];
        int hd = headerDigest ? DIGEST_LENGTH : 0;
        int dd = dataDigest ? DIGEST_LENGTH : 0;
        int pdus = (int) ((length + maxH2CData - 1) / maxH2CData);
        int pieces = dd == 0 && length >= GATHER_MIN_BYTES ? pieces(io, offset, length) + pdus : 0;
        boolean gather = pieces > 0 && SendBuffers.fitsOneSend(pieces);
        boolean fits = gather ? (long) pdus * (DATA_HLEN + hd) <= out.room() && out.canAppendExternal(pieces)
                : length + (long) pdus * (DATA_HLEN + hd + dd) <= out.room();
        if (!fits) {
            return false;
        }
        for (long off = offset; off < offset + length; off += maxH2CData) {
            int n = (int) Math.min(maxH2CData, offset + length - off);
            boolean last = off + n == offset + length;
            int plen = DATA_HLEN + hd + n + dd;
            int at = reserve(gather ? DATA_HLEN + hd : plen);
            MemorySegment s = out.filling();
            header(s, at, H2C_DATA, (last ? FLAG_LAST_PDU : 0) | (hd > 0 ? FLAG_HDGSTF : 0) | (dd > 0 ? FLAG_DDGSTF : 0),
                    DATA_HLEN, DATA_HLEN + hd, plen);
            u16(s, at + CCCID_OFFSET, cid);
            u16(s, at + TTAG_OFFSET, ttags[cid]);
            u32(s, at + DATAO_OFFSET, off);
            u32(s, at + DATAL_OFFSET, n);
            u32(s, at + 20, 0);
            if (hd > 0) {
                u32(s, at + DATA_HLEN, Integer.toUnsignedLong(digest(out.fillingView(), at, DATA_HLEN)));
            }
            if (gather) {
                appendData(io, off, n);
                continue;
            }
            long data = at + DATA_HLEN + hd;
            io.copyFromBuffers(off, s, data, n);
            if (dd > 0) {
                u32(s, data + n, Integer.toUnsignedLong(digest(out.fillingView(), (int) data, n)));
            }
        }
        return true;
    }

    /** How many of {@code io}'s buffers bytes {@code [offset, offset + length)} of its data touch. */
    private static int pieces(BdevIo io, long offset, long length) {
        int n = 0;
        long start = 0;
        for (int i = 0; i < io.bufferCount() && start < offset + length; i++) {
            long end = start + io.buffer(i).byteSize();
            if (end > offset) {
                n++;
            }
            start = end;
        }
        return n;
    }

    /** Puts bytes {@code [offset, offset + length)} of {@code io}'s data on the wire from its own buffers. */
    private void appendData(BdevIo io, long offset, long length) {
        long start = 0;
        for (int i = 0; i < io.bufferCount() && length > 0; i++) {
            MemorySegment b = io.buffer(i);
            long end = start + b.byteSize();
            if (end > offset) {
                long from = offset - start;
                int n = (int) Math.min(length, b.byteSize() - from);
                out.appendExternal(b.address() + from, n);
                offset += n;
                length -= n;
            }
            start = end;
        }
    }

    // ---------------------------------------------------------------- ring completions

    @Override
    public void onCompletion(long token, int res, int flags) {
        switch ((int) token) {
            case TOKEN_CONNECT -> onConnected(res);
            case TOKEN_RECV -> onRecv(res);
            default -> onSend(res);
        }
        if (state == State.FAILED || closing) {
            maybeReconnect();
        }
    }

    private void postRecv() {
        if (in.inFlight() || state == State.FAILED || state == State.CLOSED || fd < 0) {
            return;
        }
        if (!in.post(ring, fd, Reactor.userData(handlerId, TOKEN_RECV))) {
            fail("no submission slot for a receive", Errno.EAGAIN);
        }
    }

    private void onRecv(int res) {
        in.onReceived(res);
        if (state == State.FAILED || state == State.CLOSED) {
            return;
        }
        if (res <= 0) {
            fail(res == 0 ? "the target closed the connection" : "receive failed: " + Errno.name(-res), Errno.EIO);
            return;
        }
        process();
        if (state != State.FAILED) {
            postRecv();
            flush();
        }
    }

    private void onSend(int res) {
        if (res < 0) {
            out.onFailed();
            fail("send failed: " + Errno.name(-res), -res);
            return;
        }
        int sent = out.onSent(res, ring, fd, Reactor.userData(handlerId, TOKEN_SEND));
        if (sent == SendBuffers.RESUBMITTED) {
            return;
        }
        if (sent == SendBuffers.STUCK) {
            fail("no submission slot for the rest of a send", Errno.EAGAIN);
            return;
        }
        if (state == State.FAILED || state == State.CLOSED) {
            return;
        }
        while (!pendingR2T.isEmpty()) {
            long[] r = pendingR2T.peek();
            if (!sendH2C((int) r[0], r[1], r[2])) {
                break;
            }
            pendingR2T.poll();
        }
        startWaiting();
        flush();
    }

    private int flushQueued() {
        if (out.hasQueued() && !out.inFlight()) {
            flush();
            return 1;
        }
        return 0;
    }

    private void flush() {
        if (fd < 0 || state == State.FAILED || state == State.CLOSED) {
            return;
        }
        if (!out.flush(ring, fd, Reactor.userData(handlerId, TOKEN_SEND))) {
            fail("no submission slot for a send", Errno.EAGAIN);
        }
    }

    private int reserve(int bytes) {
        return out.reserve(bytes);
    }

    private int digest(ByteBuffer view, int offset, int length) {
        return crc.of(view, offset, length);
    }

    /** Parses every complete PDU from the target. */
    private void process() {
        while (state != State.FAILED && state != State.CLOSED) {
            int available = in.available();
            if (available < COMMON_HEADER_LENGTH) {
                return;
            }
            long base = in.start();
            int type = type(recv, base);
            int flags = flags(recv, base);
            int hlen = hlen(recv, base);
            long plen = plen(recv, base);
            int expected = expectedHlen(type);
            boolean fromController = type == ICRESP || type == C2H_TERM_REQ || type == CAPSULE_RESP
                    || type == C2H_DATA || type == R2T;
            int hd = (flags & FLAG_HDGSTF) != 0 ? DIGEST_LENGTH : 0;
            if (!fromController || hlen != expected || plen < hlen + hd || plen > RECV_BUFFER / 2
                    || (state == State.AWAIT_ICRESP) != (type == ICRESP)) {
                fail("malformed PDU from the target (type " + type + ", hlen " + hlen + ", plen " + plen + ")",
                        Errno.EIO);
                return;
            }
            if (available < plen) {
                return;
            }
            if (hd > 0 && digest(recvView, (int) base, hlen) != (int) u32(recv, base + hlen)) {
                fail("header digest error from the target", Errno.EIO);
                return;
            }
            in.consume((int) plen);
            switch (type) {
                case ICRESP -> onIcResp(base);
                case CAPSULE_RESP -> onCapsuleResp(base);
                case C2H_DATA -> onC2HData(base, flags, plen);
                case R2T -> onR2T(base);
                case C2H_TERM_REQ -> fail("the target terminated the connection (FES " + u16(recv, base + FES_OFFSET)
                        + ")", Errno.EIO);
                default -> throw new IllegalStateException();
            }
        }
    }

    private void onCapsuleResp(long base) {
        long cqe = base + CQE_OFFSET;
        int cid = NvmeCompletion.cid(recv, cqe);
        int status = NvmeCompletion.status(recv, cqe);
        if (state == State.DISCONNECTING) {
            if (cid == DISCONNECT_CID) {
                endDisconnect();
            }
            return;
        }
        if (state == State.AWAIT_CONNECT) {
            if (cid == CONNECT_CID) {
                onConnectResponse(status);
            } else {
                fail("response to an unknown command " + cid + " while connecting", Errno.EIO);
            }
            return;
        }
        if (cid >= QUEUE_DEPTH || slots[cid] == null) {
            fail("response to an unknown command " + cid, Errno.EIO);
            return;
        }
        finish(cid, status);
    }

    private void finish(int cid, int status) {
        BdevIo io = slots[cid];
        slots[cid] = null;
        freeCids[freeCount++] = cid;
        int ioStatus;
        int errno = 0;
        if (status == NvmeStatus.SUCCESS) {
            ioStatus = IoStatus.SUCCESS;
        } else if (status == NvmeStatus.LBA_OUT_OF_RANGE) {
            ioStatus = IoStatus.OUT_OF_RANGE;
        } else if (status == NvmeStatus.INVALID_OPCODE) {
            ioStatus = IoStatus.UNSUPPORTED;
        } else {
            ioStatus = IoStatus.IO_ERROR;
            errno = Errno.EIO;
        }
        complete(io, ioStatus, errno);
        startWaiting();
    }

    private void onC2HData(long base, int flags, long plen) {
        int cid = u16(recv, base + CCCID_OFFSET);
        long datao = u32(recv, base + DATAO_OFFSET);
        long datal = u32(recv, base + DATAL_OFFSET);
        int pdo = pdo(recv, base);
        BdevIo io = cid < QUEUE_DEPTH ? slots[cid] : null;
        if (io == null || io.type() != IoType.READ || datao + datal > io.numBlocks() * blockSize
                || pdo + datal > plen) {
            fail("C2HData outside any read (cid " + cid + ")", Errno.EIO);
            return;
        }
        long data = base + pdo;
        if ((flags & FLAG_DDGSTF) != 0 && digest(recvView, (int) data, (int) datal) != (int) u32(recv, data + datal)) {
            fail("data digest error from the target", Errno.EIO);
            return;
        }
        io.copyToBuffers(recv, data, datao, datal);
        if ((flags & FLAG_SUCCESS) != 0) {
            finish(cid, NvmeStatus.SUCCESS);
        }
    }

    private void onR2T(long base) {
        int cid = u16(recv, base + CCCID_OFFSET);
        BdevIo io = cid < QUEUE_DEPTH ? slots[cid] : null;
        long offset = u32(recv, base + R2TO_OFFSET);
        long length = u32(recv, base + R2TL_OFFSET);
        if (io == null || io.type() != IoType.WRITE || length == 0 || offset + length > io.numBlocks() * blockSize) {
            fail("R2T outside any write (cid " + cid + ")", Errno.EIO);
            return;
        }
        ttags[cid] = u16(recv, base + TTAG_OFFSET);
        if (!pendingR2T.isEmpty() || !sendH2C(cid, offset, length)) {
            pendingR2T.add(new long[] {cid, offset, length});
        }
    }

    // ---------------------------------------------------------------- timeouts and teardown

    private void scheduleTimeoutScan() {
        timeoutTimer = reactor.scheduleTimer(TIMEOUT_SCAN_NANOS, this::scanTimeouts);
    }

    private void scanTimeouts() {
        timeoutTimer = -1;
        if (closing) {
            return;
        }
        long now = System.nanoTime();
        for (int cid = 0; cid < QUEUE_DEPTH; cid++) {
            if (slots[cid] == null || now - deadlines[cid] <= 0) {
                continue;
            }
            if (!abortSent[cid] && state == State.READY) {
                // First, ask the controller to abort it, and give it one more timeout.
                abortSent[cid] = true;
                deadlines[cid] = now + timeoutNanos;
                remote.abort(qid, cid);
                continue;
            }
            // The abort did not help: reset the controller. This queue fails its commands now
            // (the caller learns within two timeouts); the others follow from the admin thread.
            String why = "command " + cid + " on queue " + qid + " timed out after "
                    + remote.remoteUri().ioTimeoutMillis() + " ms and an abort";
            suspend(why + "; resetting the controller", Errno.ETIMEDOUT);
            remote.resetController(why);
            break;
        }
        while (!waiting.isEmpty() && now - ioDeadlines[waiting.peek().index()] > 0) {
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
            // a moment to answer before the socket goes anyway.
            state = State.DISCONNECTING;
            // The bdev's admin queue closes after its IO queues: let it wait for the answer,
            // or the target could end the controller (and this connection) first.
            goodbye = lingerAfterClose();
            disconnectTimer = reactor.scheduleTimer(DISCONNECT_WAIT_NANOS, () -> {
                disconnectTimer = -1;
                if (state == State.DISCONNECTING) {
                    endDisconnect();
                }
            });
            return;
        }
        if (fd >= 0) {
            Sockets.shutdown(fd);
        }
        state = State.CLOSED;
        maybeReconnect();
    }

    private long disconnectTimer = -1;
    private CompletableFuture<Void> goodbye;

    /** Queues and sends a fabrics Disconnect for this queue; false when it does not fit. */
    private boolean sendDisconnect() {
        int hd = headerDigest ? DIGEST_LENGTH : 0;
        int plen = CAPSULE_CMD_HLEN + hd;
        int at = reserve(plen);
        if (at < 0) {
            return false;
        }
        MemorySegment s = out.filling();
        s.asSlice(at, plen).fill((byte) 0);
        header(s, at, CAPSULE_CMD, hd > 0 ? FLAG_HDGSTF : 0, CAPSULE_CMD_HLEN, 0, plen);
        long sqe = at + SQE_OFFSET;
        u8(s, sqe, NvmeOpcodes.FABRICS);
        u8(s, sqe + 1, 0x40);
        u16(s, sqe + 2, DISCONNECT_CID);
        u8(s, sqe + NvmeCommand.FCTYPE_OFFSET, NvmeOpcodes.FCTYPE_DISCONNECT);
        if (hd > 0) {
            u32(s, at + CAPSULE_CMD_HLEN, Integer.toUnsignedLong(digest(out.fillingView(), at, CAPSULE_CMD_HLEN)));
        }
        flush();
        return state != State.FAILED;
    }

    /** The Disconnect was answered (or not in time): the socket goes. */
    private void endDisconnect() {
        if (disconnectTimer >= 0) {
            reactor.cancelTimer(disconnectTimer);
            disconnectTimer = -1;
        }
        if (fd >= 0) {
            Sockets.shutdown(fd);
        }
        state = State.CLOSED;
        maybeReconnect();
    }

    private boolean released;

    private void finishRelease() {
        if (released) {
            return;
        }
        released = true;
        if (disconnectTimer >= 0) {
            reactor.cancelTimer(disconnectTimer);
            disconnectTimer = -1;
        }
        remote.queueReleased(this);
        reactor.removePoller(flusher);
        reactor.unregisterCompletionHandler(handlerId);
        arena.close();
        if (goodbye != null) {
            goodbye.complete(null);
        }
    }
}
