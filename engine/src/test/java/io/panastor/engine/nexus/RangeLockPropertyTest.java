package io.panastor.engine.nexus;

import static io.panastor.engine.nexus.NexusTestSupport.BS;
import static io.panastor.engine.nexus.NexusTestSupport.malloc;
import static io.panastor.engine.nexus.NexusTestSupport.read;
import static io.panastor.engine.nexus.NexusTestSupport.spec;
import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.engine.Engine;
import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BdevIo;
import io.panastor.engine.bdev.BlockPattern;
import io.panastor.engine.bdev.IoChannel;
import io.panastor.engine.bdev.IoRunner;
import io.panastor.engine.bdev.IoStatus;
import io.panastor.engine.bdev.IoType;
import io.panastor.engine.bdev.fault.FaultBdev;
import io.panastor.reactor.Reactor;
import io.panastor.reactor.Reactors;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * The range lock against random interleavings of segment copies and user writes. Each try
 * makes a nexus over a source S (slowed, so user writes are in flight when a lock is asked
 * for) and a destination D that takes writes and no reads, as a rebuild's does, and plays the
 * rebuild itself: a copy locks a segment, reads it from S, writes it to D and unlocks. Waves of
 * writes (from both reactors, on blocks no other write of the wave touches) and copies (of any
 * segments, overlapping or not) race. A model says what D must hold after: the last write of a
 * block written by the user; the source's first pattern where a block was only copied; zeroes
 * where neither. A copy done without the lock, forced into the bad order, breaks the model
 * ({@link #withoutTheLockAStaleCopyOverwritesAUserWrite}): the property can fail.
 */
class RangeLockPropertyTest {
    private static final int BLOCKS = 64;
    private static final int SEGMENT = 4;
    private static final long FIRST_GEN = 1;
    private static final AtomicInteger NAMES = new AtomicInteger();
    private static Engine engine;

    @BeforeContainer
    static void start() {
        engine = Engine.start(Reactors.builder().count(2).pin(false));
    }

    @AfterContainer
    static void stop() {
        engine.close();
    }

    /** One action: a user write of {@code count} blocks at {@code lba} from reactor {@code reactor}, or a copy of segment {@code lba}. */
    record Action(boolean copy, int lba, int count, int reactor) {
    }

    @Provide
    Arbitrary<List<List<Action>>> waves() {
        Arbitrary<Action> write = Combinators.combine(Arbitraries.integers().between(0, BLOCKS - 1),
                Arbitraries.integers().between(1, 6), Arbitraries.integers().between(0, 1))
                .as((lba, n, r) -> new Action(false, lba, Math.min(n, BLOCKS - lba), r));
        Arbitrary<Action> copy = Arbitraries.integers().between(0, BLOCKS / SEGMENT - 1)
                .map(s -> new Action(true, s, SEGMENT, 0));
        Arbitrary<Action> action = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(3, write), net.jqwik.api.Tuple.of(2, copy));
        return action.list().ofMinSize(1).ofMaxSize(12).list().ofMinSize(1).ofMaxSize(6);
    }

    @Property(tries = 200)
    void theDestinationHoldsTheLastWriteOfEveryBlockWrittenAndTheSourceWhereOnlyCopied(
            @ForAll("waves") List<List<Action>> waves, @ForAll("delays") long writeDelayNanos) throws Exception {
        Fixture f = new Fixture(writeDelayNanos);
        try (Arena arena = Arena.ofShared()) {
            long[] expected = new long[BLOCKS];    // 0: zeroes (never written or copied)
            long gen = 10;
            for (List<Action> wave : waves) {
                boolean[] taken = new boolean[BLOCKS];
                List<CompletableFuture<?>> running = new ArrayList<>();
                for (Action a : wave) {
                    if (a.copy()) {
                        running.add(f.copy(a.lba()));
                        for (int b = a.lba() * SEGMENT; b < (a.lba() + 1) * SEGMENT; b++) {
                            if (expected[b] == 0) {
                                expected[b] = FIRST_GEN;     // what S held, unless a write of this wave lands (below)
                            }
                        }
                    } else {
                        boolean free = true;
                        for (int b = a.lba(); b < a.lba() + a.count(); b++) {
                            free &= !taken[b];
                        }
                        if (!free) {
                            continue;    // one write per block per wave: its last write is known
                        }
                        long g = ++gen;
                        for (int b = a.lba(); b < a.lba() + a.count(); b++) {
                            taken[b] = true;
                            expected[b] = g;
                        }
                        running.add(f.write(a.lba(), a.count(), g, a.reactor(), arena));
                    }
                }
                for (CompletableFuture<?> r : running) {
                    r.get(60, TimeUnit.SECONDS);
                }
            }
            f.assertDestination(expected, arena);
        } finally {
            f.close();
        }
    }

    @Provide
    Arbitrary<Long> delays() {
        return Arbitraries.of(0L, 20_000L, 200_000L);
    }

    @Example
    void withoutTheLockAStaleCopyOverwritesAUserWrite() throws Exception {
        Fixture f = new Fixture(0);
        try (Arena arena = Arena.ofShared()) {
            long[] expected = new long[BLOCKS];
            // The copy's read, then a user write of the same segment, then the copy's write: stale data on D.
            MemorySegment buf = arena.allocate((long) SEGMENT * BS, BS);
            assertThat(f.io(f.s, IoType.READ, 0, buf)).isEqualTo(IoStatus.SUCCESS);
            f.write(0, 2, 77, 1, arena).get(30, TimeUnit.SECONDS);
            assertThat(f.io(f.d, IoType.WRITE, 0, buf)).isEqualTo(IoStatus.SUCCESS);
            expected[0] = 77;
            expected[1] = 77;
            expected[2] = FIRST_GEN;
            expected[3] = FIRST_GEN;
            assertThat(f.mismatches(expected, arena)).as("the model sees the stale copy").contains(0, 1);
        } finally {
            f.close();
        }
    }

    @Example
    void aLockedRangeHoldsOverlappingWritesUntilUnlockedAndNothingElse() throws Exception {
        Fixture f = new Fixture(0);
        try (Arena arena = Arena.ofShared()) {
            Reactor r0 = engine.reactors().get(0);
            CompletableFuture<Void> granted = new CompletableFuture<>();
            RangeLock lock = f.nexus.lockRange(0, SEGMENT, r0, () -> granted.complete(null));
            granted.get(30, TimeUnit.SECONDS);
            long before = FaultBdev.get(f.sName).seen(IoType.WRITE);
            CompletableFuture<List<IoRunner.Result>> held = f.write(1, 1, 50, 1, arena);
            // A write past the range and a read inside it go through while the lock holds.
            assertThat(f.write(SEGMENT, 2, 51, 1, arena).get(30, TimeUnit.SECONDS)).allMatch(IoRunner.Result::ok);
            MemorySegment got = read(engine.reactors().get(1), f.nexus, 0, SEGMENT, 4, arena);
            assertThat(NexusTestSupport.badBlocks(got, 0, SEGMENT, FIRST_GEN)).isEmpty();
            assertThat(held).isNotDone();
            // Of the writes after the lock, only the one past the range reached the source (one IO per block).
            assertThat(FaultBdev.get(f.sName).seen(IoType.WRITE) - before).isEqualTo(2);
            f.nexus.unlockRange(lock);
            assertThat(held.get(30, TimeUnit.SECONDS)).allMatch(IoRunner.Result::ok);
            long[] expected = new long[BLOCKS];
            expected[1] = 50;
            expected[SEGMENT] = 51;
            expected[SEGMENT + 1] = 51;
            f.assertDestination(expected, arena);
        } finally {
            f.close();
        }
    }

    /** A nexus over S (fault over malloc, filled with FIRST_GEN) and D (malloc, added with no rebuild). */
    private static final class Fixture {
        final String sName;
        final String name;
        final Nexus nexus;
        final Bdev s;
        final Bdev d;

        Fixture(long writeDelayNanos) {
            int n = NAMES.incrementAndGet();
            sName = "ls" + n;
            String dName = "ld" + n;
            name = "lk" + n;
            Engine.await(engine.createBdev(malloc("base" + sName, 1)));
            Engine.await(engine.createBdev("fault:///" + sName + "?base=base" + sName));
            Engine.await(engine.createBdev(malloc(dName, 1)));
            Engine.await(engine.createNexus(spec(name, (long) BLOCKS * BS, "bdev:///" + sName)));
            nexus = (Nexus) engine.bdevs().get(name);
            s = engine.bdevs().get(sName);
            d = engine.bdevs().get(dName);
            try (Arena a = Arena.ofShared()) {
                assertThat(NexusTestSupport.write(engine.reactors().get(0), nexus, 0, BLOCKS, FIRST_GEN, 8, a))
                        .allMatch(IoRunner.Result::ok);
            }
            Engine.await(engine.addNexusChild(name, "bdev:///" + dName, true));
            if (writeDelayNanos > 0) {
                FaultBdev.get(sName).delay(IoType.WRITE, writeDelayNanos);
            }
        }

        CompletableFuture<List<IoRunner.Result>> write(int lba, int count, long gen, int reactor, Arena arena) {
            return NexusTestSupport.writeAsync(engine.reactors().get(reactor), nexus, lba, count, gen, 4, arena)
                    .thenApply(r -> {
                        assertThat(r).allMatch(IoRunner.Result::ok);
                        return r;
                    });
        }

        /** A rebuild's copy of segment {@code seg}: lock, read S, write D, unlock, all on reactor 0. */
        CompletableFuture<Void> copy(int seg) {
            Reactor r0 = engine.reactors().get(0);
            CompletableFuture<Void> done = new CompletableFuture<>();
            MemorySegment buf = Arena.ofAuto().allocate((long) SEGMENT * BS, BS);
            RangeLock[] lock = new RangeLock[1];
            lock[0] = nexus.lockRange((long) seg * SEGMENT, SEGMENT, r0, () -> {
                IoChannel sc = s.channel(r0);
                IoChannel dc = d.channel(r0);
                BdevIo rd = sc.allocIo();
                rd.prepareRead((long) seg * SEGMENT, SEGMENT, buf, r -> {
                    int st = r.status();
                    r.release();
                    if (st != IoStatus.SUCCESS) {
                        nexus.unlockRange(lock[0]);
                        done.completeExceptionally(new AssertionError("copy read " + IoStatus.name(st)));
                        return;
                    }
                    BdevIo wr = dc.allocIo();
                    wr.prepareWrite((long) seg * SEGMENT, SEGMENT, buf, w -> {
                        int ws = w.status();
                        w.release();
                        nexus.unlockRange(lock[0]);
                        if (ws == IoStatus.SUCCESS) {
                            done.complete(null);
                        } else {
                            done.completeExceptionally(new AssertionError("copy write " + IoStatus.name(ws)));
                        }
                    });
                    dc.submit(wr);
                });
                sc.submit(rd);
            });
            return done;
        }

        /** One IO of a segment's size at block {@code lba} straight to {@code b}, on reactor 0; its status. */
        int io(Bdev b, IoType type, int lba, MemorySegment buf) {
            Reactor r0 = engine.reactors().get(0);
            return IoRunner.one(r0, b, (io, done) -> type == IoType.READ
                    ? io.prepareRead(lba, SEGMENT, buf, done) : io.prepareWrite(lba, SEGMENT, buf, done)).status();
        }

        /** Blocks of D that do not hold what {@code expected} says (a generation's pattern, or zeroes for 0). */
        List<Integer> mismatches(long[] expected, Arena arena) {
            MemorySegment got = read(engine.reactors().get(0), d, 0, BLOCKS, 8, arena);
            BlockPattern p = new BlockPattern();
            byte[] zero = new byte[BS];
            List<Integer> bad = new ArrayList<>();
            for (int b = 0; b < BLOCKS; b++) {
                MemorySegment blk = got.asSlice((long) b * BS, BS);
                boolean ok = expected[b] == 0 ? Arrays.equals(blk.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), zero)
                        : p.verify(got, (long) b * BS, BS, b, expected[b]) == BlockPattern.Verdict.OK;
                if (!ok) {
                    bad.add(b);
                }
            }
            return bad;
        }

        void assertDestination(long[] expected, Arena arena) {
            assertThat(mismatches(expected, arena)).as("blocks of D not as the model says (expected %s)",
                    Arrays.toString(expected)).isEmpty();
            // And the source holds every write too (the blocks the model calls copied-only hold FIRST_GEN).
            MemorySegment src = read(engine.reactors().get(1), s, 0, BLOCKS, 8, arena);
            BlockPattern p = new BlockPattern();
            for (int b = 0; b < BLOCKS; b++) {
                long want = expected[b] == 0 ? FIRST_GEN : expected[b];
                assertThat(p.verify(src, (long) b * BS, BS, b, want)).as("block %d of S", b)
                        .isEqualTo(BlockPattern.Verdict.OK);
            }
        }

        void close() {
            FaultBdev.get(sName).heal();
            Engine.await(engine.destroyNexus(name));
        }
    }
}
