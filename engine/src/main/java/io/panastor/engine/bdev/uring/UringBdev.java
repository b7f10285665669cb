package io.panastor.engine.bdev.uring;

import io.panastor.engine.bdev.AbstractBdev;
import io.panastor.engine.bdev.BdevIo;
import io.panastor.engine.bdev.IoChannel;
import io.panastor.engine.bdev.IoStatus;
import io.panastor.engine.bdev.IoType;
import io.panastor.natives.BlockFile;
import io.panastor.natives.CompletionHandler;
import io.panastor.natives.Errno;
import io.panastor.natives.IoUring;
import io.panastor.natives.IoVecs;
import io.panastor.reactor.Reactor;
import java.lang.foreign.MemorySegment;
import java.util.UUID;

/**
 * A file or block device opened with {@code O_DIRECT} and driven through each reactor's
 * own io_uring, as SPDK's uring bdev: all uring bdevs on a reactor share its ring, and
 * the reactor submits what a duty cycle queued in one system call.
 *
 * <p>READ/WRITE become IORING_OP_READ/WRITE (one buffer) or READV/WRITEV (several);
 * FLUSH is fdatasync; UNMAP punches a hole (a discard on a block device); WRITE_ZEROES
 * is fallocate's ZERO_RANGE. Buffers must be aligned to the logical block size.
 */
public final class UringBdev extends AbstractBdev {
    private final BlockFile file;

    UringBdev(String name, UUID uuid, String uri, BlockFile file, int blockSize) {
        super(name, uuid, uri, blockSize, file.size() / blockSize);
        this.file = file;
    }

    @Override
    public String productName() {
        return "URING bdev";
    }


    @Override
    public long rescan() {
        long blocks = file.currentSize() / blockSize();
        if (blocks != blockCount()) {
            setBlockCount(blocks);
        }
        return blocks;
    }

    @Override
    public int bufferAlignment() {
        return file.logicalBlockSize();
    }

    /** The file or device underneath. */
    public BlockFile file() {
        return file;
    }

    @Override
    protected IoChannel createChannel(Reactor reactor) {
        return new Channel(reactor);
    }

    @Override
    protected void release() {
        file.close();
    }

    private final class Channel extends IoChannel implements CompletionHandler {
        private final IoUring ring;
        private final int fd;
        private final long blockSize;
        private final int handlerId;
        /** MAX_IOVS iovec entries per descriptor, for vectored IO. */
        private final IoVecs iovecs;

        Channel(Reactor reactor) {
            super(UringBdev.this, reactor, DEFAULT_IO_POOL_SIZE);
            this.ring = reactor.ring();
            this.fd = file.fd();
            this.blockSize = blockSize();
            this.iovecs = new IoVecs(BdevIo.MAX_IOVS * poolSize());
            this.handlerId = reactor.registerCompletionHandler(this);
        }

        @Override
        protected void doSubmit(BdevIo io) {
            long offset = io.offsetBlocks() * blockSize;
            long bytes = io.numBlocks() * blockSize;
            long ud = Reactor.userData(handlerId, io.index());
            boolean queued;
            switch (io.type()) {
                case READ, WRITE -> {
                    if (bytes > Integer.MAX_VALUE) {
                        completeLater(io, IoStatus.BAD_BUFFER, 0);
                        return;
                    }
                    boolean read = io.type() == IoType.READ;
                    if (io.bufferCount() == 1) {
                        long addr = io.buffer(0).address();
                        queued = read ? ring.prepRead(fd, addr, (int) bytes, offset, ud)
                                : ring.prepWrite(fd, addr, (int) bytes, offset, ud);
                    } else {
                        int first = io.index() * BdevIo.MAX_IOVS;
                        for (int i = 0; i < io.bufferCount(); i++) {
                            iovecs.set(first + i, io.buffer(i));
                        }
                        long addr = iovecs.address(first);
                        queued = read ? ring.prepReadv(fd, addr, io.bufferCount(), offset, ud)
                                : ring.prepWritev(fd, addr, io.bufferCount(), offset, ud);
                    }
                }
                case FLUSH -> queued = ring.prepFsync(fd, true, ud);
                case UNMAP -> queued = ring.prepPunchHole(fd, offset, bytes, ud);
                case WRITE_ZEROES -> queued = ring.prepZeroRange(fd, offset, bytes, ud);
                case RESET -> {
                    // Nothing is queued below us that a reset could drop.
                    completeLater(io, IoStatus.SUCCESS, 0);
                    return;
                }
                default -> throw new IllegalStateException();
            }
            if (!queued) {
                completeLater(io, IoStatus.NO_RESOURCES, 0);
            }
        }

        @Override
        public void onCompletion(long token, int res, int flags) {
            BdevIo io = ioAt((int) token);
            if (res < 0) {
                complete(io, IoStatus.IO_ERROR, -res);
                return;
            }
            IoType type = io.type();
            if ((type == IoType.READ || type == IoType.WRITE) && res != io.numBlocks() * blockSize) {
                // O_DIRECT IO inside the device never comes back short; a short one means the
                // file shrank under us.
                complete(io, IoStatus.IO_ERROR, Errno.EIO);
                return;
            }
            complete(io, IoStatus.SUCCESS, 0);
        }

        @Override
        protected void onClose() {
            reactor.unregisterCompletionHandler(handlerId);
            iovecs.close();
        }
    }
}
