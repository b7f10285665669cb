package io.panastor.engine.nvmf;

import io.panastor.engine.bdev.AbstractBdev;
import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BdevFactory;
import io.panastor.engine.bdev.BdevIo;
import io.panastor.engine.bdev.BdevUri;
import io.panastor.engine.bdev.IoChannel;
import io.panastor.engine.bdev.IoStatus;
import io.panastor.engine.bdev.IoType;
import io.panastor.reactor.Reactor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * Test kind {@code throwing:///NAME?size_mb=N}: a RAM disk of 4 KiB blocks whose submit throws
 * for any IO that touches {@link #POISON_LBA}, as a buggy bdev module would, after queueing the
 * IO's completion (which the target must then ignore); every other IO works.
 */
final class ThrowingBdevFactory implements BdevFactory {
    static final long POISON_LBA = 13;

    @Override
    public List<String> schemes() {
        return List.of("throwing");
    }

    @Override
    public Bdev create(BdevUri uri) {
        uri.requireOnly(Set.of("size_mb"));
        return new Throwing(uri.simpleName(), uri.canonical(), (uri.positiveLong("size_mb", 16) << 20) / 4096);
    }

    static final class Throwing extends AbstractBdev {
        private final Arena arena = Arena.ofShared();
        private final MemorySegment memory;

        Throwing(String name, String uri, long blocks) {
            super(name, UUID.randomUUID(), uri, 4096, blocks);
            this.memory = arena.allocate(blocks * 4096, 4096);
        }

        @Override
        public String productName() {
            return "throwing RAM disk (test)";
        }

        @Override
        protected IoChannel createChannel(Reactor reactor) {
            return new IoChannel(this, reactor, IoChannel.DEFAULT_IO_POOL_SIZE) {
                @Override
                protected void doSubmit(BdevIo io) {
                    long first = io.offsetBlocks();
                    if (io.type() != IoType.FLUSH && first <= POISON_LBA && POISON_LBA < first + io.numBlocks()) {
                        // A bug after the IO was queued: its completion still comes, next cycle (and
                        // the channel's in-flight count stays right, so it can close).
                        completeLater(io, IoStatus.SUCCESS, 0);
                        throw new IllegalStateException("poisoned block " + POISON_LBA + " (test bdev)");
                    }
                    long off = first * 4096;
                    if (io.type() == IoType.READ) {
                        MemorySegment b = io.buffer(0);
                        MemorySegment.copy(memory, off, b, 0, b.byteSize());
                    } else if (io.type() == IoType.WRITE) {
                        MemorySegment b = io.buffer(0);
                        MemorySegment.copy(b, 0, memory, off, b.byteSize());
                    }
                    completeLater(io, IoStatus.SUCCESS, 0);
                }
            };
        }

        @Override
        protected void release() {
            arena.close();
        }
    }
}
