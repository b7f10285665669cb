package io.panastor.engine.bdev.malloc;

import io.panastor.engine.bdev.AbstractBdev;
import io.panastor.engine.bdev.BdevIo;
import io.panastor.engine.bdev.IoChannel;
import io.panastor.engine.bdev.IoStatus;
import io.panastor.reactor.Reactor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.UUID;

/**
 * A RAM disk in off-heap memory, as SPDK's malloc bdev. Any reactor may read and write it;
 * data is copied synchronously and the completion delivered on the next duty cycle.
 * Owns its {@link Arena}, closed when the bdev is destroyed.
 */
public final class MallocBdev extends AbstractBdev {
    private final Arena arena;
    private final MemorySegment memory;

    MallocBdev(String name, UUID uuid, String uri, int blockSize, long blockCount) {
        super(name, uuid, uri, blockSize, blockCount);
        this.arena = Arena.ofShared();
        try {
            this.memory = arena.allocate((long) blockSize * blockCount, 4096);
        } catch (OutOfMemoryError | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    @Override
    public String productName() {
        return "Malloc disk";
    }


    @Override
    protected IoChannel createChannel(Reactor reactor) {
        return new Channel(reactor);
    }

    @Override
    protected void release() {
        arena.close();
    }

    private final class Channel extends IoChannel {
        private final long blockSize = blockSize();

        Channel(Reactor reactor) {
            super(MallocBdev.this, reactor, DEFAULT_IO_POOL_SIZE);
        }

        @Override
        protected void doSubmit(BdevIo io) {
            long offset = io.offsetBlocks() * blockSize;
            switch (io.type()) {
                case READ -> io.copyToBuffers(memory, offset, 0, io.numBlocks() * blockSize);
                case WRITE -> io.copyFromBuffers(0, memory, offset, io.numBlocks() * blockSize);
                case UNMAP, WRITE_ZEROES -> memory.asSlice(offset, io.numBlocks() * blockSize).fill((byte) 0);
                case FLUSH, RESET -> {
                    // RAM: nothing to flush, nothing queued to reset.
                }
            }
            completeLater(io, IoStatus.SUCCESS, 0);
        }
    }
}
