package io.panastor.engine.nvmf.tgt;

import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BdevIo;
import io.panastor.engine.bdev.IoChannel;
import io.panastor.engine.bdev.IoCompletion;
import io.panastor.engine.bdev.IoStatus;
import io.panastor.engine.bdev.IoType;
import io.panastor.engine.nvmf.proto.DsmRange;
import io.panastor.engine.nvmf.proto.NvmeCommand;
import io.panastor.engine.nvmf.proto.NvmeOpcodes;
import io.panastor.engine.nvmf.proto.NvmeStatus;

/**
 * The NVM command set on an IO queue (NVM command set 1.0 §3): Read, Write, Flush, Write
 * Zeroes and Dataset Management become bdev IO on the queue's reactor. Stateless.
 */
final class IoCommands {
    private IoCommands() {
    }


    /** Routes a bdev completion back to its request's queue pair. */
    private static final IoCompletion COMPLETION = io -> {
        NvmfRequest req = (NvmfRequest) io.context;
        int status = toNvme(io);
        io.release();
        if (req != null) {
            req.owner.ioFinished(req, status);
        }
    };

    /** Submits {@code io} for {@code req}, which already counts it; a submit that throws fails the request. */
    private static void start(QueuePair q, NvmfRequest req, IoChannel channel, BdevIo io) {
        try {
            channel.submit(io);
        } catch (RuntimeException e) {
            io.context = null;
            q.ioSubmitFailed(req, e);
        }
    }

    static void execute(QueuePair q, NvmfRequest req) {
        Namespace ns = q.controller.subsystem().namespace(req.nsid());
        int opcode = req.opcode();
        if (ns == null) {
            q.finish(req, NvmeStatus.INVALID_NAMESPACE);
            return;
        }
        Bdev bdev = ns.bdev();
        IoChannel channel;
        try {
            channel = bdev.channel(q.reactor);
        } catch (RuntimeException e) {
            q.finish(req, NvmeStatus.NAMESPACE_NOT_READY);
            return;
        }
        int blockSize = bdev.blockSize();
        switch (opcode) {
            case NvmeOpcodes.NVM_READ, NvmeOpcodes.NVM_WRITE -> {
                long slba = NvmeCommand.slba(req.sqe, 0);
                int nlb = NvmeCommand.blocks(req.sqe, 0);
                long bytes = (long) nlb * blockSize;
                if (bytes != req.length) {
                    q.finish(req, NvmeStatus.DATA_SGL_LENGTH_INVALID);
                    return;
                }
                if (slba < 0 || slba + nlb > bdev.blockCount()) {
                    q.finish(req, NvmeStatus.LBA_OUT_OF_RANGE);
                    return;
                }
                BdevIo io = channel.allocIo();
                if (io == null) {
                    q.finish(req, NvmeStatus.INTERNAL_ERROR);
                    return;
                }
                io.context = req;
                if (opcode == NvmeOpcodes.NVM_READ) {
                    req.transfer = (int) bytes;
                    q.readCommands++;
                    q.bytesRead += bytes;
                    io.prepareRead(slba, nlb, req.data(bytes), COMPLETION);
                } else {
                    q.writeCommands++;
                    q.bytesWritten += bytes;
                    io.prepareWrite(slba, nlb, req.data(bytes), COMPLETION);
                }
                q.ioStarted(req);
                start(q, req, channel, io);
            }
            case NvmeOpcodes.NVM_FLUSH -> submit(q, req, channel, IoType.FLUSH, 0, bdev.blockCount(), false);
            case NvmeOpcodes.NVM_WRITE_ZEROES -> {
                long slba = NvmeCommand.slba(req.sqe, 0);
                int nlb = NvmeCommand.blocks(req.sqe, 0);
                if (slba < 0 || slba + nlb > bdev.blockCount()) {
                    q.finish(req, NvmeStatus.LBA_OUT_OF_RANGE);
                    return;
                }
                submit(q, req, channel, IoType.WRITE_ZEROES, slba, nlb, false);
            }
            case NvmeOpcodes.NVM_DATASET_MANAGEMENT -> datasetManagement(q, req, channel, bdev);
            default -> q.finish(req, NvmeStatus.INVALID_OPCODE);
        }
    }

    /** Starts one bdev IO for {@code req}; {@code oneOfMany}: the request is held open by its caller. */
    private static void submit(QueuePair q, NvmfRequest req, IoChannel channel, IoType type, long lba, long blocks,
                               boolean oneOfMany) {
        BdevIo io = channel.allocIo();
        if (io == null) {
            if (oneOfMany) {
                req.status = NvmeStatus.INTERNAL_ERROR;
            } else {
                q.finish(req, NvmeStatus.INTERNAL_ERROR);
            }
            return;
        }
        io.context = req;
        switch (type) {
            case FLUSH -> io.prepareFlush(lba, blocks, COMPLETION);
            case WRITE_ZEROES -> io.prepareWriteZeroes(lba, blocks, COMPLETION);
            case UNMAP -> io.prepareUnmap(lba, blocks, COMPLETION);
            default -> throw new IllegalArgumentException(type.toString());
        }
        q.ioStarted(req);
        start(q, req, channel, io);
    }

    /** Deallocate ranges become UNMAPs, all started at once; other attributes are hints we may ignore. */
    private static void datasetManagement(QueuePair q, NvmfRequest req, IoChannel channel, Bdev bdev) {
        int ranges = DsmRange.ranges(req.sqe, 0);
        if (req.length < ranges * DsmRange.SIZE) {
            q.finish(req, NvmeStatus.DATA_SGL_LENGTH_INVALID);
            return;
        }
        if (!DsmRange.deallocate(req.sqe, 0)) {
            q.finish(req, NvmeStatus.SUCCESS);
            return;
        }
        for (int i = 0; i < ranges; i++) {
            long length = DsmRange.length(req.buffer, 0, i);
            long slba = DsmRange.slba(req.buffer, 0, i);
            if (length > 0 && (slba < 0 || slba + length > bdev.blockCount())) {
                q.finish(req, NvmeStatus.LBA_OUT_OF_RANGE);
                return;
            }
        }
        // Hold the request open while the unmaps are being started, so that an early
        // completion cannot finish it.
        q.ioStarted(req);
        for (int i = 0; i < ranges; i++) {
            long length = DsmRange.length(req.buffer, 0, i);
            long slba = DsmRange.slba(req.buffer, 0, i);
            if (length > 0) {
                submit(q, req, channel, IoType.UNMAP, slba, length, true);
            }
        }
        q.ioFinished(req, req.status);
    }

    private static int toNvme(BdevIo io) {
        return switch (io.status()) {
            case IoStatus.SUCCESS -> NvmeStatus.SUCCESS;
            case IoStatus.OUT_OF_RANGE -> NvmeStatus.LBA_OUT_OF_RANGE;
            case IoStatus.UNSUPPORTED -> NvmeStatus.INVALID_OPCODE;
            case IoStatus.BAD_BUFFER -> NvmeStatus.DATA_SGL_LENGTH_INVALID;
            case IoStatus.NO_RESOURCES -> NvmeStatus.INTERNAL_ERROR;
            case IoStatus.ABORTED -> NvmeStatus.ABORTED_SQ_DELETION;
            case IoStatus.NO_SPACE -> NvmeStatus.CAPACITY_EXCEEDED;
            default -> io.type() == IoType.READ ? NvmeStatus.UNRECOVERED_READ_ERROR : NvmeStatus.WRITE_FAULT;
        };
    }
}
