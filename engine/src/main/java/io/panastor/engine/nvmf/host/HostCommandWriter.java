package io.panastor.engine.nvmf.host;

import static io.panastor.engine.nvmf.proto.TcpPdu.*;

import io.panastor.engine.bdev.BdevIo;
import io.panastor.engine.bdev.IoType;
import io.panastor.engine.nvmf.proto.DsmRange;
import io.panastor.engine.nvmf.proto.NvmeCommand;
import io.panastor.engine.nvmf.proto.NvmeOpcodes;
import io.panastor.engine.nvmf.proto.TcpPduReserved;
import io.panastor.engine.nvmf.tcp.SendBuffers;
import io.panastor.engine.nvmf.tcp.TcpConnection;
import java.lang.foreign.MemorySegment;

/**
 * Builds an IO queue's PDUs in its connection's send side: the CapsuleCmd of each command
 * (in-capsule write data copied or gathered from the IO's own buffers, a DSM range for
 * unmap) and the H2CData PDUs that answer an R2T, as many as fit now (the rest when a send
 * completes). Nothing is allocated.
 *
 * <p>Thread-safety: reactor-confined (its {@link HostQueue}'s).
 */
final class HostCommandWriter {
    /** Write payloads from this size up are sent from the IO's buffers rather than copied. */
    static final int GATHER_MIN_BYTES = 1024;
    /** Longest H2CData payload built in the send buffer (when it is copied, not gathered). */
    static final int MAX_COPIED_H2C = HostQueue.SEND_BUFFER / 2;

    private final TcpConnection conn;
    private final HostCommands cmds;
    private final long nsid;
    private final int blockSize;
    private int inCapsuleBytes;

    HostCommandWriter(TcpConnection conn, HostCommands cmds, int nsid, int blockSize) {
        this.conn = conn;
        this.cmds = cmds;
        this.nsid = Integer.toUnsignedLong(nsid);
        this.blockSize = blockSize;
    }

    /** Most write data that travels in the capsule (the controller's IOCCSZ, as of this connection). */
    void inCapsuleBytes(int bytes) {
        inCapsuleBytes = bytes;
    }

    /** Queues one command for bytes {@code [offset, offset + length)} of {@code io}; false when it does not fit now. */
    boolean startPart(BdevIo io, long offset, int length, long deadline) {
        if (!cmds.hasFreeCid()) {
            return false;
        }
        int hd = conn.hd();
        int dd = conn.dd();
        IoType type = io.type();
        int inCapsule = type == IoType.UNMAP ? DsmRange.SIZE : type == IoType.WRITE && length <= inCapsuleBytes ? length : 0;
        int plen = CAPSULE_CMD_HLEN + hd + inCapsule + (inCapsule > 0 ? dd : 0);
        // Write data of 1 KiB and up is sent from the IO's own buffers (they stay put until the
        // IO completes, which is after the target answered); with data digests it is copied.
        int pieces = type == IoType.WRITE && inCapsule >= GATHER_MIN_BYTES && dd == 0 ? pieces(io, offset, inCapsule) : 0;
        boolean gather = pieces > 0 && SendBuffers.fitsOneSend(pieces);
        SendBuffers out = conn.sendBuffers();
        if (gather && !out.canAppendExternal(pieces)) {
            return false;
        }
        int at = conn.reserve(gather ? CAPSULE_CMD_HLEN + hd : plen);
        if (at < 0) {
            return false;
        }
        int cid = cmds.take(io, offset, length, deadline);
        if (type == IoType.WRITE && inCapsule > 0) {
            cmds.moved[cid] = length;
        }
        MemorySegment s = conn.filling();
        header(s, at, CAPSULE_CMD, (hd > 0 ? FLAG_HDGSTF : 0) | (inCapsule > 0 && dd > 0 ? FLAG_DDGSTF : 0),
                CAPSULE_CMD_HLEN, inCapsule > 0 ? CAPSULE_CMD_HLEN + hd : 0, plen);
        long sqe = at + SQE_OFFSET;
        int opcode = switch (type) {
            case READ -> NvmeOpcodes.NVM_READ;
            case WRITE -> NvmeOpcodes.NVM_WRITE;
            case FLUSH -> NvmeOpcodes.NVM_FLUSH;
            case WRITE_ZEROES -> NvmeOpcodes.NVM_WRITE_ZEROES;
            case UNMAP -> NvmeOpcodes.NVM_DATASET_MANAGEMENT;
            case RESET -> throw new IllegalStateException();
        };
        NvmeCommand.begin(s, sqe, opcode, cid);
        NvmeCommand.nsid(s, sqe, nsid);
        if (type == IoType.READ || type == IoType.WRITE) {
            NvmeCommand.range(s, sqe, io.offsetBlocks() + offset / blockSize, length / blockSize);
            NvmeCommand.sgl(s, sqe, inCapsule > 0 ? NvmeCommand.SGL_IN_CAPSULE : NvmeCommand.SGL_TRANSPORT, 0, length);
        } else if (type == IoType.WRITE_ZEROES) {
            NvmeCommand.range(s, sqe, io.offsetBlocks(), (int) io.numBlocks());
        } else if (type == IoType.UNMAP) {
            NvmeCommand.sgl(s, sqe, NvmeCommand.SGL_IN_CAPSULE, 0, DsmRange.SIZE);
            DsmRange.deallocateCommand(s, sqe, 1);
        }
        // The header digest covers the finished SQE.
        conn.sealHeader(at, CAPSULE_CMD_HLEN);
        long data = at + CAPSULE_CMD_HLEN + hd;
        if (type == IoType.UNMAP) {
            DsmRange.write(s, data, 0, io.offsetBlocks(), io.numBlocks());
        } else if (gather) {
            appendData(io, offset, inCapsule);
        } else if (inCapsule > 0) {
            io.copyFromBuffers(offset, s, data, inCapsule);
        }
        if (inCapsule > 0 && dd > 0) {
            u32(s, data + inCapsule, Integer.toUnsignedLong(conn.digestOfFilling((int) data, inCapsule)));
        }
        return true;
    }

    /**
     * Sends as much of the R2T'd range of write {@code cid} as the send side takes now, in
     * H2CData PDUs of at most MAXH2CDATA; true when all of it is queued.
     */
    boolean sendH2C(int cid) {
        BdevIo io = cmds.ios[cid];
        int hd = conn.hd();
        int dd = conn.dd();
        SendBuffers out = conn.sendBuffers();
        int chunk = Math.min(conn.maxH2CData(), MAX_COPIED_H2C);
        while (cmds.r2tNext[cid] < cmds.r2tEnd[cid]) {
            int off = cmds.r2tNext[cid];
            int n = Math.min(cmds.r2tEnd[cid] - off, chunk);
            long dataAt = cmds.partOffset[cid] + off;
            int pieces = dd == 0 && n >= GATHER_MIN_BYTES ? pieces(io, dataAt, n) : 0;
            boolean gather = pieces > 0 && SendBuffers.fitsOneSend(pieces);
            int plen = DATA_HLEN + hd + n + dd;
            if (gather ? !out.canAppendExternal(pieces) || DATA_HLEN + hd > out.room() : plen > out.room()) {
                return false;
            }
            boolean last = off + n == cmds.r2tEnd[cid];
            int at = conn.reserve(gather ? DATA_HLEN + hd : plen);
            MemorySegment s = conn.filling();
            header(s, at, H2C_DATA, (last ? FLAG_LAST_PDU : 0) | (hd > 0 ? FLAG_HDGSTF : 0) | (dd > 0 ? FLAG_DDGSTF : 0),
                    DATA_HLEN, DATA_HLEN + hd, plen);
            u16(s, at + CCCID_OFFSET, cid);
            u16(s, at + TTAG_OFFSET, cmds.ttags[cid]);
            u32(s, at + DATAO_OFFSET, off);
            u32(s, at + DATAL_OFFSET, n);
            u32(s, at + TcpPduReserved.DATA_RESERVED_OFFSET, 0);
            conn.sealHeader(at, DATA_HLEN);
            if (gather) {
                appendData(io, dataAt, n);
            } else {
                long data = at + DATA_HLEN + hd;
                io.copyFromBuffers(dataAt, s, data, n);
                if (dd > 0) {
                    u32(s, data + n, Integer.toUnsignedLong(conn.digestOfFilling((int) data, n)));
                }
            }
            cmds.r2tNext[cid] = off + n;
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
        SendBuffers out = conn.sendBuffers();
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

    /** Queues a fabrics Disconnect (fabrics 1.1 §3.3.2) with {@code cid}; false when it does not fit. */
    boolean disconnect(int cid) {
        int hd = conn.hd();
        int plen = CAPSULE_CMD_HLEN + hd;
        int at = conn.reserve(plen);
        if (at < 0) {
            return false;
        }
        MemorySegment s = conn.filling();
        header(s, at, CAPSULE_CMD, hd > 0 ? FLAG_HDGSTF : 0, CAPSULE_CMD_HLEN, 0, plen);
        AdminQueue.writeDisconnect(s, at + SQE_OFFSET, cid);
        conn.sealHeader(at, CAPSULE_CMD_HLEN);
        return true;
    }
}
