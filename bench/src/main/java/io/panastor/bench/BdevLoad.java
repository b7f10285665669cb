package io.panastor.bench;

import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BdevIo;
import io.panastor.engine.bdev.BlockPattern;
import io.panastor.engine.bdev.IoChannel;
import io.panastor.engine.bdev.IoCompletion;
import io.panastor.engine.bdev.IoType;
import io.panastor.natives.BufferPool;
import io.panastor.reactor.Reactor;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;
import org.HdrHistogram.Histogram;

/**
 * A closed-loop load on one bdev from one reactor: {@code depth} IOs always in flight, each
 * completion recording its latency and submitting the next IO (sequential or random, read or
 * write by the mix), until the deadline. Buffers, descriptors and the histogram are made
 * before the first IO; without verification the loop allocates nothing.
 *
 * <p>With verification every write carries {@link BlockPattern} blocks stamped with a
 * per-extent generation, no two IOs touch one extent at once, and every read of an extent
 * written in this run is checked block by block: a torn, misplaced or stale block is a
 * verify failure.
 *
 * Thread-safety: reactor-confined once started; {@link #run} from any thread; {@link #ios()}
 * may be read from other threads for progress (approximately).
 */
final class BdevLoad implements IoCompletion {
    /** Longest latency the histogram tracks (10 s); longer ones are clamped. */
    static final long MAX_TRACKED_NANOS = 10_000_000_000L;

    /** What a run measured. */
    record Result(long ios, long reads, long writes, long errors, long verifyFailures, long elapsedNanos,
                  Histogram latencyNanos, String firstFailure) {
        double iops() {
            return ios * 1e9 / elapsedNanos;
        }
    }

    private final Bdev bdev;
    private final Reactor reactor;
    private final Workload workload;
    private final int readPercent;
    private final long blocksPerIo;
    private final long extents;
    private final long durationNanos;
    /** IOs to issue at most (a size limit), or Long.MAX_VALUE. */
    private final long ioBudget;
    private long issued;
    private final Histogram histogram = new Histogram(MAX_TRACKED_NANOS, 3);
    private final CompletableFuture<Result> done = new CompletableFuture<>();
    private final BlockPattern pattern = new BlockPattern();
    /** Verification: the generation last written to each extent (0 = not written in this run). */
    private final long[] generations;
    /** Verification: extents with an IO in flight. */
    private final boolean[] busy;
    private IoChannel channel;
    private BufferPool buffers;
    /** ByteBuffer views of each IO's buffer (by descriptor index), made once, for checksums. */
    private java.nio.ByteBuffer[] views;
    private long random = 0x9E3779B97F4A7C15L;
    private long nextSequential;
    private long deadline;
    private long started;
    private volatile long ios;
    private long reads;
    private long writes;
    private long errors;
    private long verifyFailures;
    private String firstFailure;
    private int outstanding;

    private BdevLoad(Bdev bdev, Reactor reactor, Workload workload, long durationNanos, long sizeBytes) {
        if (workload.ioSize() % bdev.blockSize() != 0) {
            throw new IllegalArgumentException("IO size " + workload.ioSize() + " is not a multiple of the block size "
                    + bdev.blockSize() + " of " + bdev.name());
        }
        this.bdev = bdev;
        this.reactor = reactor;
        this.workload = workload;
        this.readPercent = workload.effectiveReadPercent();
        this.blocksPerIo = workload.ioSize() / bdev.blockSize();
        this.extents = bdev.blockCount() / blocksPerIo;
        if (extents < workload.depth()) {
            throw new IllegalArgumentException(bdev.name() + " holds " + extents + " IOs of " + workload.ioSize()
                    + " bytes, fewer than the queue depth " + workload.depth());
        }
        this.durationNanos = durationNanos;
        this.ioBudget = sizeBytes > 0 ? Math.max(1, sizeBytes / workload.ioSize()) : Long.MAX_VALUE;
        this.generations = workload.verify() ? new long[(int) Math.min(extents, Integer.MAX_VALUE)] : null;
        this.busy = workload.verify() ? new boolean[generations.length] : null;
    }

    /** Random 4 KiB-style load, as the local benchmark runs it. */
    static CompletableFuture<Result> run(Bdev bdev, Reactor reactor, boolean write, int depth, int ioSize,
                                         long durationNanos) {
        return start(bdev, reactor, new Workload(write ? Workload.Mode.RANDWRITE : Workload.Mode.RANDREAD, ioSize,
                depth, 0, false), durationNanos).done;
    }

    /** Starts {@code workload} on {@code reactor}; see {@link #result()}. */
    static BdevLoad start(Bdev bdev, Reactor reactor, Workload workload, long durationNanos) {
        return start(bdev, reactor, workload, durationNanos, 0);
    }

    /** Like {@link #start(Bdev, Reactor, Workload, long)}, also stopping after {@code sizeBytes} (0 = no limit). */
    static BdevLoad start(Bdev bdev, Reactor reactor, Workload workload, long durationNanos, long sizeBytes) {
        BdevLoad load = new BdevLoad(bdev, reactor, workload, durationNanos, sizeBytes);
        reactor.execute(load::begin);
        return load;
    }

    CompletableFuture<Result> result() {
        return done;
    }

    long ios() {
        return ios;
    }

    private void begin() {
        try {
            channel = bdev.channel(reactor);
            long bufferBytes = (blocksPerIo * bdev.blockSize() + BufferPool.ALIGNMENT - 1) / BufferPool.ALIGNMENT
                    * BufferPool.ALIGNMENT;
            buffers = new BufferPool(workload.depth(), bufferBytes);
            BdevIo[] all = new BdevIo[workload.depth()];
            views = new java.nio.ByteBuffer[channel.poolSize()];
            for (int i = 0; i < all.length; i++) {
                all[i] = channel.allocIo();
                MemorySegment b = buffers.acquire().asSlice(0, blocksPerIo * bdev.blockSize());
                b.fill((byte) (0x5a + i));
                all[i].context = b;
                views[all[i].index()] = b.asByteBuffer();
            }
            started = System.nanoTime();
            deadline = started + durationNanos;
            outstanding = all.length;
            for (BdevIo io : all) {
                if (issued < ioBudget) {
                    submit(io, started);
                } else {
                    io.release();
                    outstanding--;
                }
            }
        } catch (Throwable t) {
            done.completeExceptionally(t);
        }
    }

    private long nextRandom() {
        long x = random;
        x ^= x << 13;
        x ^= x >>> 7;
        x ^= x << 17;
        random = x;
        return x;
    }

    private void submit(BdevIo io, long now) {
        long extent;
        if (workload.mode().random) {
            extent = Long.remainderUnsigned(nextRandom(), extents);
            if (busy != null) {
                while (busy[(int) extent]) {
                    extent = Long.remainderUnsigned(nextRandom(), extents);
                }
            }
        } else {
            extent = nextSequential;
            nextSequential = (nextSequential + 1) % extents;
            if (busy != null) {
                while (busy[(int) extent]) {
                    extent = nextSequential;
                    nextSequential = (nextSequential + 1) % extents;
                }
            }
        }
        boolean read = readPercent == 100 || (readPercent > 0 && Long.remainderUnsigned(nextRandom(), 100) < readPercent);
        long lba = extent * blocksPerIo;
        MemorySegment buf = (MemorySegment) io.context;
        io.tag = now;
        issued++;
        if (busy != null) {
            busy[(int) extent] = true;
        }
        if (read) {
            io.prepareRead(lba, blocksPerIo, buf, this);
        } else {
            if (generations != null) {
                pattern.fill(buf, views[io.index()], 0, bdev.blockSize(), lba, (int) blocksPerIo,
                        generations[(int) extent] + 1);
            }
            io.prepareWrite(lba, blocksPerIo, buf, this);
        }
        channel.submit(io);
    }

    @Override
    public void onIoComplete(BdevIo io) {
        long now = System.nanoTime();
        boolean read = io.type() == IoType.READ;
        if (io.succeeded()) {
            ios++;
            if (read) {
                reads++;
            } else {
                writes++;
            }
            histogram.recordValue(Math.min(now - io.tag, MAX_TRACKED_NANOS));
        } else {
            errors++;
        }
        if (generations != null) {
            int extent = (int) (io.offsetBlocks() / blocksPerIo);
            if (io.succeeded()) {
                if (read) {
                    check(io, extent);
                } else {
                    generations[extent]++;
                }
            }
            busy[extent] = false;
        }
        if (now < deadline && issued < ioBudget) {
            submit(io, now);
            return;
        }
        io.release();
        if (--outstanding == 0) {
            long elapsed = now - started;
            buffers.close();
            done.complete(new Result(ios, reads, writes, errors, verifyFailures, elapsed, histogram, firstFailure));
        }
    }

    private void check(BdevIo io, int extent) {
        long expected = generations[extent];
        if (expected == 0) {
            return;
        }
        MemorySegment buf = (MemorySegment) io.context;
        for (int b = 0; b < blocksPerIo; b++) {
            long lba = io.offsetBlocks() + b;
            BlockPattern.Verdict v = pattern.verify(buf, views[io.index()], (long) b * bdev.blockSize(),
                    bdev.blockSize(), lba, expected);
            if (v != BlockPattern.Verdict.OK) {
                verifyFailures++;
                if (firstFailure == null) {
                    firstFailure = "block " + lba + ": " + v + " (expected generation " + expected + ")";
                }
            }
        }
    }
}
