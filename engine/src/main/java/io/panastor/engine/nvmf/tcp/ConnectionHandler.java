package io.panastor.engine.nvmf.tcp;

import java.lang.foreign.MemorySegment;

/**
 * What the PDUs of a {@link TcpConnection} mean — a host IO queue, a host admin queue, a
 * target queue pair: called on the reactor, from the connection's completions.
 */
public interface ConnectionHandler {
    /**
     * The handshake is done: a host's ICResp was accepted, or a controller answered the
     * ICReq. Digests and MAXH2CDATA are known; commands may flow.
     */
    void onReady();

    /**
     * A whole non-data PDU, header digest checked, at {@code base} in {@code pdu} (valid
     * until this call returns), with its data ({@code dataLength} bytes at
     * {@code dataOffset}: a capsule's in-capsule data, a TermReq's copy of the offending
     * PDU) and whether the data digest matched.
     *
     * @return true when the PDU is taken; false to leave it unparsed and pause the stream
     *         until {@link TcpConnection#resume} (nothing more is received meanwhile)
     */
    boolean onPdu(int type, int flags, MemorySegment pdu, long base, int dataOffset, int dataLength,
                  boolean dataIntact);

    /**
     * The header of a data PDU ({@code DATAL} bytes follow), checked as far as the
     * transport goes. The handler checks it against its command; if it refuses, it calls
     * {@link TcpConnection#terminate} or {@link TcpConnection#fail} and returns false.
     */
    boolean onDataStart(int type, int flags, MemorySegment pdu, long base);

    /** The next {@code length} payload bytes of the data PDU being received, at {@code at} in {@code from}. */
    void onData(MemorySegment from, long at, int length);

    /** The data PDU's payload is complete; {@code intact} is false when its data digest did not match. */
    void onDataEnd(int flags, boolean intact);

    /** The send of side {@code side} completed: what it carried is on the wire, and there is room again. */
    void onSent(int side);

    /** The connection is closed: {@code why}, with an errno for the commands that were in flight. */
    void onClosed(String why, int errno);

    /** A fatal transport error in the peer's PDUs: status {@code fes}, field at {@code fieldOffset}. */
    default void onTransportError(int fes, int fieldOffset, String why) {
    }

    /** The handler threw {@code e} while handling {@code what}; the connection ends. */
    default void onHandlerFailure(String what, RuntimeException e) {
        System.getLogger(ConnectionHandler.class.getName())
                .log(System.Logger.Level.WARNING, "NVMe/TCP handler failed on " + what, e);
    }

    /** The connection's native memory changed by {@code delta} bytes (its receive buffer grew). */
    default void onMemoryChanged(long delta) {
    }

    /** A send made no progress for the send-stall timeout (the peer reads nothing): the connection fails. */
    default void onSendStalled(long timeoutNanos) {
    }
}
