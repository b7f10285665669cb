package io.panastor.engine.nvmf.tcp;

import static io.panastor.engine.nvmf.proto.TcpPdu.*;

import io.panastor.natives.CompletionHandler;
import io.panastor.natives.Errno;
import io.panastor.natives.IoUring;
import io.panastor.natives.Sockets;
import io.panastor.reactor.Reactor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * One NVMe/TCP connection on a reactor's ring — the part every queue pair shares, whatever it
 * carries (NVMe/TCP transport specification 1.0): the socket and its connect, the ICReq/ICResp
 * exchange (§3.6.2.2-3), negotiated digests, the PDU parse loop with every common-header check
 * (§3.6.1: type valid for the direction and state, HLEN, PDO, PLEN consistent with the
 * header and the digests, HDGSTF/DDGSTF exactly as negotiated), header and data digest
 * checks, and the send side ({@link SendBuffers}). What the PDUs mean is its {@link Handler}'s
 * business: a host IO queue, a host admin queue, or (ported onto it) the target's
 * {@code QueuePair}.
 *
 * <p>Data PDUs (C2HData towards a host, H2CData towards a controller) are not held whole:
 * once the header is checked the handler accepts the transfer ({@link Handler#onDataStart}),
 * the payload is handed over piece by piece as it arrives ({@link Handler#onData}, straight
 * from the receive buffer into the command's buffers), and {@link Handler#onDataEnd} follows
 * once the data digest (if negotiated) is verified. So the receive buffer only ever needs to
 * hold a header, and memory does not grow with the transfer size. Every other PDU is delivered
 * whole ({@link Handler#onPdu}).
 *
 * <p>States ({@link State}): CLOSED → CONNECTING → AWAIT_ICRESP → READY → DRAINING → CLOSED.
 * Any failure ({@link #fail}), whether a protocol error found here, one the handler found, or
 * a closing owner, shuts the socket down and moves to DRAINING; once no ring operation on the
 * socket is in flight it is closed, the state is CLOSED and {@link Handler#onClosed} is
 * told why. The same object can then {@link #connect} again (its buffers are reused): that is
 * how queues reconnect.
 *
 * <p>Porting the target's {@code QueuePair}: make it a {@link Handler}; have the listener
 * hand an accepted fd to a constructor that starts in AWAIT_ICREQ (the only state to add,
 * with {@code accepts()} taking the controller's direction — ICReq, H2CTermReq, CapsuleCmd,
 * H2CData — already written below); CapsuleCmd with in-capsule data is delivered whole through
 * {@code onPdu} (give the connection a receive buffer of the largest capsule), H2CData
 * streams through {@code onDataStart/onData/onDataEnd} into the request's buffer, and
 * C2HData and R2T are written with {@link #reserve}/{@link #filling}/{@link #flush} as
 * today.
 *
 * <p>Thread-safety: reactor-confined (made, used and released on its reactor).
 */
public final class TcpConnection implements CompletionHandler {
    /** Connection states, in the order a connection goes through them. */
    public enum State {
        /** No socket: never connected, or the last one is closed. */
        CLOSED,
        /** connect(2) is in flight. */
        CONNECTING,
        /** Our ICReq is sent; only an ICResp may come (§3.6.2.3). */
        AWAIT_ICRESP,
        /** Initialised: PDUs flow both ways. */
        READY,
        /** Failed or being closed: the socket is shut down and whatever the ring has on it is ending. */
        DRAINING
    }

    /** What the PDUs mean: called on the reactor, from this connection's completions. */
    public interface Handler {
        /** The ICResp was accepted: digests and MAXH2CDATA are known, commands may be sent. */
        void onReady();

        /**
         * A whole non-data PDU, header digest checked, at {@code base} in {@code pdu}
         * (valid until this call returns).
         */
        void onPdu(int type, int flags, MemorySegment pdu, long base);

        /**
         * The header of a data PDU ({@code DATAL} bytes follow), checked as far as the
         * transport goes. The handler checks it against its command; if it refuses, it calls
         * {@link #fail} and returns false.
         */
        boolean onDataStart(int type, int flags, MemorySegment pdu, long base);

        /** The next {@code length} payload bytes of the data PDU being received, at {@code at} in {@code from}. */
        void onData(MemorySegment from, long at, int length);

        /** The data PDU's payload is complete (and its data digest, if any, matched). */
        void onDataEnd(int flags);

        /** A send completed: the send side has room again (pending R2Ts, waiting commands may go). */
        void onSent();

        /** The connection is closed: {@code why}, with an errno for the commands that were in flight. */
        void onClosed(String why, int errno);
    }

    /** MAXH2CDATA below this is refused (§3.6.2.3: at least 4096). */
    public static final int MIN_MAXH2CDATA = 4096;
    /** Linux errno for a protocol error: what the commands of a connection ended by one fail with. */
    public static final int EPROTO = 71;
    /** Linux errno: no file descriptor left. */
    static final int EMFILE = 24;
    private static final int TOKEN_CONNECT = 0;
    private static final int TOKEN_RECV = 1;
    private static final int TOKEN_SEND = 2;
    private static final int TOKEN_CANCEL = 3;

    private final Reactor reactor;
    private final IoUring ring;
    private final Handler handler;
    private final String peer;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment sockaddr;
    private final RecvBuffer in;
    private final MemorySegment recv;
    private final ByteBuffer recvView;
    private final SendBuffers out;
    private final Crc32cDigest crc = new Crc32cDigest();
    /**
     * The data digest of the payload being received, apart from {@link #crc}: a payload spans
     * receives, and what runs between them (headers sealed for sending, say) uses the other.
     */
    private final Crc32cDigest dataCrc = new Crc32cDigest();
    private final int handlerId;
    private final long nativeBytes;
    private final long[] entered = new long[State.values().length];

    private State state = State.CLOSED;
    private int fd = -1;
    private boolean connectInFlight;
    private boolean cancelInFlight;
    private boolean wantHeaderDigest;
    private boolean wantDataDigest;
    private boolean headerDigest;
    private boolean dataDigest;
    private int maxH2CData;
    /** Payload bytes of the current data PDU still to come (0: between PDUs). */
    private long dataRemaining;
    private boolean dataDigested;
    /** The payload is in; its 4-byte data digest is next. */
    private boolean digestPending;
    private int dataFlags;
    private String why = "closed";
    private int errno;
    private long protocolErrors;
    private boolean released;

    /**
     * @param recvBytes receive buffer size; headers only are held in it, so a few KiB do for
     *                  an admin queue and larger only cuts system calls
     * @param sendBytes size of each of the two send sides; the largest PDU built in it must fit
     */
    public TcpConnection(Reactor reactor, String host, int port, int recvBytes, int sendBytes, Handler handler) {
        this(reactor, host, port, recvBytes, sendBytes, SendBuffers.MAX_IOVS, handler);
    }

    /**
     * @param sendIovs iovecs per send side ({@link SendBuffers}): 3 for a queue that never
     *                 gathers payloads from elsewhere (an admin queue), up to
     *                 {@code SendBuffers.MAX_IOVS}
     */
    public TcpConnection(Reactor reactor, String host, int port, int recvBytes, int sendBytes, int sendIovs,
                         Handler handler) {
        this.reactor = reactor;
        this.ring = reactor.ring();
        this.handler = handler;
        this.peer = host + ":" + port;
        try {
            this.sockaddr = Sockets.socketAddress(arena, host, port);
            this.in = new RecvBuffer(arena, recvBytes, recvBytes / 2);
            this.out = new SendBuffers(arena, sendBytes, sendIovs);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
        this.recv = in.segment();
        this.recvView = in.view();
        this.nativeBytes = recvBytes + out.nativeBytes() + sockaddr.byteSize();
        this.handlerId = reactor.registerCompletionHandler(this);
    }

    public State state() {
        return state;
    }

    /** Native memory this connection holds (buffers, iovecs, address), for memory accounting. */
    public long nativeBytes() {
        return nativeBytes;
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

    /** The controller's MAXH2CDATA (READY only). */
    public int maxH2CData() {
        return maxH2CData;
    }

    public String peer() {
        return peer;
    }

    // ---------------------------------------------------------------- connect and close

    /**
     * Opens a socket and connects, then sends an ICReq asking for the given digests. From
     * CLOSED only; the handler hears {@link Handler#onReady} or {@link Handler#onClosed}.
     */
    public void connect(boolean askHeaderDigest, boolean askDataDigest) {
        if (state != State.CLOSED || released) {
            throw new IllegalStateException("connect in state " + state);
        }
        wantHeaderDigest = askHeaderDigest;
        wantDataDigest = askDataDigest;
        headerDigest = false;
        dataDigest = false;
        dataRemaining = 0;
        digestPending = false;
        in.reset();
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
     * {@link Handler#onClosed} follows with {@code why} and {@code errno} once the ring is
     * done with it. A protocol error is counted; a second call does nothing.
     */
    public void fail(String why, int errno) {
        if (state == State.CLOSED || state == State.DRAINING) {
            return;
        }
        this.why = why;
        this.errno = errno;
        setState(State.DRAINING);
        dataRemaining = 0;
        digestPending = false;
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

    private void maybeClosed() {
        if (state != State.DRAINING || in.inFlight() || out.inFlight() || connectInFlight || cancelInFlight) {
            return;
        }
        if (fd >= 0) {
            Sockets.close(fd);
            fd = -1;
        }
        out.clearQueued();
        in.reset();
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
            arena.close();
        }
    }

    // ---------------------------------------------------------------- ring completions

    @Override
    public void onCompletion(long token, int res, int flags) {
        switch ((int) token) {
            case TOKEN_CONNECT -> onConnected(res);
            case TOKEN_RECV -> onRecv(res);
            case TOKEN_SEND -> onSend(res);
            default -> cancelInFlight = false;
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
        int at = out.reserve(IC_LENGTH);
        MemorySegment s = out.filling();
        s.asSlice(at, IC_LENGTH).fill((byte) 0);
        // PFV 0, HPDA 0 (data right after the header), MAXR2T 0 (one R2T per command at a time).
        header(s, at, ICREQ, 0, IC_LENGTH, 0, IC_LENGTH);
        u8(s, at + DGST_OFFSET, (wantHeaderDigest ? DGST_HDGST : 0) | (wantDataDigest ? DGST_DDGST : 0));
        setState(State.AWAIT_ICRESP);
        postRecv();
        flush();
    }

    private void onIcResp(long base) {
        int dgst = u8(recv, base + DGST_OFFSET);
        long maxH2C = u32(recv, base + MAXH2CDATA_OFFSET);
        int cpda = u8(recv, base + CPDA_OFFSET);
        if (u16(recv, base + PFV_OFFSET) != 0) {
            protocolError("ICResp with PDU format version " + u16(recv, base + PFV_OFFSET));
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
        if (in.inFlight() || (state != State.READY && state != State.AWAIT_ICRESP)) {
            return;
        }
        if (!in.post(ring, fd, Reactor.userData(handlerId, TOKEN_RECV))) {
            fail("no submission slot for a receive", Errno.EAGAIN);
        }
    }

    private void onRecv(int res) {
        in.onReceived(res);
        if (state != State.READY && state != State.AWAIT_ICRESP) {
            return;
        }
        if (res <= 0) {
            fail(res == 0 ? peer + " closed the connection" : "receive from " + peer + " failed: " + Errno.name(-res),
                    Errno.EIO);
            return;
        }
        parse();
        postRecv();
        flush();
    }

    private void onSend(int res) {
        if (res < 0) {
            out.onFailed();
            fail("send to " + peer + " failed: " + Errno.name(-res), -res);
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
        if (state == State.READY) {
            handler.onSent();
            flush();
        }
    }

    // ---------------------------------------------------------------- receive: the parse loop

    /** Whether a PDU of {@code type} may come to a host (§3.6.1, PDU direction). */
    private static boolean accepts(int type) {
        return type == CAPSULE_RESP || type == C2H_DATA || type == R2T || type == C2H_TERM_REQ;
    }

    /** Parses everything received: whole PDUs, and the payload of a data PDU as it comes. */
    private void parse() {
        while (state == State.READY || state == State.AWAIT_ICRESP) {
            int available = in.available();
            long at = in.start();
            if (dataRemaining > 0) {
                if (available == 0) {
                    return;
                }
                int n = (int) Math.min(available, dataRemaining);
                if (dataDigested) {
                    dataCrc.update(recvView, (int) at, n);
                }
                in.consume(n);
                dataRemaining -= n;
                handler.onData(recv, at, n);
                if (dataRemaining == 0 && state == State.READY) {
                    if (dataDigested) {
                        digestPending = true;
                    } else {
                        handler.onDataEnd(dataFlags);
                    }
                }
                continue;
            }
            if (digestPending) {
                if (available < DIGEST_LENGTH) {
                    return;
                }
                int got = recv.get(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, at);
                in.consume(DIGEST_LENGTH);
                digestPending = false;
                if (got != dataCrc.value()) {
                    protocolError("data digest error");
                    return;
                }
                handler.onDataEnd(dataFlags);
                continue;
            }
            if (available < COMMON_HEADER_LENGTH || !parseHeader(at, available)) {
                return;
            }
        }
    }

    /** Checks and dispatches the PDU whose header starts at {@code base}; false when more bytes must come first. */
    private boolean parseHeader(long base, int available) {
        int type = type(recv, base);
        int flags = flags(recv, base);
        int hlen = hlen(recv, base);
        int pdo = pdo(recv, base);
        long plen = plen(recv, base);
        if (state == State.AWAIT_ICRESP ? type != ICRESP : !accepts(type)) {
            protocolError("PDU type " + type + " where it cannot come (" + state + ")");
            return false;
        }
        if (hlen != expectedHlen(type)) {
            protocolError("PDU type " + type + " with HLEN " + hlen);
            return false;
        }
        boolean undigested = type == ICRESP || type == C2H_TERM_REQ;
        int hd = undigested || !headerDigest ? 0 : DIGEST_LENGTH;
        if (!undigested && ((flags & FLAG_HDGSTF) != 0) != (hd > 0)) {
            protocolError("PDU type " + type + " with HDGSTF " + ((flags & FLAG_HDGSTF) != 0) + " but header digests "
                    + (headerDigest ? "on" : "off"));
            return false;
        }
        int headerBytes = hlen + hd;
        if (type == C2H_DATA) {
            if (available < headerBytes) {
                return false;
            }
            long datal = u32(recv, base + DATAL_OFFSET);
            int dd = dataDigest ? DIGEST_LENGTH : 0;
            if (datal == 0 || pdo != headerBytes || plen != headerBytes + datal + dd
                    || ((flags & FLAG_DDGSTF) != 0) != (dd > 0)) {
                protocolError("data PDU with DATAL " + datal + ", PDO " + pdo + ", PLEN " + plen + ", DDGSTF "
                        + ((flags & FLAG_DDGSTF) != 0) + " (header " + headerBytes + " bytes, data digests "
                        + (dataDigest ? "on" : "off") + ")");
                return false;
            }
            if (hd > 0 && crc.of(recvView, (int) base, hlen) != recv.get(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED,
                    base + hlen)) {
                protocolError("header digest error");
                return false;
            }
            in.consume(headerBytes);
            dataRemaining = datal;
            dataDigested = dd > 0;
            dataFlags = flags;
            if (dataDigested) {
                dataCrc.begin();
            }
            if (!handler.onDataStart(type, flags, recv, base)) {
                fail("refused data PDU", EPROTO);   // the handler should have; make sure
                return false;
            }
            return state == State.READY;
        }
        boolean sizeOk = type == C2H_TERM_REQ ? plen >= hlen && plen <= hlen + TERM_REQ_MAX_DATA : plen == headerBytes;
        if (!sizeOk || pdo != 0 || (!undigested && (flags & FLAG_DDGSTF) != 0)) {
            protocolError("PDU type " + type + " with PLEN " + plen + ", PDO " + pdo + ", flags " + flags);
            return false;
        }
        if (available < plen) {
            return false;
        }
        if (hd > 0 && crc.of(recvView, (int) base, hlen) != recv.get(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED,
                base + hlen)) {
            protocolError("header digest error");
            return false;
        }
        in.consume((int) plen);
        if (type == ICRESP) {
            onIcResp(base);
        } else {
            handler.onPdu(type, flags, recv, base);
        }
        return true;
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
        if (state != State.READY && state != State.AWAIT_ICRESP) {
            return;
        }
        if (!out.flush(ring, fd, Reactor.userData(handlerId, TOKEN_SEND))) {
            fail("no submission slot for a send", Errno.EAGAIN);
        }
    }

    @Override
    public String toString() {
        return "TcpConnection[" + peer + ", " + state + "]";
    }
}
