package io.panastor.engine.lvs;

import io.panastor.engine.bdev.AbstractBdev;
import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BdevIo;
import io.panastor.engine.bdev.IoChannel;
import io.panastor.engine.bdev.IoCompletion;
import io.panastor.engine.bdev.IoStatus;
import io.panastor.engine.bdev.IoType;
import io.panastor.reactor.Reactor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A test bdev over another (a uring file) that dies: from then on every IO fails, and IO in
 * flight reports failure. Two ways to die:
 *
 * <ul>
 *   <li>{@link #tearMetadataWrite}: the n-th write below the pool's data start (metadata)
 *       reaches the disk torn (dropped, its first half of blocks, its first block, or the
 *       first half of its first block over the old contents) and fails; the disk dies with it.
 *   <li>{@link #powerCutAt}: a volatile write cache. Writes go through, but the contents each
 *       block had at the last completed flush are kept; at the n-th IO the power goes, and
 *       {@link #restore} puts those contents back in the file (all of them, or a random
 *       part: a cache may have written some back), once the engine is closed.
 * </ul>
 */
final class FaultyDisk extends AbstractBdev {
    enum Tear { DROP, HALF, FIRST_BLOCK, HALF_BLOCK }

    private final Bdev base;
    private final long dataStartBlocks;
    private final int bs;
    volatile boolean dead;
    private int tearAt = -1;
    private Tear tear;
    private int metaWrites;
    /** Where the torn write was, bytes, or -1. */
    volatile long tornAt = -1;
    private boolean cache;
    private int cutAt = -1;
    private int ios;
    /** Block to its contents at the last completed flush, for blocks written since. */
    private final Map<Long, byte[]> undo = new ConcurrentHashMap<>();
    private final Set<Long> completed = ConcurrentHashMap.newKeySet();

    FaultyDisk(String name, Bdev base, long dataStartBytes) {
        super(name, UUID.randomUUID(), "bdev:///" + name, base.blockSize(), base.blockCount());
        this.base = base;
        this.bs = base.blockSize();
        this.dataStartBlocks = dataStartBytes / bs;
    }

    synchronized void tearMetadataWrite(int n, Tear how) {
        tearAt = n;
        tear = how;
        metaWrites = 0;
    }

    synchronized void powerCutAt(int n) {
        cache = true;
        cutAt = n;
        ios = 0;
    }

    void die() {
        dead = true;
    }

    int dirtyBlocks() {
        return undo.size();
    }

    /** After the power cut, with the engine closed: puts back what was not flushed (each block with probability {@code p}). */
    int restore(Path file, Random rnd, double p) throws IOException {
        int n = 0;
        try (FileChannel f = FileChannel.open(file, StandardOpenOption.WRITE)) {
            for (Map.Entry<Long, byte[]> e : undo.entrySet()) {
                if (rnd.nextDouble() < p) {
                    ByteBuffer b = ByteBuffer.wrap(e.getValue());
                    while (b.hasRemaining()) {
                        f.write(b, e.getKey() * bs + b.position());
                    }
                    n++;
                }
            }
            f.force(true);
        }
        undo.clear();
        return n;
    }

    @Override
    public String productName() {
        return "faulty disk (test)";
    }

    @Override
    public int bufferAlignment() {
        return base.bufferAlignment();
    }

    @Override
    protected IoChannel createChannel(Reactor reactor) {
        return new Channel(reactor);
    }

    @Override
    protected void release() {
    }

    private synchronized boolean countIo() {
        return cutAt > 0 && ++ios == cutAt;
    }

    private synchronized boolean countMetaWrite() {
        return tearAt > 0 && ++metaWrites == tearAt;
    }

    private final class Channel extends IoChannel {
        private final IoChannel below;

        Channel(Reactor reactor) {
            super(FaultyDisk.this, reactor, DEFAULT_IO_POOL_SIZE);
            this.below = base.channel(reactor);
        }

        @Override
        protected void doSubmit(BdevIo io) {
            if (!dead && countIo()) {
                dead = true;
            }
            if (dead) {
                completeLater(io, IoStatus.IO_ERROR, 5);
                return;
            }
            IoType t = io.type();
            boolean writes = t == IoType.WRITE || t == IoType.WRITE_ZEROES || t == IoType.UNMAP;
            if (t == IoType.WRITE && io.offsetBlocks() < dataStartBlocks && countMetaWrite()) {
                torn(io);
                return;
            }
            if (writes && cache) {
                MemorySegment old = Arena.ofAuto().allocate(io.numBlocks() * bs, 4096);
                BdevIo r = below.allocIo();
                if (r == null) {
                    completeLater(io, IoStatus.NO_RESOURCES, 0);
                    return;
                }
                below.submit(r.prepareRead(io.offsetBlocks(), io.numBlocks(), old, done -> {
                    int st = done.status();
                    done.release();
                    if (dead || st != IoStatus.SUCCESS) {
                        complete(io, IoStatus.IO_ERROR, 5);
                        return;
                    }
                    for (long i = 0; i < io.numBlocks(); i++) {
                        undo.putIfAbsent(io.offsetBlocks() + i, old.asSlice(i * bs, bs).toArray(
                                java.lang.foreign.ValueLayout.JAVA_BYTE));
                    }
                    forward(io, true);
                }));
                return;
            }
            forward(io, writes);
        }

        /** Sends {@code io} down as it is; a write's blocks count as written once it completes. */
        private void forward(BdevIo io, boolean writes) {
            BdevIo c = below.allocIo();
            if (c == null) {
                completeLater(io, IoStatus.NO_RESOURCES, 0);
                return;
            }
            Set<Long> covered = io.type() == IoType.FLUSH ? new HashSet<>(completed) : null;
            IoCompletion done = d -> {
                int st = d.status();
                int errno = d.errno();
                d.release();
                if (dead) {
                    complete(io, IoStatus.IO_ERROR, 5);
                    return;
                }
                if (st == IoStatus.SUCCESS && writes) {
                    for (long i = 0; i < io.numBlocks(); i++) {
                        completed.add(io.offsetBlocks() + i);
                    }
                }
                if (st == IoStatus.SUCCESS && covered != null) {
                    for (Long b : covered) {
                        undo.remove(b);
                        completed.remove(b);
                    }
                }
                complete(io, st, errno);
            };
            switch (io.type()) {
                case READ, WRITE -> {
                    c.prepareVectored(io.type(), io.offsetBlocks(), io.numBlocks(), done);
                    for (int i = 0; i < io.bufferCount(); i++) {
                        c.addBuffer(io.buffer(i));
                    }
                }
                case FLUSH -> c.prepareFlush(0, base.blockCount(), done);
                case UNMAP -> c.prepareUnmap(io.offsetBlocks(), io.numBlocks(), done);
                case WRITE_ZEROES -> c.prepareWriteZeroes(io.offsetBlocks(), io.numBlocks(), done);
                default -> c.prepareReset(done);
            }
            below.submit(c);
        }

        /** The metadata write the disk dies in: part of it reaches the disk, and it fails. */
        private void torn(BdevIo io) {
            dead = true;
            tornAt = io.offsetBlocks() * bs;
            long n = io.numBlocks();
            long blocks = switch (tear) {
                case DROP -> 0;
                case HALF -> n / 2;
                case FIRST_BLOCK, HALF_BLOCK -> 1;
            };
            if (blocks == 0) {
                completeLater(io, IoStatus.IO_ERROR, 5);
                return;
            }
            MemorySegment buf = Arena.ofAuto().allocate(blocks * bs, 4096);
            if (tear != Tear.HALF_BLOCK) {
                io.copyFromBuffers(0, buf, 0, blocks * bs);
                writeRaw(io, buf);
                return;
            }
            // the first half of the first block over what the block held
            BdevIo r = below.allocIo();
            below.submit(r.prepareRead(io.offsetBlocks(), 1, buf, d -> {
                d.release();
                io.copyFromBuffers(0, buf, 0, bs / 2);
                writeRaw(io, buf);
            }));
        }

        private void writeRaw(BdevIo io, MemorySegment buf) {
            BdevIo w = below.allocIo();
            below.submit(w.prepareWrite(io.offsetBlocks(), buf.byteSize() / bs, buf, d -> {
                d.release();
                complete(io, IoStatus.IO_ERROR, 5);
            }));
        }
    }
}
