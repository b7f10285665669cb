package io.panastor.engine.nvmf.tcp;

import static io.panastor.engine.nvmf.proto.TcpPdu.*;

import io.panastor.natives.CompletionHandler;
import io.panastor.natives.Errno;
import io.panastor.natives.IoUring;
import io.panastor.natives.Sockets;
import io.panastor.reactor.Reactor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One NVMe/TCP connection on a reactor's ring, either end — the part every queue pair shares,
 * whatever it carries (NVMe/TCP transport specification 1.0): the socket (connected by a host,
 * or accepted by the target), the ICReq/ICResp exchange (§3.6.2.2-3), negotiated digests, the
 * PDU parse loop with every common-header check ({@link PduReader}), header and data digest
 * checks, the send side ({@link SendBuffers}), termination with a TermReq that names the
 * offending field, and a state machine with named states and counters. What the PDUs mean is
 * its {@link ConnectionHandler}'s business: a host IO queue, a host admin queue, or the target's queue
 * pair.
 *
 * <p>Data PDUs (C2HData towards a host, H2CData towards a controller) are not held whole:
 * once the header is checked the handler accepts the transfer ({@link ConnectionHandler#onDataStart}),
 * the payload is handed over piece by piece as it arrives ({@link ConnectionHandler#onData}, straight
 * from the receive buffer into the command's buffers), and {@link ConnectionHandler#onDataEnd} follows
 * with the data digest's verdict. So the receive buffer only ever needs to hold a header or a
 * capsule, and memory does not grow with the transfer size. Every other PDU is delivered whole
 * ({@link ConnectionHandler#onPdu}); a capsule's in-capsule data comes with it.
 *
 * <p>States ({@link State}): a host's connection goes CLOSED → CONNECTING → AWAIT_ICRESP →
 * READY, an accepted one starts in AWAIT_ICREQ → READY. A fatal transport error found in the
 * peer's PDUs ({@link #terminate}) moves a controller's connection to TERMINATING: a C2HTermReq
 * naming the field is queued, input is ignored, and once it is sent the connection fails. A
 * host's connection fails at once. Any failure ({@link #fail}) shuts the socket down and moves
 * to DRAINING; once no ring operation on the socket is in flight it is closed, the state is
 * CLOSED and {@link ConnectionHandler#onClosed} is told why. A host's connection can then
 * {@link #connect} again (its buffers are reused): that is how queues reconnect.
 *
 * <p>Thread-safety: reactor-confined (made, used and released on its reactor).
 */
public final class TcpConnection implements CompletionHandler {
    /** Connection states, in the order a connection goes through them. */
    public enum State {
        /** No socket: never connected, or the last one is closed. */
        CLOSED,
        /** connect(2) is in flight (host). */
        CONNECTING,
        /** Our ICReq is sent; only an ICResp may come (§3.6.2.3; host). */
        AWAIT_ICRESP,
        /** Accepted; only an ICReq may come (controller). */
        AWAIT_ICREQ,
        /** Initialised: PDUs flow both ways. */
        READY,
        /** Ending after what is queued is sent (a C2HTermReq, or the response to a Disconnect); input is ignored. */
        TERMINATING,
        /** Failed or being closed: the socket is shut down and whatever the ring has on it is ending. */
        DRAINING
    }

    /** MAXH2CDATA below this is refused (§3.6.2.3: at least 4096). */
    public static final int MIN_MAXH2CDATA = 4096;
    /** Linux errno for a protocol error: what the commands of a connection ended by one fail with. */
    public static final int EPROTO = Errno.EPROTO;
    /** Linux errno: no file descriptor left. */
    static final int EMFILE = Errno.EMFILE;
    private static final int TOKEN_CONNECT = 0;
    private static final int TOKEN_RECV = 1;
    private static final int TOKEN_SEND = 2;
    private static final int TOKEN_CANCEL = 3;

    private final Reactor reactor;
    private final IoUring ring;
    private final ConnectionHandler handler;
    private final boolean controller;
    private final ConnectionLimits limits;
    private final String peer;
    private final Arena arena = Arena.ofShared();
    /** The peer's address (host), or null (accepted). */
    private final MemorySegment sockaddr;
    private final PduReader reader;
    private final SendBuffers out;
    private final Crc32cDigest crc = new Crc32cDigest();
    private final int handlerId;
    private final long[] entered = new long[State.values().length];

    private State state;
    private int fd;
    private boolean connectInFlight;
    private boolean cancelInFlight;
    private boolean wantHeaderDigest;
    private boolean wantDataDigest;
    private boolean headerDigest;
    private boolean dataDigest;
    private int maxH2CData;
    private String why = "closed";
    private int errno;
    private long protocolErrors;
    private boolean released;
    private final SendStallWatch stall;

    /**
     * A host's connection to {@code host:port}, CLOSED until {@link #connect}.
     *
     * @param recvBytes receive buffer size; headers only are held in it, so a few KiB do for
     *                  an admin queue and larger only cuts system calls
     * @param sendBytes size of each of the two send sides; the largest PDU built in it must fit
     */
    public TcpConnection(Reactor reactor, String host, int port, int recvBytes, int sendBytes,
                         ConnectionHandler handler) {
        this(reactor, host, port, recvBytes, sendBytes, SendBuffers.MAX_IOVS, handler);
    }

    /**
     * @param sendIovs iovecs per send side ({@link SendBuffers}): 3 for a queue that never
     *                 gathers payloads from elsewhere (an admin queue), up to
     *                 {@code SendBuffers.MAX_IOVS}
     */
    public TcpConnection(Reactor reactor, String host, int port, int recvBytes, int sendBytes, int sendIovs,
                         ConnectionHandler handler) {
        this(reactor, host, port, -1, host + ":" + port, ConnectionLimits.host(recvBytes, sendBytes, sendIovs),
                handler);
    }

    /**
     * A controller's end of the accepted socket {@code fd}, in AWAIT_ICREQ; {@link #start}
     * posts its first receive. Once constructed the connection owns the fd (closes it when it
     * fails); if the constructor throws, the caller still does.
     */
    public TcpConnection(Reactor reactor, int fd, String peer, ConnectionLimits limits, ConnectionHandler handler) {
        this(reactor, null, 0, fd, peer, limits, handler);
    }

    private TcpConnection(Reactor reactor, String host, int port, int fd, String peer, ConnectionLimits limits,
                          ConnectionHandler handler) {
        this.reactor = reactor;
        this.ring = reactor.ring();
        this.handler = handler;
        this.controller = host == null;
        this.limits = limits;
        this.peer = peer;
        try {
            this.sockaddr = controller ? null : Sockets.socketAddress(arena, host, port);
            this.out = new SendBuffers(arena, limits.sendBytes(), limits.sendIovs());
            this.reader = new PduReader(this, handler, limits, controller);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
        this.stall = new SendStallWatch(reactor, new SendStallWatch.Owner() {
            @Override
            public boolean sending() {
                return out.inFlight() && state != State.DRAINING && state != State.CLOSED;
            }

            @Override
            public void stalled(long timeoutNanos) {
                handler.onSendStalled(timeoutNanos);
                fail("no send progress to " + TcpConnection.this.peer + " within " + timeoutNanos / 1_000_000
                        + " ms: it reads nothing", Errno.ETIMEDOUT);
            }
        });
        this.handlerId = reactor.registerCompletionHandler(this);
        this.fd = fd;
        if (controller) {
            setState(State.AWAIT_ICREQ);
        } else {
            setState(State.CLOSED);
        }
    }

    public State state() {
        return state;
    }

    /**
     * Starts an accepted connection: posts its first receive. If the ring refuses it the
     * connection fails, and the handler hears {@link ConnectionHandler#onClosed} from here.
     */
    public void start() {
        if (!controller || state != State.AWAIT_ICREQ) {
            throw new IllegalStateException("start in state " + state + (controller ? "" : " (a host connects)"));
        }
        postRecv();
    }

    /** Native memory this connection holds (buffers, iovecs, address), for memory accounting. */
    public long nativeBytes() {
        return reader.capacity() + out.nativeBytes() + (sockaddr == null ? 0 : sockaddr.byteSize());
    }

    /** How many times the connection entered {@code s}: for tests, debugging and metrics. */
    public long entered(State s) {
        return entered[s.ordinal()];
    }

    /** Protocol errors found in the peer's PDUs, by this class or reported by the handler. */
    public long protocolErrors() {
        return protocolErrors;
    }

    private void setState(State s) {
        state = s;
        entered[s.ordinal()]++;
    }

    public boolean headerDigest() {
        return headerDigest;
    }

    public boolean dataDigest() {
        return dataDigest;
    }

    /** Bytes of a header digest on PDUs that carry one (0 or 4). */
    public int hd() {
        return headerDigest ? DIGEST_LENGTH : 0;
    }

    /** Bytes of a data digest after a payload (0 or 4). */
    public int dd() {
        return dataDigest ? DIGEST_LENGTH : 0;
    }

    /** The MAXH2CDATA in force (READY only): the controller's, or the one we granted. */
    public int maxH2CData() {
        return maxH2CData;
    }

    public String peer() {
        return peer;
    }

    /**
     * Fails the connection when a send makes no progress for {@code nanos} (0: never): see
     * {@link SendStallWatch}.
     */
    public void setSendStallTimeout(long nanos) {
        stall.timeout(nanos);
    }

    /** Whether PDUs are being taken: during the handshake and once READY. */
    boolean receiving() {
        return state == State.READY || state == State.AWAIT_ICRESP || state == State.AWAIT_ICREQ;
    }

    /** Whether only the ICReq/ICResp may come now. */
    boolean handshaking() {
        return state == State.AWAIT_ICRESP || state == State.AWAIT_ICREQ;
    }

    // ---------------------------------------------------------------- connect and close

    /**
     * Opens a socket and connects, then sends an ICReq asking for the given digests. A host's
     * connection, from CLOSED only; the handler hears {@link ConnectionHandler#onReady} or
     * {@link ConnectionHandler#onClosed}.
     */
    public void connect(boolean askHeaderDigest, boolean askDataDigest) {
        if (controller || state != State.CLOSED || released) {
            throw new IllegalStateException("connect in state " + state + (controller ? " (accepted)" : ""));
        }
        wantHeaderDigest = askHeaderDigest;
        wantDataDigest = askDataDigest;
        headerDigest = false;
        dataDigest = false;
        reader.reset();
        out.clearQueued();
        setState(State.CONNECTING);
        try {
            fd = Sockets.socket();
        } catch (RuntimeException e) {
            fail("cannot open a socket: " + e.getMessage(), EMFILE);
            return;
        }
        connectInFlight = ring.prepConnect(fd, sockaddr.address(), (int) sockaddr.byteSize(),
                Reactor.userData(handlerId, TOKEN_CONNECT));
        if (!connectInFlight) {
            fail("no submission slot for the connect", Errno.EAGAIN);
        }
    }

    /**
     * Ends the connection: shuts the socket down and cancels what is in flight on it;
     * {@link ConnectionHandler#onClosed} follows with {@code why} and {@code errno} once the ring is
     * done with it. A second call does nothing.
     */
    public void fail(String why, int errno) {
        if (state == State.CLOSED || state == State.DRAINING) {
            return;
        }
        this.why = why;
        this.errno = errno;
        setState(State.DRAINING);
        reader.stop();
        if (fd >= 0) {
            Sockets.shutdown(fd);
            if (connectInFlight && !cancelInFlight) {
                // shutdown(2) does not end a connect to a silent peer soon: cancel it.
                cancelInFlight = ring.prepCancelFd(fd, Reactor.userData(handlerId, TOKEN_CANCEL));
            }
        }
        maybeClosed();
    }

    /** {@link #fail} for a peer that broke the protocol: counted apart. */
    public void protocolError(String why) {
        if (state != State.CLOSED && state != State.DRAINING) {
            protocolErrors++;
        }
        fail("protocol error from " + peer + ": " + why, EPROTO);
    }

    /**
     * A fatal transport error in the PDU at {@code base} of the receive buffer (§3.6.2.3): a
     * controller queues a C2HTermReq with status {@code fes}, the offending field's offset and
     * the PDU's header, takes no more input, and fails once it is sent; a host fails at once.
     * Counted; the handler hears it ({@link ConnectionHandler#onTransportError}).
     */
    public void terminate(int fes, int fieldOffset, long base, String why) {
        reader.terminate(fes, fieldOffset, base, why);
    }

    /** {@link #terminate} with the PDU bytes at hand ({@code copy} bytes at {@code base} of {@code pdu}). */
    void terminate(int fes, int fieldOffset, MemorySegment pdu, long base, int copy, String why) {
        if (!receiving()) {
            return;
        }
        handler.onTransportError(fes, fieldOffset, why);
        if (!controller) {
            protocolError(why);
            return;
        }
        protocolErrors++;
        int plen = TERM_REQ_HLEN + copy;
        int at = out.reserve(plen);
        if (at >= 0) {
            MemorySegment s = out.filling();
            s.asSlice(at, TERM_REQ_HLEN).fill((byte) 0);
            header(s, at, C2H_TERM_REQ, 0, TERM_REQ_HLEN, 0, plen);
            u16(s, at + FES_OFFSET, fes);
            u32(s, at + FEI_OFFSET, fieldOffset);
            MemorySegment.copy(pdu, base, s, at + TERM_REQ_HLEN, copy);
        }
        closeAfterSend("protocol error from " + peer + ": " + why, EPROTO);
    }

    /**
     * Ends the connection once what is queued is sent (the response to a Disconnect, a
     * TermReq): input is ignored from now on. From READY or the handshake.
     */
    public void closeAfterSend(String why, int errno) {
        if (!receiving()) {
            return;
        }
        this.why = why;
        this.errno = errno;
        setState(State.TERMINATING);
        reader.stop();
        flush();
        if (state == State.TERMINATING && !out.inFlight()) {
            fail(why, errno);
        }
    }

    /** The handler has what the PDU it refused needed: parsing goes on from it. */
    public void resume() {
        if (!reader.paused()) {
            return;
        }
        reader.resume();
        if (receiving()) {
            reader.parse();
            postRecv();
            flush();
        }
    }

    private void maybeClosed() {
        if (state != State.DRAINING || reader.inFlight() || out.inFlight() || connectInFlight || cancelInFlight) {
            return;
        }
        if (fd >= 0) {
            Sockets.close(fd);
            fd = -1;
        }
        out.clearQueued();
        reader.reset();
        stall.cancel();
        setState(State.CLOSED);
        handler.onClosed(why, errno);
    }

    /** Frees the buffers and the completion handler. CLOSED only; the object is done with. */
    public void release() {
        if (state != State.CLOSED) {
            throw new IllegalStateException("release in state " + state);
        }
        if (!released) {
            released = true;
            reactor.unregisterCompletionHandler(handlerId);
            reader.close();
            arena.close();
        }
    }

    // ---------------------------------------------------------------- ring completions

    @Override
    public void onCompletion(long token, int res, int flags) {
        try {
            switch ((int) token) {
                case TOKEN_CONNECT -> onConnected(res);
                case TOKEN_RECV -> onRecv(res);
                case TOKEN_SEND -> onSend(res);
                default -> cancelInFlight = false;
            }
        } catch (RuntimeException e) {
            // Nothing a connection or its handler does may end up in the reactor's duty cycle.
            handler.onHandlerFailure(token == TOKEN_RECV ? "receive handling" : "send handling", e);
            fail("internal error: " + e, Errno.EIO);
        }
        if (state == State.DRAINING) {
            maybeClosed();
        }
    }

    private void onConnected(int res) {
        connectInFlight = false;
        if (state != State.CONNECTING) {
            return;
        }
        if (res < 0) {
            fail("cannot reach " + peer + ": connect failed with " + Errno.name(-res), -res);
            return;
        }
        Sockets.tune(fd, 0);
        // PFV 0, HPDA 0 (data right after the header), MAXR2T 0 (one R2T per command at a time).
        writeIc(ICREQ, (wantHeaderDigest ? DGST_HDGST : 0) | (wantDataDigest ? DGST_DDGST : 0), 0);
        setState(State.AWAIT_ICRESP);
        postRecv();
        flush();
    }

    /** The ICReq or ICResp at {@code base} of {@code r} (whole, checked as a PDU). From the reader. */
    void onHandshake(int type, MemorySegment r, long base) {
        if (type == ICREQ) {
            onIcReq(r, base);
        } else {
            onIcResp(r, base);
        }
    }

    private void onIcReq(MemorySegment r, long base) {
        int pfv = u16(r, base + PFV_OFFSET);
        int hpda = u8(r, base + HPDA_OFFSET);
        int dgst = u8(r, base + DGST_OFFSET);
        if (pfv != 0) {
            terminate(FES_INVALID_PDU_HEADER_FIELD, (int) PFV_OFFSET, r, base, IC_LENGTH, "ICReq with PFV " + pfv);
            return;
        }
        if (hpda > 31) {
            terminate(FES_INVALID_PDU_HEADER_FIELD, (int) HPDA_OFFSET, r, base, IC_LENGTH, "ICReq with HPDA " + hpda);
            return;
        }
        int granted = dgst & (DGST_HDGST | DGST_DDGST);
        // PFV 0, CPDA 0 (data right after the header), the digests asked for, MAXH2CDATA.
        writeIc(ICRESP, granted, limits.maxH2CData());
        // Digests apply to the PDUs after the exchange (§3.6.2.2).
        headerDigest = (granted & DGST_HDGST) != 0;
        dataDigest = (granted & DGST_DDGST) != 0;
        maxH2CData = limits.maxH2CData();
        setState(State.READY);
        handler.onReady();
    }

    /**
     * An ICReq or ICResp (same 128-byte shape, §3.6.2.2-3) in the filling send side: PFV 0,
     * HPDA/CPDA 0, {@code dgst}, and {@code word} at offset 12 (MAXR2T of an ICReq, MAXH2CDATA
     * of an ICResp). The first PDU of a connection: it always fits.
     */
    private void writeIc(int type, int dgst, long word) {
        int at = out.reserve(IC_LENGTH);
        MemorySegment s = out.filling();
        s.asSlice(at, IC_LENGTH).fill((byte) 0);
        header(s, at, type, 0, IC_LENGTH, 0, IC_LENGTH);
        u8(s, at + DGST_OFFSET, dgst);
        u32(s, at + MAXH2CDATA_OFFSET, word);
    }

    private void onIcResp(MemorySegment r, long base) {
        int dgst = u8(r, base + DGST_OFFSET);
        long maxH2C = u32(r, base + MAXH2CDATA_OFFSET);
        int cpda = u8(r, base + CPDA_OFFSET);
        if (u16(r, base + PFV_OFFSET) != 0) {
            protocolError("ICResp with PDU format version " + u16(r, base + PFV_OFFSET));
            return;
        }
        if (maxH2C < MIN_MAXH2CDATA || cpda != 0) {
            fail("the ICResp of " + peer + " asks for what we do not do (MAXH2CDATA " + maxH2C + ", CPDA " + cpda
                    + ")", Errno.EOPNOTSUPP);
            return;
        }
        if (((dgst & DGST_HDGST) != 0 && !wantHeaderDigest) || ((dgst & DGST_DDGST) != 0 && !wantDataDigest)
                || (dgst & ~(DGST_HDGST | DGST_DDGST)) != 0) {
            protocolError("ICResp enables digests that were not asked for (DGST " + dgst + ")");
            return;
        }
        headerDigest = (dgst & DGST_HDGST) != 0;
        dataDigest = (dgst & DGST_DDGST) != 0;
        maxH2CData = (int) Math.min(maxH2C, 1 << 30) & ~3;
        setState(State.READY);
        handler.onReady();
    }

    private void postRecv() {
        if (!receiving()) {
            return;
        }
        if (!reader.post(ring, fd, Reactor.userData(handlerId, TOKEN_RECV))) {
            fail("no submission slot for a receive", Errno.EAGAIN);
        }
    }

    private void onRecv(int res) {
        reader.onReceived(res);
        if (!receiving()) {
            return;
        }
        if (res <= 0) {
            fail(res == 0 ? peer + " closed the connection" : "receive from " + peer + " failed: " + Errno.name(-res),
                    Errno.EIO);
            return;
        }
        reader.parse();
        postRecv();
        flush();
    }

    private void onSend(int res) {
        if (res < 0) {
            out.onFailed();
            fail("send to " + peer + " failed: " + Errno.name(-res), -res);
            return;
        }
        int side = out.fillingIndex() ^ 1;
        stall.progressed();
        int sent = out.onSent(res, ring, fd, Reactor.userData(handlerId, TOKEN_SEND));
        if (sent == SendBuffers.RESUBMITTED) {
            return;
        }
        if (sent == SendBuffers.STUCK) {
            fail("no submission slot for the rest of a send", Errno.EAGAIN);
            return;
        }
        if (state == State.READY) {
            handler.onSent(side);
            flush();
        } else if (state == State.TERMINATING) {
            // What waited for room may still go (the response to a Disconnect behind others).
            handler.onSent(side);
            flush();
            if (state == State.TERMINATING && !out.inFlight()) {
                fail(why, errno);
            }
        }
    }

    // ---------------------------------------------------------------- send

    /** Offset of {@code bytes} reserved in the filling send side, or -1 when they do not fit now. */
    public int reserve(int bytes) {
        return out.reserve(bytes);
    }

    /** The send side PDUs are being built in. */
    public MemorySegment filling() {
        return out.filling();
    }

    /** Bytes still free in the filling side. */
    public int room() {
        return out.room();
    }

    /** The send side, for gathered payloads ({@link SendBuffers#appendExternal}). */
    public SendBuffers sendBuffers() {
        return out;
    }

    /** The CRC32C of bytes {@code [offset, offset + length)} of the filling side. */
    public int digestOfFilling(int offset, int length) {
        return crc.of(out.fillingView(), offset, length);
    }

    /** Writes the header digest of the {@code hlen}-byte header at {@code at}, if header digests are on. */
    public void sealHeader(int at, int hlen) {
        if (headerDigest) {
            u32(out.filling(), at + hlen, Integer.toUnsignedLong(digestOfFilling(at, hlen)));
        }
    }

    /** Whether anything is queued and not yet sent. */
    public boolean hasQueued() {
        return out.hasQueued();
    }

    public boolean sendInFlight() {
        return out.inFlight();
    }

    /** Sends what is queued unless a send is in flight (its completion sends the rest). */
    public void flush() {
        if (state != State.READY && state != State.AWAIT_ICRESP && state != State.TERMINATING) {
            return;
        }
        boolean idle = !out.inFlight();
        if (!out.flush(ring, fd, Reactor.userData(handlerId, TOKEN_SEND))) {
            fail("no submission slot for a send", Errno.EAGAIN);
            return;
        }
        if (idle && out.inFlight()) {
            stall.started();
        }
    }

    @Override
    public String toString() {
        return "TcpConnection[" + peer + ", " + state + "]";
    }
}
