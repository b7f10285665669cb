package io.panastor.bench;

import io.panastor.engine.bdev.AbstractBdev;
import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BdevFactory;
import io.panastor.engine.bdev.BdevIo;
import io.panastor.engine.bdev.BdevUri;
import io.panastor.engine.bdev.IoChannel;
import io.panastor.engine.bdev.IoStatus;
import io.panastor.engine.bdev.IoType;
import io.panastor.natives.Errno;
import io.panastor.reactor.Reactor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * Test kind {@code corrupt:///NAME?size_mb=N&every=K&fail_every=F}: a RAM disk that flips one
 * bit in every K-th read, so that verification has something to find, and fails every F-th IO
 * (default: none) with an IO error.
 */
public final class CorruptingBdevFactory implements BdevFactory {
    @Override
    public List<String> schemes() {
        return List.of("corrupt");
    }


    @Override
    public Bdev create(BdevUri uri) {
        uri.requireOnly(Set.of("size_mb", "every", "fail_every"));
        long blocks = (uri.positiveLong("size_mb", 16) << 20) / 4096;
        return new Corrupting(uri.simpleName(), uri.canonical(), blocks, uri.positiveLong("every", 10),
                uri.positiveLong("fail_every", Long.MAX_VALUE));
    }

    static final class Corrupting extends AbstractBdev {
        private final Arena arena = Arena.ofShared();
        private final MemorySegment memory;
        private final long every;
        private final long failEvery;

        Corrupting(String name, String uri, long blocks, long every, long failEvery) {
            super(name, UUID.randomUUID(), uri, 4096, blocks);
            this.memory = arena.allocate(blocks * 4096, 4096);
            this.every = every;
            this.failEvery = failEvery;
        }

        @Override
        public String productName() {
            return "corrupting RAM disk (test)";
        }


        @Override
        protected IoChannel createChannel(Reactor reactor) {
            return new IoChannel(this, reactor, IoChannel.DEFAULT_IO_POOL_SIZE) {
                private long reads;
                private long ios;

                @Override
                protected void doSubmit(BdevIo io) {
                    if (++ios % failEvery == 0) {
                        completeLater(io, IoStatus.IO_ERROR, Errno.EIO);
                        return;
                    }
                    long off = io.offsetBlocks() * 4096;
                    MemorySegment b = io.buffer(0);
                    if (io.type() == IoType.READ) {
                        MemorySegment.copy(memory, off, b, 0, b.byteSize());
                        if (++reads % every == 0) {
                            b.set(ValueLayout.JAVA_BYTE, 100, (byte) (b.get(ValueLayout.JAVA_BYTE, 100) ^ 0x01));
                        }
                    } else if (io.type() == IoType.WRITE) {
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
