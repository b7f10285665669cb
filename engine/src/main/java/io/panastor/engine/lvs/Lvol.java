package io.panastor.engine.lvs;

import io.panastor.engine.bdev.AbstractBdev;
import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BdevIo;
import io.panastor.engine.bdev.IoChannel;
import io.panastor.engine.bdev.IoCompletion;
import io.panastor.engine.bdev.IoStatus;
import io.panastor.engine.bdev.IoType;
import io.panastor.reactor.Reactor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A replica as a bdev: a logical volume whose blocks live in its pool's clusters. The
 * cluster map it serves from is the pool's, published by the pool's metadata thread once a
 * change is on disk (an allocation is never visible before its record is durable); the IO
 * reactors read it with acquire loads and never write it.
 *
 * <p>IO: a read or write within mapped clusters goes to the disk shifted to those clusters
 * (one disk IO when they are contiguous, the usual case, with the caller's buffers as they
 * are; a few when a request crosses into a cluster elsewhere). A read of an unmapped cluster
 * of a thin replica fills zeroes. A write to one asks the metadata thread for a cluster
 * (waiting IO to that cluster queue behind the first) and goes on when it is allocated, or
 * ends with {@link IoStatus#NO_SPACE}. UNMAP and WRITE_ZEROES of whole clusters of a thin
 * replica give them back to the pool; of part of a cluster, or of a thick replica, zero the
 * range on the disk.
 *
 * <p>Giving clusters back must not race IO that read the old map: before the pool frees a
 * cluster it clears the map entry and waits on every channel for the disk IO issued before
 * (two epochs per channel, counted per disk IO: {@link Channel#barrier}).
 */
final class Lvol extends AbstractBdev {
    private static final VarHandle MAP = MethodHandles.arrayElementVarHandle(int[].class);

    final Lvs pool;
    final int id;
    final boolean thin;
    private final Bdev disk;
    private final long blocksPerCluster;
    private final int clusterShift;
    private final long dataStartBlocks;
    /** Logical to physical cluster, or -1; replaced (never shrunk) when the replica grows. */
    private volatile int[] map;
    private final List<Channel> channels = new CopyOnWriteArrayList<>();

    Lvol(Lvs pool, int id, String name, UUID uuid, long sizeBytes, boolean thin, int[] published) {
        super(uuid.toString(), uuid, "bdev:///" + uuid, pool.disk().blockSize(), sizeBytes / pool.disk().blockSize());
        this.pool = pool;
        this.id = id;
        this.thin = thin;
        this.disk = pool.disk();
        this.blocksPerCluster = pool.layout().clusterSize() / disk.blockSize();
        this.clusterShift = Long.numberOfTrailingZeros(blocksPerCluster);
        this.dataStartBlocks = pool.layout().dataStart() / disk.blockSize();
        this.map = published;
        addAlias(name);
        addAlias(pool.name() + "/" + name);
    }

    @Override
    public String productName() {
        return "Logical Volume";
    }

    @Override
    public int bufferAlignment() {
        return disk.bufferAlignment();
    }

    // ------------------------------------------------------------ the map, written by the metadata thread

    int mapped(int l) {
        int[] m = map;
        return l < m.length ? (int) MAP.getAcquire(m, l) : PoolModel.UNMAPPED;
    }

    /** A thick replica owns every cluster; a thin one only those it mapped (the rest read as zeroes). */
    @Override
    public boolean allocated(long firstBlock, long numBlocks) {
        if (!thin) {
            return true;
        }
        long last = (firstBlock + Math.max(1, numBlocks) - 1) >>> clusterShift;
        for (long l = firstBlock >>> clusterShift; l <= last; l++) {
            if (mapped((int) l) != PoolModel.UNMAPPED) {
                return true;
            }
        }
        return false;
    }

    /** Metadata thread: logical cluster {@code l} is at {@code p} now (its record is durable). */
    void publish(int l, int p) {
        MAP.setRelease(map, l, p);
    }

    /** Metadata thread: the replica is {@code sizeBytes} with map {@code full} (a copy) from now on. */
    void resized(long sizeBytes, int[] full) {
        int[] next = Arrays.copyOf(full, full.length);
        map = next;
        setBlockCount(sizeBytes / blockSize());
    }

    List<Channel> channels() {
        return channels;
    }

    @Override
    protected IoChannel createChannel(Reactor reactor) {
        Channel c = new Channel(reactor);
        channels.add(c);
        return c;
    }

    @Override
    protected void release() {
    }

    /** One IO's channel on one reactor. */
    final class Channel extends IoChannel {
        private final IoChannel base;
        /** Disk IO outstanding per parent IO, and how the first failing one failed. */
        private final int[] children;
        private final int[] failStatus;
        private final int[] failErrno;
        /** Which of two epochs new disk IO counts in, and how much of each is in flight. */
        private int epoch;
        private final int[] inflightIn = new int[2];
        private CompletableFuture<Void> barrier;
        private int barrierEpoch;
        /** Writes waiting for a cluster, by logical cluster. */
        private final Map<Integer, List<BdevIo>> awaiting = new HashMap<>();
        /** Trims waiting for the pool to free their clusters. */
        private final List<BdevIo> freeing = new ArrayList<>();
        private boolean closed;
        private final IoCompletion childDone = this::onChildDone;

        Channel(Reactor reactor) {
            super(Lvol.this, reactor, DEFAULT_IO_POOL_SIZE);
            this.base = disk.channel(reactor);
            this.children = new int[poolSize()];
            this.failStatus = new int[poolSize()];
            this.failErrno = new int[poolSize()];
        }

        @Override
        protected void doSubmit(BdevIo io) {
            children[io.index()] = 0;
            failStatus[io.index()] = IoStatus.SUCCESS;
            failErrno[io.index()] = 0;
            switch (io.type()) {
                case READ, WRITE -> route(io);
                case FLUSH -> {
                    BdevIo c = child(io);
                    if (c == null) {
                        completeLater(io, IoStatus.NO_RESOURCES, 0);
                        return;
                    }
                    children[io.index()] = 1;
                    issue(c.prepareFlush(0, disk.blockCount(), childDone), io);
                }
                case UNMAP, WRITE_ZEROES -> trim(io);
                case RESET -> completeLater(io, IoStatus.SUCCESS, 0);
                default -> completeLater(io, IoStatus.UNSUPPORTED, 0);
            }
        }

        private BdevIo child(BdevIo parent) {
            BdevIo c = base.allocIo();
            if (c != null) {
                c.context = parent;
            }
            return c;
        }

        /** {@code n} disk IOs for {@code parent}, or none and {@code parent} failed with NO_RESOURCES (then null). */
        private List<BdevIo> children(BdevIo parent, int n) {
            List<BdevIo> made = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                BdevIo c = child(parent);
                if (c == null) {
                    for (BdevIo m : made) {
                        m.release();
                    }
                    completeLater(parent, IoStatus.NO_RESOURCES, 0);
                    return null;
                }
                made.add(c);
            }
            return made;
        }

        private void issue(BdevIo child, BdevIo parent) {
            child.context = parent;
            child.tag = epoch;
            inflightIn[epoch]++;
            base.submit(child);
        }

        /** Reads and writes: to the disk where mapped; zeroes (read) or an allocation (write) where not. */
        private void route(BdevIo io) {
            long off = io.offsetBlocks();
            long end = off + io.numBlocks();
            int first = (int) (off >>> clusterShift);
            int last = (int) ((end - 1) >>> clusterShift);
            boolean write = io.type() == IoType.WRITE;
            int pieces = 0;
            int prev = -2;
            for (int l = first; l <= last; l++) {
                int p = mapped(l);
                if (p == PoolModel.UNMAPPED) {
                    if (write) {
                        long cs = (long) l << clusterShift;
                        boolean whole = off <= cs && end >= cs + blocksPerCluster;
                        awaitCluster(io, l, whole);
                        return;
                    }
                    prev = -2;
                    continue;
                }
                if (p != prev + 1) {
                    pieces++;
                }
                prev = p;
            }
            if (pieces == 0) {
                // A read of a thin replica where nothing was written.
                io.zeroBuffers(0, io.numBlocks() * blockSize());
                completeLater(io, IoStatus.SUCCESS, 0);
                return;
            }
            if (pieces == 1 && mapped(first) != PoolModel.UNMAPPED && mapped(last) != PoolModel.UNMAPPED) {
                // the common case: one disk IO, the caller's buffers as they are
                BdevIo c = child(io);
                if (c == null) {
                    completeLater(io, IoStatus.NO_RESOURCES, 0);
                    return;
                }
                c.prepareVectored(io.type(), physical(off), io.numBlocks(), childDone);
                for (int i = 0; i < io.bufferCount(); i++) {
                    c.addBuffer(io.buffer(i));
                }
                children[io.index()] = 1;
                issue(c, io);
                return;
            }
            split(io, first, last, write);
        }

        private long physical(long lba) {
            int p = mapped((int) (lba >>> clusterShift));
            return dataStartBlocks + ((long) p << clusterShift) + (lba & (blocksPerCluster - 1));
        }

        /** A request across clusters that are not contiguous on the disk (or partly unmapped): one disk IO per run. */
        private void split(BdevIo io, int first, int last, boolean write) {
            long off = io.offsetBlocks();
            long end = off + io.numBlocks();
            List<long[]> runs = new ArrayList<>();     // {lba, blocks, mapped}
            for (int l = first; l <= last; l++) {
                long from = Math.max(off, (long) l << clusterShift);
                long to = Math.min(end, (long) (l + 1) << clusterShift);
                int p = mapped(l);
                long[] lastRun = runs.isEmpty() ? null : runs.getLast();
                boolean m = p != PoolModel.UNMAPPED;
                if (lastRun != null && (lastRun[2] == 1) == m
                        && (!m || physical(lastRun[0] + lastRun[1] - 1) + 1 == physical(from))) {
                    lastRun[1] += to - from;
                } else {
                    runs.add(new long[] {from, to - from, m ? 1 : 0});
                }
            }
            int mappedRuns = 0;
            for (long[] r : runs) {
                mappedRuns += (int) r[2];
            }
            List<BdevIo> made = children(io, mappedRuns);
            if (made == null) {
                return;
            }
            int k = 0;
            int bs = blockSize();
            for (long[] r : runs) {
                long at = (r[0] - off) * bs;
                long len = r[1] * bs;
                if (r[2] == 0) {
                    io.zeroBuffers(at, len);
                    continue;
                }
                BdevIo c = made.get(k++);
                c.prepareVectored(io.type(), physical(r[0]), r[1], childDone);
                addSlices(c, io, at, len);
            }
            children[io.index()] = made.size();
            for (BdevIo c : made) {
                issue(c, io);
            }
        }

        private void addSlices(BdevIo child, BdevIo io, long at, long len) {
            for (int i = 0; i < io.bufferCount() && len > 0; i++) {
                MemorySegment b = io.buffer(i);
                if (at >= b.byteSize()) {
                    at -= b.byteSize();
                    continue;
                }
                long n = Math.min(b.byteSize() - at, len);
                child.addBuffer(b.asSlice(at, n));
                len -= n;
                at = 0;
            }
        }

        private void awaitCluster(BdevIo io, int l, boolean whole) {
            List<BdevIo> q = awaiting.get(l);
            if (q != null) {
                q.add(io);
                return;
            }
            q = new ArrayList<>(2);
            q.add(io);
            awaiting.put(l, q);
            pool.requestCluster(Lvol.this, l, !whole, status -> reactor.execute(() -> onCluster(l, status)));
        }

        private void onCluster(int l, int status) {
            List<BdevIo> q = awaiting.remove(l);
            if (q == null) {
                return;     // closed meanwhile: they were aborted
            }
            for (BdevIo io : q) {
                if (status == IoStatus.SUCCESS) {
                    route(io);
                } else {
                    complete(io, status, 0);
                }
            }
        }

        /** UNMAP and WRITE_ZEROES. */
        private void trim(BdevIo io) {
            long off = io.offsetBlocks();
            long end = off + io.numBlocks();
            int first = (int) (off >>> clusterShift);
            int last = (int) ((end - 1) >>> clusterShift);
            List<long[]> zero = new ArrayList<>();
            int[] free = new int[last - first + 1];
            int frees = 0;
            for (int l = first; l <= last; l++) {
                int p = mapped(l);
                if (p == PoolModel.UNMAPPED) {
                    continue;
                }
                long from = Math.max(off, (long) l << clusterShift);
                long to = Math.min(end, (long) (l + 1) << clusterShift);
                if (thin && to - from == blocksPerCluster) {
                    free[frees++] = l;
                } else {
                    zero.add(new long[] {physical(from), to - from});
                }
            }
            List<BdevIo> made = children(io, zero.size());
            if (made == null) {
                return;
            }
            children[io.index()] = made.size() + (frees > 0 ? 1 : 0);
            if (children[io.index()] == 0) {
                completeLater(io, IoStatus.SUCCESS, 0);
                return;
            }
            for (int i = 0; i < made.size(); i++) {
                long[] z = zero.get(i);
                issue(made.get(i).prepareWriteZeroes(z[0], z[1], childDone), io);
            }
            if (frees > 0) {
                freeing.add(io);
                pool.requestFree(Lvol.this, Arrays.copyOf(free, frees),
                        status -> reactor.execute(() -> onFreed(io, status)));
            }
        }

        private void onFreed(BdevIo io, int status) {
            if (!freeing.remove(io)) {
                return;     // closed meanwhile: it was aborted
            }
            partDone(io, status, 0);
        }

        private void onChildDone(BdevIo c) {
            BdevIo parent = (BdevIo) c.context;
            int e = (int) c.tag;
            int status = c.status();
            int errno = c.errno();
            c.release();
            inflightIn[e]--;
            if (barrier != null && e == barrierEpoch && inflightIn[e] == 0) {
                CompletableFuture<Void> b = barrier;
                barrier = null;
                b.complete(null);
            }
            partDone(parent, status, errno);
        }

        private void partDone(BdevIo parent, int status, int errno) {
            int i = parent.index();
            if (status != IoStatus.SUCCESS && failStatus[i] == IoStatus.SUCCESS) {
                failStatus[i] = status;
                failErrno[i] = errno;
            }
            if (--children[i] == 0) {
                complete(parent, failStatus[i], failErrno[i]);
            }
        }

        /**
         * Completes {@code done} once the disk IO issued before this call has ended: the
         * metadata thread calls it (on this reactor) after clearing map entries, so that no IO
         * still uses them. Runs on the reactor.
         */
        void barrier(CompletableFuture<Void> done) {
            int old = epoch;
            epoch ^= 1;
            if (closed || inflightIn[old] == 0) {
                done.complete(null);
                return;
            }
            if (barrier != null) {
                // one barrier at a time comes from the metadata thread; chain to be safe
                CompletableFuture<Void> prev = barrier;
                barrier = done;
                barrierEpoch = old;
                prev.complete(null);
                return;
            }
            barrier = done;
            barrierEpoch = old;
        }

        @Override
        protected void onCloseWithIoInFlight() {
            // What waits on the metadata thread ends now: a replica being destroyed is waited on there.
            closed = true;
            List<List<BdevIo>> waiting = new ArrayList<>(awaiting.values());
            awaiting.clear();
            for (List<BdevIo> q : waiting) {
                for (BdevIo io : q) {
                    complete(io, IoStatus.ABORTED, 0);
                }
            }
            List<BdevIo> trims = new ArrayList<>(freeing);
            freeing.clear();
            for (BdevIo io : trims) {
                partDone(io, IoStatus.ABORTED, 0);
            }
        }

        @Override
        protected void onClose() {
            closed = true;
            channels.remove(this);
            if (barrier != null) {
                barrier.complete(null);
                barrier = null;
            }
        }
    }
}
