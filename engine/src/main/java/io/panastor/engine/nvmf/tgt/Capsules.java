package io.panastor.engine.nvmf.tgt;

import static io.panastor.engine.nvmf.proto.TcpPdu.*;

import io.panastor.engine.nvmf.proto.NvmeCommand;
import io.panastor.engine.nvmf.proto.NvmeOpcodes;
import io.panastor.engine.nvmf.proto.NvmeStatus;
import java.lang.foreign.MemorySegment;

/**
 * What a queue pair does with a parsed CapsuleCmd or H2CData: takes a request slot, checks the
 * command's SGL against the data that came with it (in-capsule data, or an R2T for it), runs
 * the command once its data is in — fabrics commands here, admin and NVM commands in
 * {@link AdminCommands} and {@link IoCommands} — and counts and contains handler failures.
 * Stateless: the state is the {@link QueuePair}'s and its requests'. Reactor-confined.
 */
final class Capsules {
    private Capsules() {
    }

    static void onCapsuleCmd(QueuePair q, MemorySegment pdu, long base, int dataOffset, int dataLength,
                             boolean dataIntact, DataBuffer lent) {
        NvmfRequest req = q.requests.take();
        if (req == null) {
            // The host sent more commands than its queue holds.
            if (lent != null) {
                q.giveBack(lent);
            }
            q.fatal(FES_PDU_SEQUENCE_ERROR, 0, base, "more commands than the queue's " + q.capacity() + " entries");
            return;
        }
        req.attach(lent);
        MemorySegment.copy(pdu, base + SQE_OFFSET, req.sqe, 0, NvmeCommand.SIZE);
        req.cid = NvmeCommand.cid(req.sqe, 0);
        req.status = NvmeStatus.SUCCESS;
        req.dw0 = 0;
        req.dw1 = 0;
        req.received = 0;
        req.transfer = 0;
        req.pendingIos = 0;
        req.nextWaiting = null;
        req.state = NvmfRequest.State.EXECUTING;
        q.commands++;
        q.sqHead = q.depth > 0 ? (q.sqHead + 1) % q.depth : q.sqHead + 1;
        int opcode = req.opcode();
        req.direction = (opcode == NvmeOpcodes.FABRICS ? NvmeCommand.fctype(req.sqe, 0) : opcode)
                & NvmfRequest.DIRECTION_MASK;
        if (!dataIntact) {
            // A data digest error fails the command, not the connection (§3.6.2.5): "transient transport error".
            q.finish(req, NvmeStatus.TRANSIENT_TRANSPORT_ERROR);
            return;
        }
        int sglId = NvmeCommand.sglId(req.sqe, 0);
        long sglLength = NvmeCommand.sglLength(req.sqe, 0);
        if (req.direction == NvmfRequest.DIR_NONE || (sglLength == 0 && dataLength == 0)) {
            // No data moves (Set Features without data, say): the command's own checks decide.
            req.length = 0;
            execute(q, req);
            return;
        }
        // Data is described by SGLs, PSDT 01b, on every fabrics queue (NVMe over Fabrics 1.1 §2.2).
        if (NvmeCommand.psdt(req.sqe, 0) != NvmeCommand.PSDT_SGL && opcode != NvmeOpcodes.FABRICS) {
            q.finish(req, NvmeStatus.INVALID_FIELD);
            return;
        }
        if (sglLength > QueuePair.MAX_TRANSFER) {
            q.finish(req, NvmeStatus.DATA_SGL_LENGTH_INVALID);
            return;
        }
        req.length = (int) sglLength;
        if (sglId == NvmeCommand.SGL_IN_CAPSULE) {
            long offset = NvmeCommand.sglAddress(req.sqe, 0);
            // Offset and length are unsigned 64/32-bit: compared so that no sum can overflow.
            boolean offsetBad = offset < 0 || offset > dataLength;
            if (req.direction != NvmfRequest.DIR_HOST_TO_CONTROLLER || offsetBad || sglLength > dataLength - offset) {
                q.finish(req, offsetBad ? NvmeStatus.SGL_OFFSET_INVALID
                        : req.direction != NvmfRequest.DIR_HOST_TO_CONTROLLER || sglLength > dataLength - offset
                        ? NvmeStatus.DATA_SGL_LENGTH_INVALID : NvmeStatus.SGL_OFFSET_INVALID);
                return;
            }
            if (sglLength > 0) {
                // (An SGL of length 0 with in-capsule data moves nothing: no buffer was lent for it.)
                MemorySegment.copy(pdu, dataOffset + offset, req.buffer, 0, sglLength);
            }
            req.received = req.length;
            execute(q, req);
        } else if (sglId == NvmeCommand.SGL_TRANSPORT) {
            if (dataLength > 0) {
                q.finish(req, NvmeStatus.SGL_DESCRIPTOR_TYPE_INVALID);
                return;
            }
            if (q.lendOrWait(req)) {
                withBuffer(q, req);
            }
        } else {
            q.finish(req, NvmeStatus.SGL_DESCRIPTOR_TYPE_INVALID);
        }
    }

    /**
     * Checks an H2CData header against the R2T it answers; its payload then streams into the
     * request's buffer. Returns the request, or null when the PDU is refused (the connection is
     * terminated naming the field).
     */
    static NvmfRequest onH2CDataStart(QueuePair q, MemorySegment pdu, long base, int flags) {
        int ttag = u16(pdu, base + TTAG_OFFSET);
        int cccid = u16(pdu, base + CCCID_OFFSET);
        long datao = u32(pdu, base + DATAO_OFFSET);
        long datal = u32(pdu, base + DATAL_OFFSET);
        NvmfRequest req = q.requests.byTag(ttag);
        if (req == null || req.state != NvmfRequest.State.AWAIT_H2C_DATA || req.cid != cccid) {
            q.fatal(FES_INVALID_PDU_HEADER_FIELD, (int) TTAG_OFFSET, base, "H2CData for ttag " + ttag + ", cid "
                    + cccid + ", which awaits no data");
            return null;
        }
        if (datao != req.received || datao + datal > req.length) {
            q.fatal(FES_DATA_TRANSFER_OUT_OF_RANGE, (int) DATAO_OFFSET, base, "H2CData at " + datao + " (+" + datal
                    + ") for cid " + cccid + ", which has " + req.received + " of " + req.length + " bytes");
            return null;
        }
        if ((flags & FLAG_LAST_PDU) != 0 && datao + datal != req.length) {
            // LAST_PDU marks the H2CData that ends the R2T's transfer (NVMe/TCP 1.0 §3.6.2.7);
            // one set while the R2T still wants data would leave the command waiting forever:
            // a fatal transport error naming the flags byte (§3.6.2.4).
            q.fatal(FES_INVALID_PDU_HEADER_FIELD, (int) FLAGS_OFFSET, base, "H2CData with LAST_PDU ending at "
                    + (datao + datal) + " of " + req.length + " bytes");
            return null;
        }
        return req;
    }

    /** The H2CData payload ({@code datal} bytes) is in {@code req}'s buffer; a digest error fails the command. */
    static void onH2CDataEnd(QueuePair q, NvmfRequest req, int datal, boolean dataIntact) {
        req.received += datal;
        if (!dataIntact) {
            // A data digest error fails the command, not the connection (§3.6.2.5).
            req.status = NvmeStatus.TRANSIENT_TRANSPORT_ERROR;
        }
        if (req.received == req.length) {
            req.state = NvmfRequest.State.EXECUTING;
            if (req.status != NvmeStatus.SUCCESS) {
                q.finish(req, req.status);
            } else {
                execute(q, req);
            }
        }
    }

    /** Goes on with a transport-SGL command that has its buffer (or needs none): R2T for its data, or run it. */
    static void withBuffer(QueuePair q, NvmfRequest req) {
        if (req.direction == NvmfRequest.DIR_HOST_TO_CONTROLLER && req.length > 0) {
            req.state = NvmfRequest.State.NEED_R2T;
            q.r2tDeadlines.start(req);
            q.sendR2T(req);
        } else {
            req.state = NvmfRequest.State.EXECUTING;
            execute(q, req);
        }
    }

    // ---------------------------------------------------------------- commands

    /**
     * Runs a command whose data is in. A handler that throws does not reach the reactor: the
     * command completes with Internal Error, counted and logged once.
     */
    static void execute(QueuePair q, NvmfRequest req) {
        try {
            dispatch(q, req);
        } catch (RuntimeException e) {
            q.onHandlerFailure("opcode 0x" + Integer.toHexString(req.opcode()), e);
            if (req.state == NvmfRequest.State.EXECUTING && req.pendingIos == 0 && !q.closing()) {
                q.finish(req, NvmeStatus.INTERNAL_ERROR);
            }
        }
    }

    private static void dispatch(QueuePair q, NvmfRequest req) {
        int opcode = req.opcode();
        if (opcode == NvmeOpcodes.FABRICS) {
            onFabrics(q, req);
        } else if (q.controller == null) {
            q.finish(req, NvmeStatus.COMMAND_SEQUENCE_ERROR);
        } else if (q.qid == 0) {
            if (AdminCommands.execute(q.controller, q, req)) {
                q.finish(req, req.status);
            }
        } else {
            IoCommands.execute(q, req);
        }
    }

    private static void onFabrics(QueuePair q, NvmfRequest req) {
        int fctype = NvmeCommand.fctype(req.sqe, 0);
        if (fctype == NvmeOpcodes.FCTYPE_CONNECT) {
            if (q.controller != null) {
                q.finish(req, NvmeStatus.COMMAND_SEQUENCE_ERROR);
                return;
            }
            q.target.connect(q, req);
            q.finish(req, req.status);
            return;
        }
        if (q.controller == null) {
            q.finish(req, NvmeStatus.COMMAND_SEQUENCE_ERROR);
            return;
        }
        switch (fctype) {
            case NvmeOpcodes.FCTYPE_PROPERTY_GET, NvmeOpcodes.FCTYPE_PROPERTY_SET -> {
                if (q.qid != 0) {
                    q.finish(req, NvmeStatus.INVALID_FIELD);
                } else {
                    q.controller.onProperty(req, fctype == NvmeOpcodes.FCTYPE_PROPERTY_SET);
                    q.finish(req, req.status);
                }
            }
            case NvmeOpcodes.FCTYPE_DISCONNECT -> {
                q.finish(req, NvmeStatus.SUCCESS);
                q.disconnect();
            }
            default -> q.finish(req, NvmeStatus.INVALID_OPCODE);
        }
    }
}
