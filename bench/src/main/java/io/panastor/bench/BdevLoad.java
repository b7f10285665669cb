package io.panastor.bench;

import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BdevIo;
import io.panastor.engine.bdev.IoChannel;
import io.panastor.engine.bdev.IoCompletion;
import io.panastor.natives.BufferPool;
import io.panastor.reactor.Reactor;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;
import org.HdrHistogram.Histogram;

/**
 * A closed-loop load on one bdev from one reactor: {@code depth} IOs always in flight, each
 * completion recording its latency and submitting the next IO at a random block-aligned
 * offset, until the deadline. Buffers, descriptors and the histogram are made before the
 * first IO; the loop itself allocates nothing.
 *
 * Thread-safety: reactor-confined once started; {@link #run} from any thread.
 */
final class BdevLoad implements IoCompletion {
    /** Longest latency the histogram tracks (10 s); longer ones are clamped. */
    static final long MAX_TRACKED_NANOS = 10_000_000_000L;

    /** What a run measured. */
    record Result(long ios, long errors, long elapsedNanos, Histogram latencyNanos) {
        double iops() {
            return ios * 1e9 / elapsedNanos;
        }
    }

    private final Bdev bdev;
    private final Reactor reactor;
    private final boolean write;
    private final int depth;
    private final long blocksPerIo;
    private final long slots;
    private final long durationNanos;
    private final Histogram histogram = new Histogram(MAX_TRACKED_NANOS, 3);
    private final CompletableFuture<Result> done = new CompletableFuture<>();
    private IoChannel channel;
    private BufferPool buffers;
    private long random = 0x9E3779B97F4A7C15L;
    private long deadline;
    private long started;
    private long ios;
    private long errors;
    private int outstanding;

    private BdevLoad(Bdev bdev, Reactor reactor, boolean write, int depth, int ioSize, long durationNanos) {
        if (ioSize % bdev.blockSize() != 0) {
            throw new IllegalArgumentException("IO size " + ioSize + " is not a multiple of the block size "
                    + bdev.blockSize() + " of " + bdev.name());
        }
        this.bdev = bdev;
        this.reactor = reactor;
        this.write = write;
        this.depth = depth;
        this.blocksPerIo = ioSize / bdev.blockSize();
        this.slots = bdev.blockCount() / blocksPerIo;
        this.durationNanos = durationNanos;
    }

    /** Runs the load on {@code reactor} for {@code durationNanos}; the future completes with what it measured. */
    static CompletableFuture<Result> run(Bdev bdev, Reactor reactor, boolean write, int depth, int ioSize,
                                         long durationNanos) {
        BdevLoad load = new BdevLoad(bdev, reactor, write, depth, ioSize, durationNanos);
        reactor.execute(load::start);
        return load.done;
    }

    private void start() {
        try {
            channel = bdev.channel(reactor);
            long bufferBytes = Math.max(BufferPool.ALIGNMENT,
                    (blocksPerIo * bdev.blockSize() + BufferPool.ALIGNMENT - 1) / BufferPool.ALIGNMENT * BufferPool.ALIGNMENT);
            buffers = new BufferPool(depth, bufferBytes);
            BdevIo[] ios = new BdevIo[depth];
            for (int i = 0; i < depth; i++) {
                ios[i] = channel.allocIo();
                MemorySegment b = buffers.acquire().asSlice(0, blocksPerIo * bdev.blockSize());
                b.fill((byte) (0x5a + i));
                ios[i].context = b;
            }
            started = System.nanoTime();
            deadline = started + durationNanos;
            outstanding = depth;
            for (BdevIo io : ios) {
                submit(io, started);
            }
        } catch (Throwable t) {
            done.completeExceptionally(t);
        }
    }

    private void submit(BdevIo io, long now) {
        long x = random;
        x ^= x << 13;
        x ^= x >>> 7;
        x ^= x << 17;
        random = x;
        long lba = Long.remainderUnsigned(x, slots) * blocksPerIo;
        MemorySegment buf = (MemorySegment) io.context;
        io.tag = now;
        if (write) {
            io.prepareWrite(lba, blocksPerIo, buf, this);
        } else {
            io.prepareRead(lba, blocksPerIo, buf, this);
        }
        channel.submit(io);
    }

    @Override
    public void onIoComplete(BdevIo io) {
        long now = System.nanoTime();
        if (io.succeeded()) {
            ios++;
            histogram.recordValue(Math.min(now - io.tag, MAX_TRACKED_NANOS));
        } else {
            errors++;
        }
        if (now < deadline) {
            submit(io, now);
            return;
        }
        io.release();
        if (--outstanding == 0) {
            long elapsed = now - started;
            buffers.close();
            done.complete(new Result(ios, errors, elapsed, histogram));
        }
    }
}
