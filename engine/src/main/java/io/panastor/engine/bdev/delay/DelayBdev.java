package io.panastor.engine.bdev.delay;

import io.panastor.engine.bdev.AbstractBdev;
import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BdevClaim;
import io.panastor.engine.bdev.IoChannel;
import io.panastor.engine.bdev.IoType;
import io.panastor.reactor.Reactor;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A bdev that forwards IO to a base bdev and makes it slower, as SPDK's bdev_delay: so that
 * two mirror children on one disk behave like two devices. Geometry and buffer alignment are
 * the base's; the base is claimed ({@code delay NAME}) while this bdev exists.
 *
 * <ul>
 *   <li><b>Latency.</b> Each IO is given its type's p99 latency with probability 1 %, else its
 *       average. READ takes the read latencies; WRITE, WRITE_ZEROES and UNMAP the write
 *       latencies; FLUSH and RESET pass straight through (no latency, no cap). The latency
 *       runs from when the IO enters service to its completion to the caller, and is at least
 *       the base's own time: the base IO is issued at once and its completion held until the
 *       deadline (on the reactor's clock, {@link Reactor#nanoTime()}).</li>
 *   <li><b>{@code max_inflight}.</b> At most N IOs are in service at once <em>per channel</em>,
 *       that is per reactor (each reactor's channel keeps its own count); the rest wait in FIFO
 *       order and enter service as others complete. This bounds the bdev's IOPS per reactor at
 *       N / latency, which latency alone does not at a fixed queue depth.</li>
 *   <li><b>Hot-remove.</b> If the base is hot-removed, every IO held or waiting fails (IO
 *       error, ENODEV), as does all later IO, and this bdev reports itself removed.</li>
 * </ul>
 *
 * <p>Thread-safety: descriptive methods from any thread; IO on each channel's reactor
 * ({@link DelayChannel}, which neither allocates nor locks per IO).
 */
public final class DelayBdev extends AbstractBdev {
    /** Latency classes: index into {@link #latencyNanos}. */
    static final int READ_AVG = 0;
    static final int READ_P99 = 1;
    static final int WRITE_AVG = 2;
    static final int WRITE_P99 = 3;

    final Bdev base;
    /** Nanoseconds per class: read avg, read p99, write avg, write p99. */
    final long[] latencyNanos;
    /** IOs in service per channel at most; 0 = no cap. */
    final int maxInflight;
    /** Set (once) when the base is hot-removed; read by the channels per IO. */
    volatile boolean baseGone;
    private final List<DelayChannel> channels = new CopyOnWriteArrayList<>();
    private volatile BdevClaim claim;

    DelayBdev(String name, UUID uuid, String uri, Bdev base, long[] latencyNanos, int maxInflight) {
        super(name, uuid, uri, base.blockSize(), base.blockCount());
        this.base = base;
        this.latencyNanos = latencyNanos.clone();
        this.maxInflight = maxInflight;
    }

    @Override
    public String productName() {
        return "Delay disk";
    }

    /** The bdev this one forwards to. */
    public Bdev base() {
        return base;
    }

    /** The latency (ns) of a class: {@link #READ_AVG}, {@link #READ_P99}, {@link #WRITE_AVG}, {@link #WRITE_P99}. */
    public long latencyNanos(int latencyClass) {
        return latencyNanos[latencyClass];
    }

    /** IOs in service per channel (per reactor) at most; 0 = no cap. */
    public int maxInflight() {
        return maxInflight;
    }

    @Override
    public int bufferAlignment() {
        return base.bufferAlignment();
    }

    @Override
    public boolean supports(IoType type) {
        return base.supports(type);
    }

    @Override
    public long rescan() {
        long blocks = base.rescan();
        setBlockCount(blocks);
        return blocks;
    }

    void claimed(BdevClaim c) {
        this.claim = c;
    }

    @Override
    protected IoChannel createChannel(Reactor reactor) {
        DelayChannel c = new DelayChannel(this, reactor);
        channels.add(c);
        return c;
    }

    void channelClosed(DelayChannel c) {
        channels.remove(c);
    }

    /**
     * The base's removal listener (on a thread of its own): every channel fails what it holds,
     * on its reactor, and then this bdev is reported removed.
     */
    void baseRemoved(BdevClaim c) {
        baseGone = true;
        List<CompletableFuture<Void>> failed = new ArrayList<>();
        for (DelayChannel ch : channels) {
            failed.add(ch.reactor().run(ch::failAll).exceptionally(t -> null));   // a stopped reactor holds nothing
        }
        CompletableFuture.allOf(failed.toArray(CompletableFuture[]::new)).join();
        removed("base bdev " + base.name() + " was removed: " + c.removedReason());
    }

    @Override
    protected void release() {
        BdevClaim c = claim;
        if (c != null) {
            c.close();
        }
    }
}
