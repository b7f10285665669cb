package io.panastor.engine.bdev.delay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.panastor.engine.Await;
import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BdevClaim;
import io.panastor.engine.bdev.BdevException;
import io.panastor.engine.bdev.BdevIo;
import io.panastor.engine.bdev.Bdevs;
import io.panastor.engine.bdev.BlockPattern;
import io.panastor.engine.bdev.BlockPattern.Verdict;
import io.panastor.engine.bdev.IoChannel;
import io.panastor.engine.bdev.IoCompletion;
import io.panastor.engine.bdev.IoRunner;
import io.panastor.engine.bdev.IoRunner.Op;
import io.panastor.engine.bdev.IoRunner.Result;
import io.panastor.engine.bdev.IoStatus;
import io.panastor.engine.bdev.IoType;
import io.panastor.engine.bdev.fault.FaultBdev;
import io.panastor.engine.error.EngineException;
import io.panastor.natives.Errno;
import io.panastor.reactor.ManualNanoClock;
import io.panastor.reactor.Reactor;
import io.panastor.reactor.Reactors;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The delay kind: data through it intact, bad URIs refused leaving nothing behind, its base
 * claimed, and — on a manual clock, by moving time by hand — latency, the p99, the cap on
 * IOs in service and hot-removal. The base is a {@code fault} bdev over malloc, which counts
 * what reaches it.
 */
class DelayBdevTest {
    static final int BS = 4096;
    static ManualNanoClock clock;
    static Reactors manual;
    static Reactor r;
    static Reactors real;
    Bdevs bdevs;
    FaultBdev base;
    Arena arena;
    final BlockPattern pattern = new BlockPattern();

    @BeforeAll
    static void start() {
        clock = new ManualNanoClock();
        manual = Reactors.builder().count(1).pin(false).clock(clock).start();
        r = manual.get(0);
        real = Reactors.start(2);
    }

    @AfterAll
    static void stop() {
        manual.close();
        real.close();
    }

    @BeforeEach
    void make() {
        bdevs = new Bdevs(manual);
        bdevs.create("malloc:///m?size_mb=8&blk_size=4096");
        bdevs.create("fault:///f?base=m");
        base = FaultBdev.get("f");
        arena = Arena.ofShared();
    }

    @AfterEach
    void destroy() {
        bdevs.destroyAll().join();
        arena.close();
    }

    /** IO submitted all at once on the manual reactor, and the order and way each ended. */
    static final class Batch implements IoCompletion {
        final int[] order;
        final int[] status;
        final int[] errno;
        final AtomicInteger done = new AtomicInteger();
        final CompletableFuture<Void> all = new CompletableFuture<>();

        Batch(int n) {
            order = new int[n];
            status = new int[n];
            errno = new int[n];
        }

        static Batch submit(Reactor reactor, Bdev b, List<Op> ops) {
            Batch batch = new Batch(ops.size());
            reactor.execute(() -> {
                IoChannel ch = b.channel(reactor);
                for (int i = 0; i < ops.size(); i++) {
                    BdevIo io = ch.allocIo();
                    io.tag = i;
                    ch.submit(ops.get(i).prepare(io, batch));
                }
            });
            return batch;
        }

        @Override
        public void onIoComplete(BdevIo io) {
            int i = (int) io.tag;
            status[i] = io.status();
            errno[i] = io.errno();
            order[done.get()] = i;
            io.release();
            if (done.incrementAndGet() == order.length) {
                all.complete(null);
            }
        }

        int done() {
            return done.get();
        }

        void awaitDone(int n) {
            Await.until(n + " IOs done", Duration.ofSeconds(10), () -> done.get() >= n);
        }
    }

    /** Lets the manual reactor run a few duty cycles (base completions are delivered a cycle later). */
    /**
     * Lets the reactor run enough duty cycles to deliver every due completion: a channel
     * delivers at most 256 a cycle, and a batch here is up to 1000 IOs.
     */
    static void cycles() {
        for (int i = 0; i < 8; i++) {
            r.call(() -> null);
        }
    }

    static void advanceMicros(long us) {
        clock.advance(us, TimeUnit.MICROSECONDS);
        manual.awaitTimersDue().join();
        cycles();
    }

    MemorySegment blocks(long lba, int n, long generation) {
        MemorySegment s = arena.allocate((long) n * BS, 4096);
        pattern.fill(s, 0, BS, lba, n, generation);
        return s;
    }

    Verdict readBack(Reactor on, Bdev b, long lba, long generation) {
        MemorySegment s = arena.allocate(BS, 4096);
        assertThat(IoRunner.one(on, b, (io, d) -> io.prepareRead(lba, 1, s, d)).ok()).isTrue();
        return pattern.verify(s, 0, BS, lba, generation);
    }

    @Test
    void patternsWrittenThroughItReadBackIntactOnARealClock() {
        Bdevs reg = new Bdevs(real);
        reg.create("malloc:///rm?size_mb=16&blk_size=4096");
        Bdev d = reg.create("delay:///rd?base=rm&read_avg_us=20&read_p99_us=300&write_avg_us=50&write_p99_us=500"
                + "&max_inflight=4");
        assertThat(d.blockSize()).isEqualTo(4096);
        assertThat(d.blockCount()).isEqualTo(4096);
        assertThat(d.productName()).isEqualTo("Delay disk");
        try {
            for (int k = 0; k < 2; k++) {
                Reactor on = real.get(k);
                Random rnd = new Random(42 + k);
                List<Op> writes = new ArrayList<>();
                List<long[]> extents = new ArrayList<>();
                for (int i = 0; i < 64; i++) {
                    int n = 1 + rnd.nextInt(8);
                    long lba = (k * 64L + i) * 8;
                    MemorySegment data = blocks(lba, n, i + 1);
                    extents.add(new long[] {lba, n, i + 1});
                    writes.add((io, done) -> n < 3 ? io.prepareWrite(lba, n, data, done)
                            : io.prepareVectored(IoType.WRITE, lba, n, done).addBuffer(data.asSlice(0, BS))
                                    .addBuffer(data.asSlice(BS)));
                }
                assertThat(IoRunner.many(on, d, writes, 16).join()).allMatch(Result::ok);
                // read back from the other reactor
                Reactor other = real.get(1 - k);
                for (long[] e : extents) {
                    MemorySegment into = arena.allocate(e[1] * BS, 4096);
                    assertThat(IoRunner.one(other, d, (io, done) -> io.prepareRead(e[0], e[1], into, done)).ok()).isTrue();
                    for (int b = 0; b < e[1]; b++) {
                        assertThat(pattern.verify(into, (long) b * BS, BS, e[0] + b, e[2])).isEqualTo(Verdict.OK);
                    }
                }
            }
            assertThat(IoRunner.one(real.get(0), d, (io, done) -> io.prepareFlush(0, d.blockCount(), done)).ok()).isTrue();
            assertThat(IoRunner.one(real.get(0), d, (io, done) -> io.prepareUnmap(0, 8, done)).ok()).isTrue();
            assertThat(readBack(real.get(1), d, 0, 1)).isEqualTo(Verdict.ZERO);
        } finally {
            reg.destroyAll().join();
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "delay:///d                                          | INVALID_ARGUMENT | a delay bdev needs its base bdev",
        "delay:///d?base=nope                                | NOT_FOUND        | no bdev named 'nope'",
        "delay:///d?base=f&colour=red                        | INVALID_ARGUMENT | unknown parameter 'colour' for delay bdevs",
        "delay:///d?base=f&read_avg_us=100&read_p99_us=50    | INVALID_ARGUMENT | read_p99_us (50) must be at least read_avg_us (100)",
        "delay:///d?base=f&write_p99_us=9&write_avg_us=10    | INVALID_ARGUMENT | write_p99_us (9) must be at least write_avg_us (10)",
        "delay:///d?base=f&max_inflight=-1                   | INVALID_ARGUMENT | parameter max_inflight must be a non-negative integer",
        "delay:///d?base=f&read_avg_us=x                     | INVALID_ARGUMENT | parameter read_avg_us must be a non-negative integer",
        "delay:///d?base=m                                   | BUSY             | bdev m is already claimed by fault f",
    })
    void aBadUriIsRefusedAndLeavesNothingRegisteredNorClaimed(String uri, EngineException.Reason reason, String message) {
        assertThatThrownBy(() -> bdevs.create(uri))
                .isInstanceOf(BdevException.class)
                .hasMessageContaining(message)
                .satisfies(e -> assertThat(((BdevException) e).reason()).isEqualTo(reason));
        assertThat(bdevs.lookup("d")).isEmpty();
        assertThat(bdevs.claimant("f")).isEmpty();
        assertThat(bdevs.claimant("m")).hasValue("fault f");
    }

    @Test
    void theBaseIsClaimedWhileTheDelayBdevExistsAndFreeAfter() {
        Bdev d = bdevs.create("delay:///d?base=f&write_avg_us=10");
        assertThat(bdevs.claimant("f")).hasValue("delay d");
        assertThat(bdevs.create("delay:///d?base=f&write_avg_us=10")).isSameAs(d);
        assertThatThrownBy(() -> bdevs.destroy("f").join()).hasMessageContaining("claimed by delay d");
        bdevs.destroy("d").join();
        assertThat(bdevs.claimant("f")).isEmpty();
        assertThat(bdevs.lookup("d")).isEmpty();
    }

    @Test
    void theSameDelayOverTheSameBaseHasTheSameUuidEachTimeItIsMade() {
        java.util.UUID first = bdevs.create("delay:///d?base=f&write_avg_us=10").uuid();
        bdevs.destroy("d").join();
        assertThat(bdevs.create("delay:///d?base=f").uuid()).as("made again, other latencies").isEqualTo(first);
        bdevs.destroy("d").join();
        assertThat(bdevs.create("delay:///e?base=f").uuid()).as("another name").isNotEqualTo(first);
        bdevs.destroy("e").join();
        java.util.UUID given = java.util.UUID.randomUUID();
        assertThat(bdevs.create("delay:///d?base=f&uuid=" + given).uuid()).isEqualTo(given);
        bdevs.destroy("d").join();
    }

    @Test
    void anIoCompletesOnlyOnceItsLatencyHasPassedOnTheReactorClock() {
        Bdev d = bdevs.create("delay:///d?base=f&read_avg_us=500&write_avg_us=1000");
        MemorySegment data = blocks(7, 1, 3);
        Batch w = Batch.submit(r, d, List.of((io, done) -> io.prepareWrite(7, 1, data, done)));
        Await.until("the write reached the base", Duration.ofSeconds(10), () -> base.reachedBase(IoType.WRITE) == 1);
        cycles();
        assertThat(w.done()).isZero();
        // a timer at the deadline wakes the reactor then: a poller finding nothing due does not keep it awake
        assertThat(r.call(r::timerCount)).isEqualTo(1);
        advanceMicros(999);
        assertThat(w.done()).isZero();
        advanceMicros(1);
        w.awaitDone(1);
        assertThat(w.status[0]).isEqualTo(IoStatus.SUCCESS);
        assertThat(r.call(r::timerCount)).isZero();

        MemorySegment into = arena.allocate(BS, 4096);
        Batch rd = Batch.submit(r, d, List.of((io, done) -> io.prepareRead(7, 1, into, done)));
        Await.until("the read reached the base", Duration.ofSeconds(10), () -> base.reachedBase(IoType.READ) == 1);
        cycles();
        advanceMicros(499);
        assertThat(rd.done()).isZero();
        advanceMicros(1);
        rd.awaitDone(1);
        assertThat(rd.status[0]).isEqualTo(IoStatus.SUCCESS);
        assertThat(pattern.verify(into, 0, BS, 7, 3)).isEqualTo(Verdict.OK);

        // FLUSH passes straight through: no latency
        Batch fl = Batch.submit(r, d, List.of((io, done) -> io.prepareFlush(0, 1, done)));
        fl.awaitDone(1);
        assertThat(fl.status[0]).isEqualTo(IoStatus.SUCCESS);
    }

    @Test
    void theLatencyIsAtLeastTheBasesOwnTime() {
        Bdev d = bdevs.create("delay:///d?base=f&write_avg_us=100");
        base.hang(IoType.WRITE);
        MemorySegment data = blocks(1, 1, 1);
        Batch w = Batch.submit(r, d, List.of((io, done) -> io.prepareWrite(1, 1, data, done)));
        Await.until("the base holds the write", Duration.ofSeconds(10), () -> base.held() == 1);
        advanceMicros(10_000);
        assertThat(w.done()).isZero();
        base.releaseHung();
        w.awaitDone(1);
        assertThat(w.status[0]).isEqualTo(IoStatus.SUCCESS);
        assertThat(readBack(r, d, 1, 1)).isEqualTo(Verdict.OK);
    }

    @Test
    void aboutOneIoInAHundredGetsTheP99Latency() {
        Bdev d = bdevs.create("delay:///d?base=f&read_avg_us=100&read_p99_us=10000");
        int slow = 0;
        for (int round = 0; round < 2; round++) {
            List<Op> reads = new ArrayList<>();
            for (int i = 0; i < 1000; i++) {
                MemorySegment into = arena.allocate(BS, 4096);
                long lba = i;
                reads.add((io, done) -> io.prepareRead(lba, 1, into, done));
            }
            long before = base.reachedBase(IoType.READ);
            Batch b = Batch.submit(r, d, reads);
            DelayChannel ch = (DelayChannel) r.call(() -> d.channel(r));
            // Every base read answered (they are delivered a few hundred a duty cycle) before
            // the clock moves: then each IO is due exactly when its latency says.
            Await.until("the base answered every read", Duration.ofSeconds(10),
                    () -> base.reachedBase(IoType.READ) == before + 1000 && r.call(ch::answeredAndHeld) == 1000);
            assertThat(b.done()).isZero();
            advanceMicros(100);
            int fast = b.done();
            advanceMicros(9899);
            assertThat(b.done()).isEqualTo(fast);
            advanceMicros(1);
            b.awaitDone(1000);
            slow += 1000 - fast;
        }
        // binomial(2000, 1 %): mean 20; outside [1, 60] with a probability below 1e-8
        assertThat(slow).isBetween(1, 60);
    }

    @Test
    void maxInflightLetsOnlyThatManyIntoServiceAndTheRestFollowInFifoOrder() {
        Bdev d = bdevs.create("delay:///d?base=f&write_avg_us=1000&max_inflight=2");
        List<Op> writes = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            MemorySegment data = blocks(i, 1, 10 + i);
            long lba = i;
            writes.add((io, done) -> io.prepareWrite(lba, 1, data, done));
        }
        Batch w = Batch.submit(r, d, writes);
        Await.until("two writes reached the base", Duration.ofSeconds(10), () -> base.reachedBase(IoType.WRITE) == 2);
        cycles();
        DelayChannel ch = (DelayChannel) r.call(() -> d.channel(r));
        assertThat(base.reachedBase(IoType.WRITE)).isEqualTo(2);
        assertThat(r.call(ch::inService)).isEqualTo(2);
        assertThat(r.call(ch::waiting)).isEqualTo(3);
        assertThat(w.done()).isZero();

        advanceMicros(1000);
        w.awaitDone(2);
        assertThat(base.reachedBase(IoType.WRITE)).isEqualTo(4);
        assertThat(w.done()).isEqualTo(2);
        advanceMicros(1000);
        w.awaitDone(4);
        assertThat(base.reachedBase(IoType.WRITE)).isEqualTo(5);
        advanceMicros(1000);
        w.all.join();
        assertThat(w.order).containsExactly(0, 1, 2, 3, 4);
        assertThat(w.status).containsOnly(IoStatus.SUCCESS);
        for (int i = 0; i < 5; i++) {
            assertThat(readBack(r, d, i, 10 + i)).isEqualTo(Verdict.OK);
        }
    }

    @Test
    void destroyingItWithHeldIoWaivesTheLatency() {
        Bdev d = bdevs.create("delay:///d?base=f&write_avg_us=1000000&max_inflight=1");
        MemorySegment a = blocks(0, 1, 1);
        MemorySegment b = blocks(1, 1, 1);
        Batch w = Batch.submit(r, d, List.of((io, done) -> io.prepareWrite(0, 1, a, done),
                (io, done) -> io.prepareWrite(1, 1, b, done)));
        Await.until("a write reached the base", Duration.ofSeconds(10), () -> base.reachedBase(IoType.WRITE) == 1);
        bdevs.destroy("d").join();
        assertThat(w.all).isDone();
        assertThat(w.status).containsOnly(IoStatus.SUCCESS);
        assertThat(bdevs.claimant("f")).isEmpty();
    }

    @Test
    void aHotRemovedBaseFailsHeldAndWaitingIoAndRemovesTheDelayBdev() {
        Bdev d = bdevs.create("delay:///d?base=f&write_avg_us=1000&max_inflight=1");
        AtomicReference<String> heard = new AtomicReference<>();
        BdevClaim claim = bdevs.claim("d", "nexus-test", c -> heard.set(c.removedReason()));
        MemorySegment a = blocks(0, 1, 1);
        MemorySegment b = blocks(1, 1, 1);
        Batch w = Batch.submit(r, d, List.of((io, done) -> io.prepareWrite(0, 1, a, done),
                (io, done) -> io.prepareWrite(1, 1, b, done)));
        Await.until("a write reached the base", Duration.ofSeconds(10), () -> base.reachedBase(IoType.WRITE) == 1);
        cycles();
        base.removeDevice();
        w.all.join();
        assertThat(w.status).containsOnly(IoStatus.IO_ERROR);
        assertThat(w.errno).containsOnly(Errno.ENODEV);
        Await.until("the delay bdev's claimant hears of it", Duration.ofSeconds(10), () -> heard.get() != null);
        assertThat(heard.get()).contains("base bdev f was removed");
        assertThat(claim.removed()).isTrue();
        assertThat(bdevs.lookup("d")).isEmpty();
        assertThat(bdevs.lookup("f")).isEmpty();
        Await.until("malloc is free", Duration.ofSeconds(10), () -> bdevs.claimant("m").isEmpty());
    }
}
