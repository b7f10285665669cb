package io.panastor.engine.nvmf.tcp;

import static io.panastor.engine.nvmf.proto.TcpPdu.*;

import io.panastor.natives.IoUring;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;

/**
 * The receive side of a {@link TcpConnection}: its buffer, which grows with bursts up to a
 * limit, and the parse loop with every common-header check of NVMe/TCP 1.0 §3.6.1, in one order
 * for both directions: PDU type (known, and one that may come this way), HLEN, the place in the
 * handshake, HDGSTF/DDGSTF as negotiated, PLEN for the type (data PDUs within the limit the
 * receiver set: MAXH2CDATA towards a controller), PDO, DATAL, then the header digest. A failed
 * check terminates the connection naming the field ({@link TcpConnection#terminate}).
 *
 * <p>Data PDUs (C2HData, H2CData) stream through the handler's
 * {@code onDataStart/onData/onDataEnd}; every other PDU is delivered whole, a capsule with its
 * in-capsule data and the data digest's verdict. A handler may refuse a whole PDU for now (the
 * target has no buffer for its data yet): parsing then pauses on it, and nothing more is
 * received, until {@link TcpConnection#resume}.
 *
 * <p>Thread-safety: reactor-confined, owned by one connection.
 */
final class PduReader {
    private final TcpConnection conn;
    private final ConnectionHandler handler;
    private final ConnectionLimits limits;
    private final boolean controller;
    private final Crc32cDigest crc = new Crc32cDigest();
    /**
     * The data digest of the payload being received, apart from {@link #crc}: a payload spans
     * receives, and what runs between them may use the other.
     */
    private final Crc32cDigest dataCrc = new Crc32cDigest();

    private Arena arena;
    private RecvBuffer in;
    private MemorySegment recv;
    private ByteBuffer view;
    /** Payload bytes of the current data PDU still to come (0: between PDUs). */
    private long dataRemaining;
    private boolean dataDigested;
    /** The payload is in; its 4-byte data digest is next. */
    private boolean digestPending;
    private int dataFlags;
    /** The handler refused the PDU at {@link RecvBuffer#start()} for now. */
    private boolean paused;
    /** Where the PDU being handled starts, if its header came in this parse (-1: an earlier one). */
    private long pduBase;
    /** Its type, for messages. */
    private int pduType;

    PduReader(TcpConnection conn, ConnectionHandler handler, ConnectionLimits limits, boolean controller) {
        this.conn = conn;
        this.handler = handler;
        this.limits = limits;
        this.controller = controller;
        use(Arena.ofShared(), limits.recvInitial());
    }

    private void use(Arena a, int size) {
        RecvBuffer b = new RecvBuffer(a, size, Math.min(size, limits.recvLargestPdu()));
        if (in != null) {
            in.moveUnparsedTo(b);
            Arena old = arena;
            arena = a;
            setBuffer(b);
            old.close();
        } else {
            arena = a;
            setBuffer(b);
        }
    }

    private void setBuffer(RecvBuffer b) {
        in = b;
        recv = b.segment();
        view = b.view();
    }

    int capacity() {
        return in.capacity();
    }

    boolean inFlight() {
        return in.inFlight();
    }

    boolean paused() {
        return paused;
    }

    void resume() {
        paused = false;
    }

    /** Forgets everything received (a connection starting over). */
    void reset() {
        in.reset();
        dataRemaining = 0;
        digestPending = false;
        paused = false;
    }

    /** Stops taking payload (the connection failed). */
    void stop() {
        dataRemaining = 0;
        digestPending = false;
    }

    void close() {
        arena.close();
    }

    /**
     * Grows the buffer to hold at least {@code bytes} (at most {@code recvMax}), keeping what is
     * unparsed. Only between receives; the handler hears the change in memory.
     */
    private void grow(int bytes) {
        int size = Math.min(limits.recvMax(), Math.max(bytes, 2 * in.capacity()));
        if (size <= in.capacity() || in.inFlight()) {
            return;
        }
        size = (size + 4095) & ~4095;
        int before = in.capacity();
        use(Arena.ofShared(), size);
        handler.onMemoryChanged(in.capacity() - before);
    }

    /** Starts a receive unless one is in flight or parsing is paused; false when the ring refused it. */
    boolean post(IoUring ring, int fd, long userData) {
        if (in.inFlight() || paused) {
            return true;
        }
        if (in.free() < in.capacity() / 4 && in.start() == 0) {
            // Full of unparsed bytes that are not a whole PDU yet (or a burst): room first.
            grow(2 * in.capacity());
        }
        if (in.free() == 0 && in.start() == 0) {
            return true;    // nothing fits until something is parsed (cannot happen: grow made room)
        }
        return in.post(ring, fd, userData);
    }

    /** Accounts a receive completion. */
    void onReceived(int res) {
        boolean filled = res > 0 && res == in.free();
        in.onReceived(res);
        if (filled && in.capacity() < limits.recvMax()) {
            // The receive took all the room there was: more is waiting, so take more at a time.
            grow(2 * in.capacity());
        }
    }

    /** Whether a PDU of {@code type} may come this way (§3.6.1, PDU direction). */
    private boolean accepts(int type) {
        return controller
                ? type == ICREQ || type == H2C_TERM_REQ || type == CAPSULE_CMD || type == H2C_DATA
                : type == ICRESP || type == C2H_TERM_REQ || type == CAPSULE_RESP || type == C2H_DATA || type == R2T;
    }

    /** Parses everything received: whole PDUs, and the payload of a data PDU as it comes. */
    void parse() {
        pduBase = -1;
        try {
            parseLoop();
        } catch (RuntimeException e) {
            // A handler bug the PDU provoked: the PDU is what the TermReq names.
            handler.onHandlerFailure("PDU type " + pduType, e);
            if (!conn.receiving()) {
                return;     // the handler ended the connection (its buffer may be gone)
            }
            String why = "internal error on PDU type " + pduType + ": " + e;
            if (pduBase >= 0) {
                terminate(FES_INVALID_PDU_HEADER_FIELD, 0, pduBase, why);
            } else {
                // Mid-payload: the header came in an earlier receive and may be overwritten.
                conn.terminate(FES_INVALID_PDU_HEADER_FIELD, 0, recv, 0, 0, why);
            }
        }
    }

    private void parseLoop() {
        while (conn.receiving() && !paused) {
            int available = in.available();
            long at = in.start();
            if (dataRemaining > 0) {
                if (available == 0) {
                    return;
                }
                int n = (int) Math.min(available, dataRemaining);
                if (dataDigested) {
                    dataCrc.update(view, (int) at, n);
                }
                in.consume(n);
                dataRemaining -= n;
                handler.onData(recv, at, n);
                if (dataRemaining == 0 && conn.receiving()) {
                    if (dataDigested) {
                        digestPending = true;
                    } else {
                        handler.onDataEnd(dataFlags, true);
                    }
                }
                continue;
            }
            if (digestPending) {
                if (available < DIGEST_LENGTH) {
                    return;
                }
                int got = recv.get(ValueLayout.JAVA_INT_UNALIGNED, at);
                in.consume(DIGEST_LENGTH);
                digestPending = false;
                handler.onDataEnd(dataFlags, got == dataCrc.value());
                continue;
            }
            if (available < COMMON_HEADER_LENGTH || !parseHeader(at, available)) {
                return;
            }
        }
    }

    private boolean bad(int fes, long field, long base, String why) {
        String what = why + " (header " + commonHeader(base) + ")";
        int type = type(recv, base);
        if (conn.handshaking() && type != ICREQ && type != ICRESP) {
            // The peer's first PDU is not even of a handshake type: most likely another protocol on this port.
            what = "not an NVMe/TCP " + (controller ? "host" : "target") + ": its first bytes are " + printable(base)
                    + ", not an " + (controller ? "ICReq" : "ICResp") + " (" + what + ")";
        }
        terminate(fes, (int) field, base, what);
        return false;
    }

    /** The first bytes at {@code base} as text, as far as they are printable ASCII: {@code "HTTP/1.1"}. */
    private String printable(long base) {
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < COMMON_HEADER_LENGTH && base + i < in.end(); i++) {
            int c = u8(recv, base + i);
            b.append(c >= 0x20 && c < 0x7f ? (char) c : '.');
        }
        return b.append('"').toString();
    }

    /** The 8 bytes of the common header at {@code base}, in hex, for messages. */
    private String commonHeader(long base) {
        StringBuilder b = new StringBuilder(2 * COMMON_HEADER_LENGTH);
        for (int i = 0; i < COMMON_HEADER_LENGTH && base + i < in.end(); i++) {
            b.append(String.format("%02x", u8(recv, base + i)));
        }
        return b.toString();
    }

    /** {@link TcpConnection#terminate} for the PDU at {@code base}: its header (as much as came) goes into the TermReq. */
    void terminate(int fes, int fieldOffset, long base, String why) {
        int hlen = hlen(recv, base);
        int copy = Math.max(0, Math.min(in.end() - (int) base, Math.min(TERM_REQ_MAX_DATA,
                hlen == 0 ? COMMON_HEADER_LENGTH : hlen)));
        conn.terminate(fes, fieldOffset, recv, base, copy, why);
    }

    /** Checks and dispatches the PDU whose header starts at {@code base}; false when more bytes must come first. */
    private boolean parseHeader(long base, int available) {
        pduBase = base;
        int type = type(recv, base);
        pduType = type;
        int flags = flags(recv, base);
        int hlen = hlen(recv, base);
        int pdo = pdo(recv, base);
        long plen = plen(recv, base);
        int expected = expectedHlen(type);
        if (expected < 0 || !accepts(type)) {
            return bad(FES_INVALID_PDU_HEADER_FIELD, TYPE_OFFSET, base, "PDU type " + type + " cannot come to a "
                    + (controller ? "controller" : "host"));
        }
        if (hlen != expected) {
            return bad(FES_INVALID_PDU_HEADER_FIELD, HLEN_OFFSET, base, "PDU type " + type + " with HLEN " + hlen);
        }
        boolean handshake = type == ICREQ || type == ICRESP;
        if (conn.handshaking() != handshake) {
            return bad(FES_PDU_SEQUENCE_ERROR, 0, base, "PDU type " + type + " where it cannot come ("
                    + conn.state() + ")");
        }
        boolean undigested = handshake || type == H2C_TERM_REQ || type == C2H_TERM_REQ;
        boolean hdOn = !undigested && conn.headerDigest();
        boolean mayCarryData = type == CAPSULE_CMD || type == H2C_DATA || type == C2H_DATA;
        if (!undigested && (((flags & FLAG_HDGSTF) != 0) != hdOn
                || ((flags & FLAG_DDGSTF) != 0 && (!conn.dataDigest() || !mayCarryData)))) {
            return bad(FES_INVALID_PDU_HEADER_FIELD, FLAGS_OFFSET, base, "PDU type " + type + " with flags " + flags
                    + " but digests " + (conn.headerDigest() ? "H" : "-") + (conn.dataDigest() ? "D" : "-"));
        }
        int headerBytes = hlen + (hdOn ? DIGEST_LENGTH : 0);
        if (hdOn) {
            // A header that fails its digest says nothing reliable: checked before its fields.
            if (available < headerBytes) {
                return false;
            }
            if (!headerDigestMatches(base, hlen)) {
                return bad(FES_HEADER_DIGEST_ERROR, 0, base, "header digest error");
            }
        }
        int dd = mayCarryData && conn.dataDigest() ? DIGEST_LENGTH : 0;
        boolean dataPdu = type == H2C_DATA || type == C2H_DATA;
        long maxData = type == CAPSULE_CMD ? limits.maxInCapsuleData()
                : type == H2C_DATA ? limits.maxH2CData() : type == C2H_DATA ? 0xFFFF_FFFFL : 0;
        long minPlen = dataPdu ? headerBytes + dd + 1 : headerBytes;
        long maxPlen = type == H2C_TERM_REQ || type == C2H_TERM_REQ ? hlen + TERM_REQ_MAX_DATA
                : headerBytes + (maxData > 0 ? maxData + dd : 0);
        if (plen < minPlen || plen > maxPlen) {
            return bad(dataPdu && plen > maxPlen ? FES_DATA_TRANSFER_LIMIT_EXCEEDED : FES_INVALID_PDU_HEADER_FIELD,
                    PLEN_OFFSET, base, "PDU type " + type + " with PLEN " + plen + " (" + minPlen + " to " + maxPlen
                            + ")");
        }
        boolean hasData = mayCarryData && plen > headerBytes;
        if (hasData ? pdo != headerBytes : !mayCarryData && !undigested && pdo != 0) {
            // CPDA and HPDA are 0: data starts right after the header and its digest (§3.6.2.1).
            return bad(FES_INVALID_PDU_HEADER_FIELD, PDO_OFFSET, base, "PDU type " + type + " with PDO " + pdo
                    + " (header " + headerBytes + " bytes)");
        }
        if (hasData && dd > 0 && ((flags & FLAG_DDGSTF) == 0 || plen <= headerBytes + dd)) {
            // Data digests on: a PDU with data carries one (§3.6.2.1), after at least a byte of data.
            return bad(FES_INVALID_PDU_HEADER_FIELD, (flags & FLAG_DDGSTF) == 0 ? FLAGS_OFFSET : PLEN_OFFSET, base,
                    "PDU type " + type + " with data, PLEN " + plen + ", DDGSTF " + ((flags & FLAG_DDGSTF) != 0)
                            + " but data digests on");
        }
        if (dataPdu) {
            if (available < headerBytes) {
                return false;
            }
            long datal = u32(recv, base + DATAL_OFFSET);
            if (datal != plen - headerBytes - dd) {
                return bad(FES_INVALID_PDU_HEADER_FIELD, DATAL_OFFSET, base, "data PDU with DATAL " + datal
                        + " in a PLEN of " + plen);
            }
            in.consume(headerBytes);
            dataRemaining = datal;
            dataDigested = dd > 0;
            dataFlags = flags;
            if (dataDigested) {
                dataCrc.begin();
            }
            if (!handler.onDataStart(type, flags, recv, base)) {
                dataRemaining = 0;
                if (conn.receiving()) {
                    conn.fail("refused data PDU", TcpConnection.EPROTO);   // the handler should have; make sure
                }
                return false;
            }
            return conn.receiving();
        }
        if (available < plen) {
            if (plen > in.capacity()) {
                grow((int) plen);
            }
            return false;
        }
        if (handshake) {
            in.consume((int) plen);
            conn.onHandshake(type, recv, base);
            return true;
        }
        int dataOffset = (int) base + headerBytes;
        int dataLength = hasData ? (int) plen - headerBytes - dd : type == C2H_TERM_REQ || type == H2C_TERM_REQ
                ? (int) plen - hlen : 0;
        boolean intact = !hasData || dd == 0 || crc.of(view, dataOffset, dataLength)
                == recv.get(ValueLayout.JAVA_INT_UNALIGNED, dataOffset + dataLength);
        // Consumed before the handler runs: it may end the connection and start a new one on this buffer.
        in.consume((int) plen);
        if (!handler.onPdu(type, flags, recv, base, dataOffset, dataLength, intact)) {
            in.unconsume((int) plen);   // refused for now: it is parsed again on resume
            paused = conn.receiving();
            return false;
        }
        return true;
    }

    private boolean headerDigestMatches(long base, int hlen) {
        return crc.of(view, (int) base, hlen) == recv.get(ValueLayout.JAVA_INT_UNALIGNED, base + hlen);
    }
}
