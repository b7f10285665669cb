package io.panastor.engine.nvmf.tgt;

import static io.panastor.engine.nvmf.proto.TcpPdu.*;

import io.panastor.engine.nvmf.proto.NvmeCompletion;
import io.panastor.engine.nvmf.proto.NvmeStatus;
import io.panastor.engine.nvmf.proto.TcpPduReserved;
import io.panastor.engine.nvmf.tcp.Crc32cDigest;
import io.panastor.engine.nvmf.tcp.SendBuffers;
import java.lang.foreign.MemorySegment;

/**
 * The send side of a target connection: R2Ts, C2HData with the CapsuleResp after it (or the
 * SUCCESS flag instead), ICResp and C2HTermReq, built in place in the {@link SendBuffers}
 * filling side, with digests as negotiated. C2H payloads of {@link QueuePair#GATHER_MIN_BYTES}
 * and up are gathered from the request's buffer instead of copied; such requests are held
 * here until the send of their side completes. Each {@code try*} returns false when the PDUs
 * do not fit now (the caller queues the request and retries after the next send).
 *
 * <p>Thread-safety: reactor-confined, owned by one {@link QueuePair}.
 */
final class ResponseWriter {
    private final QueuePair q;
    final SendBuffers out;
    private final Crc32cDigest crc = new Crc32cDigest();
    /** Requests whose data is gathered into each send side, released when that side's send completes. */
    private final NvmfRequest[][] held = new NvmfRequest[2][QueuePair.MAX_QUEUE_DEPTH];
    private final int[] heldCounts = new int[2];
    private boolean headerDigest;
    private boolean dataDigest;

    ResponseWriter(QueuePair q, SendBuffers out) {
        this.q = q;
        this.out = out;
    }

    /** Digests apply to every PDU after the ICResp (NVMe/TCP 1.0 §3.6.2.2). */
    void digests(boolean header, boolean data) {
        headerDigest = header;
        dataDigest = data;
    }

    /** Forgets held requests (the connection is closing; it frees every request itself). */
    void clearHeld() {
        for (int side = 0; side < 2; side++) {
            for (int i = 0; i < heldCounts[side]; i++) {
                held[side][i] = null;
            }
            heldCounts[side] = 0;
        }
    }

    boolean tryR2T(NvmfRequest req) {
        int hd = headerDigest ? DIGEST_LENGTH : 0;
        int at = out.reserve(R2T_HLEN + hd);
        if (at < 0) {
            return false;
        }
        MemorySegment s = out.filling();
        header(s, at, R2T, headerDigest ? FLAG_HDGSTF : 0, R2T_HLEN, 0, R2T_HLEN + hd);
        u16(s, at + CCCID_OFFSET, req.cid);
        u16(s, at + TTAG_OFFSET, req.index);
        u32(s, at + R2TO_OFFSET, 0);
        u32(s, at + R2TL_OFFSET, req.length);
        u32(s, at + TcpPduReserved.DATA_RESERVED_OFFSET, 0);
        if (headerDigest) {
            u32(s, at + R2T_HLEN, Integer.toUnsignedLong(crc.of(out.fillingView(), at, R2T_HLEN)));
        }
        req.state = NvmfRequest.State.AWAIT_H2C_DATA;
        return true;
    }

    boolean tryRespond(NvmfRequest req) {
        int hd = headerDigest ? DIGEST_LENGTH : 0;
        int dd = dataDigest ? DIGEST_LENGTH : 0;
        boolean withData = req.status == NvmeStatus.SUCCESS && req.direction == NvmfRequest.DIR_CONTROLLER_TO_HOST
                && req.transfer > 0;
        // The SUCCESS flag replaces the response only when the host turned SQ flow control off (§3.6.2.9).
        boolean successFlag = withData && q.sqFlowControlDisabled();
        int dataPdu = withData ? DATA_HLEN + hd + req.transfer + dd : 0;
        int respPdu = successFlag ? 0 : CAPSULE_RESP_HLEN + hd;
        // Larger payloads go on the wire from the request's own buffer (no copy into the send
        // buffer); the request is then held until that send completes.
        boolean gather = withData && req.transfer >= QueuePair.GATHER_MIN_BYTES;
        if (gather && (!out.canAppendExternal() || out.room() < dataPdu - req.transfer + respPdu)) {
            return false;
        }
        if (gather) {
            int side = out.fillingIndex();
            int at = out.reserve(DATA_HLEN + hd);
            MemorySegment s = out.filling();
            c2hHeader(s, at, req, successFlag, dataPdu);
            out.appendExternal(req.buffer.address(), req.transfer);
            if (dataDigest) {
                u32(s, out.reserve(DIGEST_LENGTH), Integer.toUnsignedLong(crc.of(req.bufferView, 0, req.transfer)));
            }
            if (!successFlag) {
                capsuleResp(s, out.reserve(respPdu), req, respPdu);
            }
            req.state = NvmfRequest.State.SENDING;
            held[side][heldCounts[side]++] = req;
            return true;
        }
        int at = out.reserve(dataPdu + respPdu);
        if (at < 0) {
            return false;
        }
        MemorySegment s = out.filling();
        if (withData) {
            c2hHeader(s, at, req, successFlag, dataPdu);
            int data = at + DATA_HLEN + hd;
            MemorySegment.copy(req.buffer, 0, s, data, req.transfer);
            if (dataDigest) {
                u32(s, data + req.transfer, Integer.toUnsignedLong(crc.of(out.fillingView(), data, req.transfer)));
            }
            at += dataPdu;
        }
        if (!successFlag) {
            capsuleResp(s, at, req, respPdu);
        }
        q.release(req);
        return true;
    }

    /** A C2HData header (and its digest) for all of {@code req}'s data, at {@code at} of the filling buffer. */
    private void c2hHeader(MemorySegment s, int at, NvmfRequest req, boolean successFlag, int plen) {
        int hd = headerDigest ? DIGEST_LENGTH : 0;
        int pflags = FLAG_LAST_PDU | (successFlag ? FLAG_SUCCESS : 0) | (headerDigest ? FLAG_HDGSTF : 0)
                | (dataDigest ? FLAG_DDGSTF : 0);
        header(s, at, C2H_DATA, pflags, DATA_HLEN, DATA_HLEN + hd, plen);
        u16(s, at + CCCID_OFFSET, req.cid);
        u16(s, at + TTAG_OFFSET, 0);
        u32(s, at + DATAO_OFFSET, 0);
        u32(s, at + DATAL_OFFSET, req.transfer);
        u32(s, at + TcpPduReserved.DATA_RESERVED_OFFSET, 0);
        if (headerDigest) {
            u32(s, at + DATA_HLEN, Integer.toUnsignedLong(crc.of(out.fillingView(), at, DATA_HLEN)));
        }
    }

    /** A CapsuleResp for {@code req} at {@code at} of the filling buffer. */
    private void capsuleResp(MemorySegment s, int at, NvmfRequest req, int plen) {
        header(s, at, CAPSULE_RESP, headerDigest ? FLAG_HDGSTF : 0, CAPSULE_RESP_HLEN, 0, plen);
        NvmeCompletion.write(s, at + CQE_OFFSET, req.dw0, req.dw1, q.sqHead(), Math.max(q.qid, 0), req.cid, req.status);
        if (headerDigest) {
            u32(s, at + CAPSULE_RESP_HLEN, Integer.toUnsignedLong(crc.of(out.fillingView(), at, CAPSULE_RESP_HLEN)));
        }
    }

    /** The send of {@code side} completed: the requests whose data it carried are free again. */
    void releaseHeld(int side) {
        NvmfRequest[] h = held[side];
        for (int i = 0; i < heldCounts[side]; i++) {
            q.release(h[i]);
            h[i] = null;
        }
        heldCounts[side] = 0;
    }
}
