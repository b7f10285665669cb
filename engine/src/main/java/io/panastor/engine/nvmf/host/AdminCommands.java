package io.panastor.engine.nvmf.host;

import static io.panastor.engine.nvmf.proto.TcpPdu.*;

import io.panastor.engine.nvmf.proto.NvmeCommand;
import io.panastor.engine.nvmf.proto.NvmeCompletion;
import io.panastor.engine.nvmf.proto.NvmeStatus;
import io.panastor.engine.nvmf.tcp.TcpConnection;
import io.panastor.reactor.Reactor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The commands in flight on an admin queue, matched to their replies by CID (never by order):
 * each has its own deadline on the reactor's timers, its own accounting of the data it asked
 * for (a reply completes successfully only when exactly those bytes arrived, in order, each
 * once), and a callback. CIDs are handed out from a FIFO, so a CID is reused as late as
 * possible and a late or duplicated reply cannot be taken for a newer command's: any reply to
 * a CID with nothing in flight is a protocol error.
 *
 * <p>Thread-safety: reactor-confined (the admin queue's home reactor).
 */
final class AdminCommands {
    /** Admin queue entries asked for in Connect (SQSIZE is 0's based). */
    static final int QUEUE_SIZE = 32;

    /** What becomes of a command: called once, on the reactor. */
    interface Reply {
        /**
         * @param status NVMe status ({@link NvmeStatus} encoding), or -1 when the command
         *               never completed (timed out, or the connection ended); {@code why} says
         * @param dw     the completion's DW0 (low half) and DW1 (high half)
         */
        void onReply(int status, long dw, byte[] data, String why);
    }

    private final Reactor reactor;
    private final TcpConnection conn;
    private final Reply[] replies = new Reply[QUEUE_SIZE];
    private final String[] what = new String[QUEUE_SIZE];
    private final byte[][] data = new byte[QUEUE_SIZE][];
    private final int[] received = new int[QUEUE_SIZE];
    private final boolean[] dataDone = new boolean[QUEUE_SIZE];
    private final long[] timers = new long[QUEUE_SIZE];
    private final int[] free = new int[QUEUE_SIZE];
    private int freeHead;
    private int freeCount;
    private int inFlight;
    /** The command whose C2HData payload is arriving, or -1. */
    private int receiving = -1;

    AdminCommands(Reactor reactor, TcpConnection conn) {
        this.reactor = reactor;
        this.conn = conn;
        for (int i = 0; i < QUEUE_SIZE; i++) {
            free[i] = i;
        }
        freeCount = QUEUE_SIZE;
    }

    int inFlight() {
        return inFlight;
    }

    /** Writes a command's SQE (a proto writer: {@code IdentifyCommand.write}, ...) with the CID it is given. */
    interface Sqe {
        void write(MemorySegment s, long sqe, int cid);
    }

    /**
     * Sends one command, its SQE written by {@code sqe}; {@code inCapsule} is its write data
     * (or null), {@code dataIn} the bytes it reads back. False (and nothing sent) when no CID
     * or send room is free.
     */
    boolean send(String name, Sqe sqeWriter, byte[] inCapsule, int dataIn, long timeoutNanos, Reply reply) {
        if (freeCount == 0 || conn.state() != TcpConnection.State.READY) {
            return false;
        }
        int hd = conn.hd();
        int dataLen = inCapsule == null ? 0 : inCapsule.length;
        int dd = dataLen > 0 ? conn.dd() : 0;
        int plen = CAPSULE_CMD_HLEN + hd + dataLen + dd;
        int at = conn.reserve(plen);
        if (at < 0) {
            return false;
        }
        int cid = free[freeHead];
        freeHead = (freeHead + 1) % QUEUE_SIZE;
        freeCount--;
        inFlight++;
        replies[cid] = reply;
        what[cid] = name;
        data[cid] = dataIn > 0 ? new byte[dataIn] : null;
        received[cid] = 0;
        dataDone[cid] = false;
        MemorySegment s = conn.filling();
        s.asSlice(at, plen).fill((byte) 0);
        header(s, at, CAPSULE_CMD, (hd > 0 ? FLAG_HDGSTF : 0) | (dd > 0 ? FLAG_DDGSTF : 0), CAPSULE_CMD_HLEN,
                dataLen > 0 ? CAPSULE_CMD_HLEN + hd : 0, plen);
        long sqe = at + SQE_OFFSET;
        sqeWriter.write(s, sqe, cid);
        if (dataLen > 0) {
            NvmeCommand.sgl(s, sqe, NvmeCommand.SGL_IN_CAPSULE, 0, dataLen);
        } else if (dataIn > 0) {
            NvmeCommand.sgl(s, sqe, NvmeCommand.SGL_TRANSPORT, 0, dataIn);
        }
        conn.sealHeader(at, CAPSULE_CMD_HLEN);
        if (dataLen > 0) {
            long d = at + CAPSULE_CMD_HLEN + hd;
            MemorySegment.copy(inCapsule, 0, s, ValueLayout.JAVA_BYTE, d, dataLen);
            if (dd > 0) {
                u32(s, d + dataLen, Integer.toUnsignedLong(conn.digestOfFilling((int) d, dataLen)));
            }
        }
        timers[cid] = reactor.scheduleTimer(timeoutNanos, () -> {
            timers[cid] = -1;
            if (replies[cid] != null) {
                conn.fail("admin command " + name + " (cid " + cid + ") got no reply in time", io.panastor.natives.Errno.ETIMEDOUT);
            }
        });
        conn.flush();
        return true;
    }

    private void finish(int cid, int status, long dw0, String why) {
        Reply r = replies[cid];
        byte[] d = data[cid];
        replies[cid] = null;
        data[cid] = null;
        what[cid] = null;
        if (timers[cid] >= 0) {
            reactor.cancelTimer(timers[cid]);
            timers[cid] = -1;
        }
        free[(freeHead + freeCount) % QUEUE_SIZE] = cid;
        freeCount++;
        inFlight--;
        r.onReply(status, dw0, d, why);
    }

    /** The connection ended: every command in flight fails with {@code why}. */
    void failAll(String why) {
        receiving = -1;
        for (int cid = 0; cid < QUEUE_SIZE; cid++) {
            if (replies[cid] != null) {
                finish(cid, -1, 0, why);
            }
        }
    }

    // ---------------------------------------------------------------- replies

    void onCapsuleResp(MemorySegment pdu, long base) {
        long cqe = base + CQE_OFFSET;
        int cid = NvmeCompletion.cid(pdu, cqe);
        if (cid >= QUEUE_SIZE || replies[cid] == null) {
            conn.protocolError("a completion for admin cid " + cid + ", which has no command in flight");
            return;
        }
        int status = NvmeCompletion.status(pdu, cqe);
        if (status == NvmeStatus.SUCCESS && data[cid] != null && !dataDone[cid]) {
            conn.protocolError("admin command " + what[cid] + " completed successfully with " + received[cid]
                    + " of its " + data[cid].length + " data bytes");
            return;
        }
        // DW1 too: an 8-byte Property Get (CAP) returns its upper half there.
        finish(cid, status, NvmeCompletion.dw0(pdu, cqe) | (u32(pdu, cqe + NvmeCompletion.DW1_OFFSET) << 32), null);
    }

    boolean onDataStart(int flags, MemorySegment pdu, long base) {
        int cid = u16(pdu, base + CCCID_OFFSET);
        long datao = u32(pdu, base + DATAO_OFFSET);
        long datal = u32(pdu, base + DATAL_OFFSET);
        byte[] d = cid < QUEUE_SIZE && replies[cid] != null ? data[cid] : null;
        if (d == null || dataDone[cid]) {
            conn.protocolError("C2HData for admin cid " + cid + ", which reads no (more) data");
            return false;
        }
        if (datao != received[cid] || datal > d.length - (long) received[cid]) {
            conn.protocolError("C2HData for admin cid " + cid + " at offset " + datao + " (+" + datal + ") where "
                    + received[cid] + " of " + d.length + " bytes have arrived");
            return false;
        }
        if ((flags & FLAG_SUCCESS) != 0 && (flags & FLAG_LAST_PDU) == 0) {
            conn.protocolError("C2HData with SUCCESS but not LAST_PDU");
            return false;
        }
        receiving = cid;
        return true;
    }

    void onData(MemorySegment from, long at, int length) {
        int cid = receiving;
        MemorySegment.copy(from, ValueLayout.JAVA_BYTE, at, data[cid], received[cid], length);
        received[cid] += length;
    }

    void onDataEnd(int flags) {
        int cid = receiving;
        receiving = -1;
        boolean complete = received[cid] == data[cid].length;
        if ((flags & FLAG_LAST_PDU) != 0) {
            if (!complete) {
                conn.protocolError("LAST_PDU after " + received[cid] + " of " + data[cid].length + " bytes for admin cid "
                        + cid);
                return;
            }
            dataDone[cid] = true;
        }
        if ((flags & FLAG_SUCCESS) != 0) {
            finish(cid, NvmeStatus.SUCCESS, 0, null);
        }
    }
}
