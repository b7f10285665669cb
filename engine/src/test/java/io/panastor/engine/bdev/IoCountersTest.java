package io.panastor.engine.bdev;

import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.engine.stats.IoCounters;
import io.panastor.engine.stats.IoStats;
import io.panastor.reactor.Reactor;
import io.panastor.reactor.Reactors;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A channel counts every completion into its bdev's counters for its reactor, which outlive it. */
class IoCountersTest {
    static final int BS = 4096;
    Reactors reactors;
    Bdevs bdevs;
    Arena arena;

    @BeforeEach
    void start() {
        reactors = Reactors.start(2);
        bdevs = new Bdevs(reactors);
        arena = Arena.ofShared();
    }

    @AfterEach
    void stop() {
        bdevs.destroyAll().join();
        reactors.close();
        arena.close();
    }

    /** Runs one IO on {@code ch} (on its reactor); completes with its status. */
    private static CompletableFuture<Integer> run(IoChannel ch, IoRunner.Op op) {
        CompletableFuture<Integer> status = new CompletableFuture<>();
        ch.reactor().execute(() -> ch.submit(op.prepare(ch.allocIo(), io -> {
            status.complete(io.status());
            io.release();
        })));
        return status;
    }

    private static IoStats stats(Bdev b, Reactor r) {
        return r.submit(() -> {
            IoCounters sum = new IoCounters();
            IoCounters c = b.ioCounters(r);
            if (c != null) {
                c.addTo(sum);
            }
            return sum.toStats(b.name(), b.uuid().toString());
        }).join();
    }

    @Test
    void countersSurviveTheirChannelClosingAndTheNextChannelCountsOn() {
        Bdev b = bdevs.create("malloc:///m0?size_mb=4&blk_size=4096");
        Reactor r = reactors.get(0);
        MemorySegment buf = arena.allocate(2L * BS, 4096);
        assertThat(r.submit(() -> b.ioCounters(r)).join()).as("no channel yet, no counters").isNull();

        IoChannel first = r.submit(() -> b.channel(r)).join();
        for (int i = 0; i < 3; i++) {
            long lba = 2L * i;
            assertThat(run(first, (io, done) -> io.prepareWrite(lba, 2, buf, done)).join()).isEqualTo(IoStatus.SUCCESS);
        }
        assertThat(run(first, (io, done) -> io.prepareUnmap(0, 4, done)).join()).isEqualTo(IoStatus.SUCCESS);
        assertThat(run(first, (io, done) -> io.prepareFlush(0, 4, done)).join()).isEqualTo(IoStatus.SUCCESS);
        r.submit(first::close).join().join();

        IoStats afterClose = stats(b, r);
        assertThat(afterClose.numWriteOps()).isEqualTo(3);
        assertThat(afterClose.bytesWritten()).isEqualTo(3L * 2 * BS);
        assertThat(afterClose.numUnmapOps()).isEqualTo(1);
        assertThat(afterClose.bytesUnmapped()).isEqualTo(4L * BS);
        assertThat(afterClose.minUnmapLatencyNanos()).isPositive().isEqualTo(afterClose.maxUnmapLatencyNanos())
                .isEqualTo(afterClose.unmapLatencyNanos());

        // A channel made again on the same reactor counts into the same counters.
        IoChannel second = r.submit(() -> ((AbstractBdev) b).createChannel(r)).join();
        assertThat(run(second, (io, done) -> io.prepareRead(0, 2, buf, done)).join()).isEqualTo(IoStatus.SUCCESS);
        assertThat(run(second, (io, done) -> io.prepareRead(b.blockCount(), 2, buf, done)).join())
                .isEqualTo(IoStatus.OUT_OF_RANGE);
        r.submit(second::close).join().join();

        IoStats total = stats(b, r);
        assertThat(total.numWriteOps()).isEqualTo(3);
        assertThat(total.numReadOps()).isEqualTo(1);
        assertThat(total.bytesRead()).isEqualTo(2L * BS);
        assertThat(total.numErrors()).isEqualTo(1);
        assertThat(stats(b, reactors.get(1)).numWriteOps()).as("the other reactor counted nothing").isZero();
    }

    @Test
    void countersAddUpAcrossReactorsWithMinimaAndMaxima() {
        IoCounters a = new IoCounters();
        IoCounters b = new IoCounters();
        a.onRead(4096, 100);
        a.onRead(4096, 300);
        b.onRead(8192, 50);
        b.onWrite(512, 70);
        b.onError();
        IoCounters sum = new IoCounters();
        a.addTo(sum);
        b.addTo(sum);
        assertThat(sum.toStats("x", "u")).isEqualTo(new IoStats("x", "u", 3, 16384, 1, 512, 0, 0, 450, 70, 0, 300, 50,
                70, 70, 0, 0, 1));
        sum.reset();
        assertThat(sum.toStats("x", "u")).isEqualTo(new IoStats("x", "u", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                0, 0));
    }
}
