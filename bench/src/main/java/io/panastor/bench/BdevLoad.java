package io.panastor.bench;

import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BdevIo;
import io.panastor.engine.bdev.BlockPattern;
import io.panastor.engine.bdev.IoChannel;
import io.panastor.engine.bdev.IoCompletion;
import io.panastor.engine.bdev.IoStatus;
import io.panastor.engine.bdev.IoType;
import io.panastor.natives.Errno;
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
 * <p>A load whose IOs hang (a target that died, its initiator holding them while it
 * reconnects) is ended by {@link #stop}: its result counts the IOs still in flight as
 * {@code stuck}, and its buffers are freed once the bdev gives them back.
 *
 * Thread-safety: reactor-confined once started; {@link #start}, {@link #stop} from any thread;
 * {@link #ios()} may be read from other threads for progress (approximately).
 */
final class BdevLoad implements IoCompletion {
    /** Longest latency the histogram tracks (10 s); longer ones are clamped. */
    static final long MAX_TRACKED_NANOS = 10_000_000_000L;

    /** What a run measured. */
    record Result(long ios, long reads, long writes, long errors, long verifyFailures, long elapsedNanos,
                  Histogram latencyNanos, String firstFailure, long stuck, String firstError, long checkedReads) {
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
    private String firstError;
    /** Verification: reads of extents this load knew the contents of, each checked block by block. */
    private long checkedReads;
    private int outstanding;
    /** Set by {@link #stop}: the result is given; completions only give their IO back. */
    private boolean stopped;

    private BdevLoad(Bdev bdev, Reactor reactor, Workload workload, long durationNanos, long sizeBytes,
                     long[] generations) {
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
        int tracked = (int) Math.min(extents, Integer.MAX_VALUE);
        if (generations != null && generations.length != tracked) {
            throw new IllegalArgumentException("verify state for " + generations.length + " extents, " + bdev.name()
                    + " holds " + tracked);
        }
        this.generations = !workload.verify() ? null : generations != null ? generations : new long[tracked];
        this.busy = workload.verify() ? new boolean[tracked] : null;
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
        return start(bdev, reactor, workload, durationNanos, sizeBytes, null);
    }

    /**
     * Like {@link #start(Bdev, Reactor, Workload, long, long)}, verifying against (and updating)
     * {@code generations} — one per extent of the workload's IO size, as {@link #extents} gives —
     * which an earlier load on the same bdev wrote; {@code null} starts afresh.
     */
    static BdevLoad start(Bdev bdev, Reactor reactor, Workload workload, long durationNanos, long sizeBytes,
                          long[] generations) {
        BdevLoad load = new BdevLoad(bdev, reactor, workload, durationNanos, sizeBytes, generations);
        reactor.execute(load::begin);
        return load;
    }

    /** Extents of {@code ioSize} bytes in {@code bdev}: the length of a verify state. */
    static int extents(Bdev bdev, int ioSize) {
        return (int) Math.min(bdev.blockCount() / (ioSize / bdev.blockSize()), Integer.MAX_VALUE);
    }

    /**
     * Ends the load now, whatever is still in flight (any thread): the result counts those
     * IOs as stuck, and they give their buffers back whenever the bdev completes them.
     */
    void stop() {
        reactor.execute(() -> {
            if (done.isDone()) {
                return;
            }
            stopped = true;
            long now = System.nanoTime();
            done.complete(new Result(ios, reads, writes, errors, verifyFailures, Math.min(now - started, durationNanos),
                    histogram, firstFailure, outstanding, firstError, checkedReads));
        });
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
        if (stopped) {     // the result is out: nothing more is counted
            io.release();
            if (--outstanding == 0) {
                buffers.close();
            }
            return;
        }
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
            if (firstError == null) {
                firstError = io.type().name().toLowerCase(java.util.Locale.ROOT) + " of " + io.numBlocks()
                        + " blocks at LBA " + io.offsetBlocks() + ": " + IoStatus.name(io.status())
                        + (io.errno() != 0 ? " (" + Errno.name(io.errno()) + ")" : "");
            }
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
            done.complete(new Result(ios, reads, writes, errors, verifyFailures, elapsed, histogram, firstFailure, 0,
                    firstError, checkedReads));
        }
    }

    private void check(BdevIo io, int extent) {
        long expected = generations[extent];
        if (expected == 0) {
            return;
        }
        checkedReads++;
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
