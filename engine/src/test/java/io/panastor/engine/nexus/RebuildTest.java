package io.panastor.engine.nexus;

import static io.panastor.engine.nexus.NexusTestSupport.BS;
import static io.panastor.engine.nexus.NexusTestSupport.MiB;
import static io.panastor.engine.nexus.NexusTestSupport.assertHolds;
import static io.panastor.engine.nexus.NexusTestSupport.child;
import static io.panastor.engine.nexus.NexusTestSupport.malloc;
import static io.panastor.engine.nexus.NexusTestSupport.read;
import static io.panastor.engine.nexus.NexusTestSupport.spec;
import static io.panastor.engine.nexus.NexusTestSupport.write;
import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.engine.Await;
import io.panastor.engine.Engine;
import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BlockPattern;
import io.panastor.engine.bdev.IoRunner;
import io.panastor.engine.bdev.IoType;
import io.panastor.engine.bdev.fault.FaultBdev;
import io.panastor.engine.lvs.PoolSpec;
import io.panastor.engine.lvs.ReplicaInfo;
import io.panastor.engine.rebuild.FileRebuildHistory;
import io.panastor.engine.rebuild.RebuildKind;
import io.panastor.engine.rebuild.RebuildState;
import io.panastor.engine.rebuild.RebuildStats;
import io.panastor.reactor.Reactors;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rebuilds of a nexus's child: full and partial copies under user writes, pause and resume,
 * a source or the destination failing, thin sources, the engine's queue, and the history and
 * dirty logs across a nexus made again.
 */
class RebuildTest {
    private static final AtomicInteger NAMES = new AtomicInteger();
    private static final int EIO = 5;
    private static final int ETIMEDOUT = 110;
    /** 16 MiB nexuses in 64 KiB segments: 256 segments of 16 blocks. */
    private static final int BLOCKS = 4096;
    private static final int SEGMENT_BLOCKS = 16;
    private Engine engine;
    private Arena arena;

    @BeforeEach
    void start() {
        engine = startEngine();
        arena = Arena.ofShared();
    }

    private static Engine startEngine() {
        Engine e = Engine.start(Reactors.builder().count(2).pin(false));
        e.rebuildSegments(SEGMENT_BLOCKS * BS, 4);
        return e;
    }

    @AfterEach
    void stop() {
        engine.close();
        arena.close();
    }

    // ------------------------------------------------------------------ helpers

    /** A fault bdev over a 16 MiB malloc; its child URI. */
    private String faulty(String name) {
        Engine.await(engine.createBdev(malloc("base" + name, 16)));
        Engine.await(engine.createBdev("fault:///" + name + "?base=base" + name));
        return "bdev:///" + name;
    }

    private String plain(String name) {
        Engine.await(engine.createBdev(malloc(name, 16)));
        return "bdev:///" + name;
    }

    private static String unique(String prefix) {
        return prefix + NAMES.incrementAndGet();
    }

    /** Nexus "n" of 16 MiB over {@code children}, written whole with {@code generation}'s pattern. */
    private Bdev filled(long generation, String... children) {
        Engine.await(engine.createNexus(spec("n", 16 * MiB, children)));
        Bdev n = bdev("n");
        assertThat(write(engine.reactors().get(0), n, 0, BLOCKS, generation, 16, arena)).allMatch(IoRunner.Result::ok);
        return n;
    }

    private Bdev bdev(String name) {
        return engine.bdevs().get(name);
    }

    private NexusInfo nexus(String name) {
        return engine.nexus(name).orElseThrow();
    }

    private static void await(String what, BooleanSupplier cond) {
        Await.until(what, Duration.ofSeconds(60), cond);
    }

    /** The end of child {@code uri}'s rebuild (the job it has now, or its last). */
    private RebuildStats awaitEnd(String nexus, String uri) {
        try {
            return engine.rebuildEnd(nexus, uri).get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError("the rebuild of " + uri + " did not end", e);
        }
    }

    /** Reads all of both bdevs and asserts they are byte-identical. */
    private void assertIdentical(Bdev x, Bdev y) {
        MemorySegment a = read(engine.reactors().get(0), x, 0, BLOCKS, 16, arena);
        MemorySegment b = read(engine.reactors().get(1), y, 0, BLOCKS, 16, arena);
        assertThat(a.mismatch(b)).as("first byte where %s and %s differ", x.name(), y.name()).isEqualTo(-1L);
    }

    /**
     * Writes random blocks through {@code nexus} from both reactors until {@code stop}: reactor
     * 0 the even blocks, reactor 1 the odd ones, so each block's last write is known. Counts
     * the writes made while {@code during} holds.
     */
    private CompletableFuture<Void> randomWrites(Bdev nexus, AtomicBoolean stop, long seed, AtomicLong writes,
                                                 BooleanSupplier during, AtomicLong writesDuring) {
        List<CompletableFuture<Void>> all = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
            int parity = r;
            all.add(CompletableFuture.runAsync(() -> {
                Random rnd = new Random(seed + parity);
                long gen = 100 + parity;
                BlockPattern p = new BlockPattern();
                try (Arena a = Arena.ofShared()) {
                    MemorySegment buf = a.allocate(32L * BS, BS);
                    while (!stop.get()) {
                        gen += 2;
                        List<IoRunner.Op> ops = new ArrayList<>();
                        Set<Long> lbas = new TreeSet<>();
                        while (lbas.size() < 32) {
                            lbas.add((long) (rnd.nextInt(BLOCKS / 2) * 2 + parity));
                        }
                        int i = 0;
                        for (long lba : lbas) {
                            MemorySegment b = buf.asSlice((long) i++ * BS, BS);
                            p.fill(b, 0, BS, lba, 1, gen);
                            ops.add((io, done) -> io.prepareWrite(lba, 1, b, done));
                        }
                        boolean now = during.getAsBoolean();
                        List<IoRunner.Result> res = IoRunner.many(engine.reactors().get(parity), nexus, ops, 8).join();
                        assertThat(res).allMatch(IoRunner.Result::ok);
                        writes.addAndGet(ops.size());
                        if (now && during.getAsBoolean()) {
                            writesDuring.addAndGet(ops.size());
                        }
                    }
                }
            }, java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()));
        }
        return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new));
    }

    // ------------------------------------------------------------------ full rebuilds

    @Test
    void aFullRebuildUnderRandomWritesLeavesTheChildrenByteIdentical() {
        String a = unique("a");
        String b = unique("b");
        String ua = faulty(a);
        String ub = plain(b);
        Bdev n = filled(1, ua);
        // Slow reads of the source, so the copy takes long enough for writes to land beside it.
        FaultBdev.get(a).delay(IoType.READ, 1_000_000);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong writes = new AtomicLong();
        AtomicLong during = new AtomicLong();
        NexusInfo added = Engine.await(engine.addNexusChild("n", ub, false));
        assertThat(child(added, ub).state()).isEqualTo(ChildState.OUT_OF_SYNC);
        assertThat(child(added, ub).rebuild()).isNotNull();
        CompletableFuture<Void> load = randomWrites(n, stop, 7, writes, () -> child(nexus("n"), ub).rebuild() != null,
                during);
        RebuildStats done = awaitEnd("n", ub);
        stop.set(true);
        load.join();
        FaultBdev.get(a).heal();

        assertThat(done.state()).isEqualTo(RebuildState.COMPLETED);
        assertThat(done.kind()).isEqualTo(RebuildKind.FULL);
        assertThat(done.sourceUri()).isEqualTo(ua);
        assertThat(done.segmentsTotal()).isEqualTo(BLOCKS / SEGMENT_BLOCKS);
        assertThat(done.segmentsDone()).isEqualTo(done.segmentsTotal());
        assertThat(done.blocksDone()).isEqualTo(BLOCKS);
        assertThat(done.blocksTransferred()).isEqualTo(BLOCKS);
        assertThat(done.progressPercent()).isEqualTo(100);
        assertThat(during.get()).as("writes made while the rebuild ran").isPositive();
        NexusInfo after = nexus("n");
        assertThat(child(after, ub).state()).isEqualTo(ChildState.OPEN);
        assertThat(after.state()).isEqualTo(NexusState.ONLINE);
        assertIdentical(bdev("base" + a), bdev(b));
        // And reads from the rebuilt child alone see the data: take the source out.
        Engine.await(engine.nexusChildOperation("n", ua, ChildAction.OFFLINE));
        MemorySegment viaB = read(engine.reactors().get(0), n, 0, BLOCKS, 16, arena);
        MemorySegment direct = read(engine.reactors().get(0), bdev("base" + a), 0, BLOCKS, 16, arena);
        assertThat(viaB.mismatch(direct)).isEqualTo(-1L);
        assertThat(engine.rebuildCounters().bytesRebuilt()).isEqualTo((long) BLOCKS * BS);
        assertThat(engine.rebuildCounters().completed()).isEqualTo(1);
    }

    @Test
    void aPausedRebuildFinishesItsSegmentsInFlightThenWaitsAndResumesToTheEnd() {
        String a = unique("a");
        String b = unique("b");
        String ua = faulty(a);
        String ub = plain(b);
        Bdev n = filled(1, ua);
        FaultBdev.get(a).hang(IoType.READ);
        Engine.await(engine.addNexusChild("n", ub, false));
        await("the first segments to be read", () -> FaultBdev.get(a).held() == 4);
        // Paused at once; the pause answers once the segments in flight (held by the hang) have ended.
        CompletableFuture<NexusInfo> pausing = engine.pauseRebuild("n", ub);
        await("the job to pause", () -> child(nexus("n"), ub).rebuild().state() == RebuildState.PAUSED);
        assertThat(pausing).isNotDone();
        FaultBdev.get(a).heal();
        Engine.await(pausing);
        RebuildStats paused = child(nexus("n"), ub).rebuild();
        assertThat(paused.state()).isEqualTo(RebuildState.PAUSED);
        assertThat(paused.segmentsDone()).as("the segments in flight at the pause").isEqualTo(4);
        assertThat(paused.tasksActive()).isZero();
        // Writes while paused reach the child being rebuilt.
        assertThat(write(engine.reactors().get(1), n, 100, 200, 2, 8, arena)).allMatch(IoRunner.Result::ok);
        assertThat(child(nexus("n"), ub).rebuild().segmentsDone()).isEqualTo(4);
        assertThat(child(nexus("n"), ub).state()).isEqualTo(ChildState.OUT_OF_SYNC);
        Engine.await(engine.resumeRebuild("n", ub));
        RebuildStats done = awaitEnd("n", ub);
        assertThat(done.state()).isEqualTo(RebuildState.COMPLETED);
        assertThat(done.segmentsDone()).isEqualTo(BLOCKS / SEGMENT_BLOCKS);
        assertIdentical(bdev("base" + a), bdev(b));
        assertHolds(engine, bdev(b), 100, 200, 2);
        assertHolds(engine, bdev(b), 0, 100, 1);
    }

    @Test
    void aStoppedRebuildLeavesTheChildOutOfSyncAndStartRebuildCopiesItAgain() {
        String a = unique("a");
        String b = unique("b");
        String ua = faulty(a);
        String ub = plain(b);
        Bdev n = filled(1, ua);
        FaultBdev.get(a).hang(IoType.READ);
        Engine.await(engine.addNexusChild("n", ub, false));
        await("segments in flight", () -> FaultBdev.get(a).held() == 4);
        CompletableFuture<NexusInfo> stopping = engine.stopRebuild("n", ub);
        // The stop is asked for (it names its reason) before the held reads go on: else the job may end first.
        await("the stop to reach the job", () -> child(nexus("n"), ub).rebuild() == null
                || child(nexus("n"), ub).rebuild().failure() != null);
        FaultBdev.get(a).heal();
        NexusInfo stopped = Engine.await(stopping);
        assertThat(child(stopped, ub).state()).isEqualTo(ChildState.OUT_OF_SYNC);
        assertThat(child(stopped, ub).rebuild()).isNull();
        RebuildStats last = engine.rebuildHistory("n").getLast();
        assertThat(last.state()).isEqualTo(RebuildState.STOPPED);
        assertThat(last.segmentsDone()).isEqualTo(4);
        Engine.await(engine.startRebuild("n", ub));
        RebuildStats done = awaitEnd("n", ub);
        assertThat(done.state()).isEqualTo(RebuildState.COMPLETED);
        assertThat(done.segmentsDone()).isEqualTo(BLOCKS / SEGMENT_BLOCKS);
        assertThat(child(nexus("n"), ub).state()).isEqualTo(ChildState.OPEN);
        assertIdentical(bdev("base" + a), bdev(b));
        assertThat(engine.rebuildHistory("n")).extracting(RebuildStats::state)
                .containsExactly(RebuildState.STOPPED, RebuildState.COMPLETED);
    }

    @Test
    void aSourceFailingMidRebuildIsFaultedAndTheCopyGoesOnFromAnother() {
        String a = unique("a");
        String b = unique("b");
        String c = unique("c");
        String ua = faulty(a);
        String ub = faulty(b);
        String uc = plain(c);
        Bdev n = filled(3, ua, ub);
        FaultBdev.get(a).failAfter(IoType.READ, 10, EIO);
        FaultBdev.get(b).failAfter(IoType.READ, 10_000, EIO);   // counts the reads b serves
        AtomicBoolean stop = new AtomicBoolean();
        Engine.await(engine.addNexusChild("n", uc, false));
        CompletableFuture<Void> load = randomWrites(bdev("n"), stop, 11, new AtomicLong(), () -> true,
                new AtomicLong());
        RebuildStats done = awaitEnd("n", uc);
        stop.set(true);
        load.join();
        assertThat(done.state()).isEqualTo(RebuildState.COMPLETED);
        assertThat(done.sourceUri()).isEqualTo(ub);
        NexusInfo after = nexus("n");
        assertThat(child(after, ua).state()).isEqualTo(ChildState.FAULTED);
        assertThat(child(after, ua).reason()).isEqualTo(ChildReason.IO_FAILURE);
        assertThat(child(after, uc).state()).isEqualTo(ChildState.OPEN);
        assertThat(FaultBdev.get(b).seen(IoType.READ)).as("segments read from b").isPositive();
        FaultBdev.get(b).heal();
        assertIdentical(bdev("base" + b), bdev(c));
    }

    @Test
    void theOnlySourceFailingFailsTheRebuildAndTheChildStaysOutOfReads() {
        String a = unique("a");
        String b = unique("b");
        String ua = faulty(a);
        String ub = plain(b);
        Bdev n = filled(3, ua);
        FaultBdev.get(a).failAfter(IoType.READ, 6, EIO);
        Engine.await(engine.addNexusChild("n", ub, false));
        RebuildStats done = awaitEnd("n", ub);
        assertThat(done.state()).isEqualTo(RebuildState.FAILED);
        assertThat(done.failure()).contains(ua);
        assertThat(done.segmentsDone()).isLessThan(done.segmentsTotal());
        NexusInfo after = nexus("n");
        // The last healthy child is not faulted for one read; the destination is.
        assertThat(child(after, ua).state()).isEqualTo(ChildState.OPEN);
        assertThat(child(after, ub).state()).isEqualTo(ChildState.FAULTED);
        assertThat(child(after, ub).reason()).isEqualTo(ChildReason.REBUILD_FAILED);
        assertThat(after.state()).isEqualTo(NexusState.DEGRADED);
        FaultBdev.get(a).heal();
        assertHolds(engine, bdev("n"), 0, BLOCKS, 3);
        assertThat(engine.nexusHealth(after.infoKey()).orElseThrow().children())
                .filteredOn(h -> h.uri().equals(ub)).extracting(HealthRecord.ChildHealth::healthy).containsExactly(false);
    }

    @Test
    void theDestinationFailingMidRebuildFailsTheJobAndFaultsOnlyIt() {
        String a = unique("a");
        String b = unique("b");
        String ua = plain(a);
        String ub = faulty(b);
        Bdev n = filled(3, ua);
        FaultBdev.get(b).failAfter(IoType.WRITE, 20, EIO);
        Engine.await(engine.addNexusChild("n", ub, false));
        RebuildStats done = awaitEnd("n", ub);
        assertThat(done.state()).isEqualTo(RebuildState.FAILED);
        NexusInfo after = nexus("n");
        assertThat(child(after, ub).state()).isEqualTo(ChildState.FAULTED);
        assertThat(child(after, ub).reason()).isEqualTo(ChildReason.IO_FAILURE);
        assertThat(child(after, ua).state()).isEqualTo(ChildState.OPEN);
        assertThat(write(engine.reactors().get(1), bdev("n"), 0, 64, 4, 8, arena)).allMatch(IoRunner.Result::ok);
        assertHolds(engine, bdev("n"), 0, 64, 4);
        assertHolds(engine, bdev("n"), 64, BLOCKS - 64, 3);
    }

    @Test
    void aThinSourceCopiesOnlyItsAllocatedClustersAndTheCopyStaysThin() {
        Engine.await(engine.createBdev(malloc("disk", 128)));
        Engine.await(engine.createPool(new PoolSpec("p", null, "bdev:///disk", PoolSpec.MIN_CLUSTER_SIZE, false)));
        ReplicaInfo r1 = Engine.await(engine.createReplica("p", "r1", null, 16 * MiB, true, null));
        ReplicaInfo r2 = Engine.await(engine.createReplica("p", "r2", null, 16 * MiB, true, null));
        String u1 = "bdev:///" + r1.bdevName();
        String u2 = "bdev:///" + r2.bdevName();
        Engine.await(engine.createNexus(spec("n", 16 * MiB, u1)));
        // Two clusters written (1 MiB = 256 blocks each): the first and the sixth.
        assertThat(write(engine.reactors().get(0), bdev("n"), 0, 256, 5, 16, arena)).allMatch(IoRunner.Result::ok);
        assertThat(write(engine.reactors().get(0), bdev("n"), 5 * 256 + 16, 32, 6, 16, arena))
                .allMatch(IoRunner.Result::ok);
        Engine.await(engine.addNexusChild("n", u2, false));
        RebuildStats done = awaitEnd("n", u2);
        assertThat(done.state()).isEqualTo(RebuildState.COMPLETED);
        assertThat(done.blocksDone()).isEqualTo(BLOCKS);
        assertThat(done.blocksTransferred()).as("only the two allocated clusters are read and written")
                .isEqualTo(2 * 256);
        ReplicaInfo copy = engine.listReplicas().stream().filter(r -> r.name().equals("r2")).findFirst().orElseThrow();
        assertThat(copy.allocatedBytes()).isEqualTo(2 * MiB);
        assertIdentical(bdev(r1.bdevName()), bdev(r2.bdevName()));
    }

    // ------------------------------------------------------------------ partial rebuilds

    @Test
    void aChildBackFromOfflineCopiesOnlyTheSegmentsWrittenWhileItWasAway() {
        String ua = plain(unique("a"));
        String b = unique("b");
        String ub = plain(b);
        Bdev n = filled(1, ua, ub);
        Engine.await(engine.nexusChildOperation("n", ub, ChildAction.OFFLINE));
        // Writes while b is away: blocks in segments 0, 3 (twice), 7-8 (one write across both), 100 and 255.
        long[][] writes = {{0, 4}, {3 * 16 + 1, 2}, {3 * 16 + 9, 1}, {7 * 16 + 10, 12}, {100 * 16, 16}, {255 * 16 + 15, 1}};
        Set<Long> dirty = new TreeSet<>();
        for (long[] w : writes) {
            assertThat(write(engine.reactors().get((int) (w[0] & 1)), n, w[0], (int) w[1], 2, 4, arena))
                    .allMatch(IoRunner.Result::ok);
            for (long blk = w[0]; blk < w[0] + w[1]; blk++) {
                dirty.add(blk / SEGMENT_BLOCKS);
            }
        }
        assertThat(dirty).hasSize(6);
        Engine.await(engine.nexusChildOperation("n", ub, ChildAction.ONLINE));
        RebuildStats done = awaitEnd("n", ub);
        assertThat(done.state()).isEqualTo(RebuildState.COMPLETED);
        assertThat(done.kind()).isEqualTo(RebuildKind.PARTIAL);
        assertThat(done.segmentsTotal()).isEqualTo(dirty.size());
        assertThat(done.blocksTransferred()).isEqualTo((long) dirty.size() * SEGMENT_BLOCKS);
        assertThat(child(nexus("n"), ub).state()).isEqualTo(ChildState.OPEN);
        assertIdentical(bdev(ua.substring("bdev:///".length())), bdev(b));
    }

    @Test
    void aChildThatTimedOutGetsAPartialRebuildAndOneFaultedForIoErrorsAFullOne() {
        String ua = plain(unique("a"));
        String b = unique("b");
        String ub = faulty(b);
        Bdev n = filled(1, ua, ub);

        FaultBdev.get(b).fail(IoType.WRITE, ETIMEDOUT);
        assertThat(write(engine.reactors().get(0), n, 32, 16, 2, 1, arena)).allMatch(IoRunner.Result::ok);
        assertThat(child(nexus("n"), ub).reason()).isEqualTo(ChildReason.TIMED_OUT);
        FaultBdev.get(b).heal();
        Engine.await(engine.nexusChildOperation("n", ub, ChildAction.ONLINE));
        RebuildStats partial = awaitEnd("n", ub);
        assertThat(partial.kind()).isEqualTo(RebuildKind.PARTIAL);
        assertThat(partial.segmentsTotal()).isEqualTo(1);
        assertThat(partial.state()).isEqualTo(RebuildState.COMPLETED);

        FaultBdev.get(b).fail(IoType.WRITE, EIO);
        assertThat(write(engine.reactors().get(0), n, 32, 16, 3, 1, arena)).allMatch(IoRunner.Result::ok);
        assertThat(child(nexus("n"), ub).reason()).isEqualTo(ChildReason.IO_FAILURE);
        FaultBdev.get(b).heal();
        Engine.await(engine.nexusChildOperation("n", ub, ChildAction.ONLINE));
        RebuildStats full = awaitEnd("n", ub);
        assertThat(full.kind()).isEqualTo(RebuildKind.FULL);
        assertThat(full.segmentsTotal()).isEqualTo(BLOCKS / SEGMENT_BLOCKS);
        assertThat(full.state()).isEqualTo(RebuildState.COMPLETED);
        assertIdentical(bdev(ua.substring("bdev:///".length())), bdev("base" + b));
    }

    @Test
    void aChildAwayLongerThanTheWindowGetsAFullRebuild() {
        MutableClock clock = new MutableClock();
        engine.rebuildClock(clock);
        engine.partialRebuildWindow(Duration.ofMinutes(2));
        String ua = plain(unique("a"));
        String b = unique("b");
        String ub = plain(b);
        Engine.await(engine.createNexus(spec("n", 16 * MiB, ua, ub)));
        Engine.await(engine.nexusChildOperation("n", ub, ChildAction.OFFLINE));
        assertThat(write(engine.reactors().get(0), bdev("n"), 0, 16, 2, 4, arena)).allMatch(IoRunner.Result::ok);
        clock.advance(Duration.ofMinutes(2).plusMillis(1));
        Engine.await(engine.nexusChildOperation("n", ub, ChildAction.ONLINE));
        RebuildStats done = awaitEnd("n", ub);
        assertThat(done.kind()).isEqualTo(RebuildKind.FULL);
        assertThat(done.state()).isEqualTo(RebuildState.COMPLETED);
        assertIdentical(bdev(ua.substring("bdev:///".length())), bdev(b));
    }

    // ------------------------------------------------------------------ the engine's queue

    @Test
    void rebuildsBeyondTheEnginesLimitQueueAndRunInTurn() {
        engine.maxConcurrentRebuilds(1);
        String a1 = unique("a");
        String ua1 = faulty(a1);
        String ub1 = plain(unique("b"));
        String ua2 = plain(unique("a"));
        String ub2 = plain(unique("b"));
        Engine.await(engine.createNexus(spec("n1", 16 * MiB, ua1)));
        Engine.await(engine.createNexus(spec("n2", 16 * MiB, ua2)));
        FaultBdev.get(a1).hang(IoType.READ);
        Engine.await(engine.addNexusChild("n1", ub1, false));
        await("n1's rebuild to read", () -> FaultBdev.get(a1).held() > 0);
        Engine.await(engine.addNexusChild("n2", ub2, false));
        assertThat(child(nexus("n2"), ub2).rebuild().state()).isEqualTo(RebuildState.QUEUED);
        assertThat(child(nexus("n2"), ub2).rebuild().started()).isNull();
        assertThat(engine.rebuildJobs()).extracting(RebuildStats::state)
                .containsExactly(RebuildState.RUNNING, RebuildState.QUEUED);
        FaultBdev.get(a1).heal();
        RebuildStats first = awaitEnd("n1", ub1);
        RebuildStats second = awaitEnd("n2", ub2);
        assertThat(first.state()).isEqualTo(RebuildState.COMPLETED);
        assertThat(second.state()).isEqualTo(RebuildState.COMPLETED);
        assertThat(second.started()).isAfterOrEqualTo(first.ended());
    }

    @Test
    void removingOrTakingOfflineAChildStopsItsRebuild() {
        String a = unique("a");
        String ua = faulty(a);
        String ub = plain(unique("b"));
        String uc = plain(unique("c"));
        Engine.await(engine.createNexus(spec("n", 16 * MiB, ua)));
        FaultBdev.get(a).hang(IoType.READ);
        Engine.await(engine.addNexusChild("n", ub, false));
        Engine.await(engine.addNexusChild("n", uc, false));
        await("segments in flight", () -> FaultBdev.get(a).held() > 0);
        CompletableFuture<NexusInfo> removing = engine.removeNexusChild("n", ub);
        CompletableFuture<NexusInfo> offline = engine.nexusChildOperation("n", uc, ChildAction.OFFLINE);
        // The removal's stop reaches its job before the held reads go on (the offline, queued behind
        // the removal on the nexus, may find its job done by then: that child is then simply offline).
        await("the stop to reach the removed child's job", () -> nexus("n").children().stream()
                .noneMatch(ch -> ch.uri().equals(ub) && ch.rebuild() != null && ch.rebuild().failure() == null));
        FaultBdev.get(a).heal();
        NexusInfo removed = Engine.await(removing);
        assertThat(removed.children()).extracting(ChildInfo::uri).doesNotContain(ub);
        NexusInfo off = Engine.await(offline);
        assertThat(child(off, uc).state()).isEqualTo(ChildState.OFFLINE);
        assertThat(child(off, uc).rebuild()).isNull();
        assertThat(engine.rebuildHistory("n")).filteredOn(r -> r.childUri().equals(ub)).extracting(RebuildStats::state)
                .containsExactly(RebuildState.STOPPED);
        assertThat(engine.rebuildHistory("n")).filteredOn(r -> r.childUri().equals(uc)).extracting(RebuildStats::state)
                .singleElement().isIn(RebuildState.STOPPED, RebuildState.COMPLETED);
        assertThat(engine.rebuildJobs()).isEmpty();
    }

    // ------------------------------------------------------------------ across a nexus made again

    @Test
    void historyAndDirtyLogsSurviveTheNexusBeingMadeAgainAfterACleanShutdown(@TempDir Path dir) throws Exception {
        engine.nexusHealthStore(new FileHealthStore(dir.resolve("health")));
        engine.rebuildHistoryStore(new FileRebuildHistory(dir.resolve("history")));
        String a = unique("a");
        String ua = faulty(a);
        String b = unique("b");
        String ub = plain(b);
        String uc = plain(unique("c"));
        UUID uuid = UUID.randomUUID();
        NexusSpec s = new NexusSpec("n", uuid, 16 * MiB, List.of(ua, ub), "key-n");
        Engine.await(engine.createNexus(s));
        Engine.await(engine.addNexusChild("n", uc, false));
        assertThat(awaitEnd("n", uc).state()).isEqualTo(RebuildState.COMPLETED);
        Engine.await(engine.nexusChildOperation("n", ub, ChildAction.OFFLINE));
        assertThat(write(engine.reactors().get(0), bdev("n"), 40 * 16, 3, 2, 4, arena)).allMatch(IoRunner.Result::ok);
        Engine.await(engine.destroyNexus("n"));
        HealthRecord rec = engine.nexusHealth("key-n").orElseThrow();
        assertThat(rec.cleanShutdown()).isTrue();
        assertThat(rec.children()).filteredOn(h -> h.uri().equals(ub)).singleElement()
                .satisfies(h -> assertThat(h.log()).isNotNull());

        // Made again over the same devices: b is out of sync (its source's reads held, so it stays so
        // while we look) and catches up by its log alone.
        FaultBdev.get(a).hang(IoType.READ);
        NexusInfo again = Engine.await(engine.createNexus(new NexusSpec("n", uuid, 16 * MiB, List.of(ua, ub, uc),
                "key-n")));
        assertThat(child(again, ua).state()).isEqualTo(ChildState.OPEN);
        assertThat(child(again, uc).state()).isEqualTo(ChildState.OPEN);
        assertThat(child(again, ub).state()).isEqualTo(ChildState.OUT_OF_SYNC);
        FaultBdev.get(a).heal();
        RebuildStats partial = awaitEnd("n", ub);
        assertThat(partial.kind()).isEqualTo(RebuildKind.PARTIAL);
        assertThat(partial.segmentsTotal()).isEqualTo(1);
        assertThat(partial.state()).isEqualTo(RebuildState.COMPLETED);
        assertIdentical(bdev(ua.substring("bdev:///".length())), bdev(b));
        assertThat(engine.rebuildHistory("n")).extracting(RebuildStats::kind)
                .containsExactly(RebuildKind.FULL, RebuildKind.PARTIAL);

        // A history store read by another engine: the same records.
        assertThat(new FileRebuildHistory(dir.resolve("history")).load("key-n")).hasSize(2);
    }

    @Test
    void afterAnUncleanShutdownAChildRecordedUnhealthyGetsAFullRebuild(@TempDir Path dir) throws Exception {
        FileHealthStore store = new FileHealthStore(dir);
        engine.nexusHealthStore(store);
        String a = unique("a");
        String ua = faulty(a);
        String ub = plain(unique("b"));
        UUID uuid = UUID.randomUUID();
        Engine.await(engine.createNexus(new NexusSpec("n", uuid, 16 * MiB, List.of(ua, ub), "key-u")));
        Engine.await(engine.nexusChildOperation("n", ub, ChildAction.OFFLINE));
        assertThat(write(engine.reactors().get(0), bdev("n"), 0, 3, 2, 4, arena)).allMatch(IoRunner.Result::ok);
        Engine.await(engine.destroyNexus("n"));
        // As a crash would leave it: the same children, not clean.
        HealthRecord clean = store.load("key-u").orElseThrow();
        store.save("key-u", new HealthRecord(false, clean.children()));
        FaultBdev.get(a).hang(IoType.READ);     // the copy waits while we look
        NexusInfo again = Engine.await(engine.createNexus(new NexusSpec("n", uuid, 16 * MiB, List.of(ua, ub),
                "key-u")));
        assertThat(child(again, ub).state()).isEqualTo(ChildState.OUT_OF_SYNC);
        FaultBdev.get(a).heal();
        RebuildStats full = awaitEnd("n", ub);
        assertThat(full.kind()).isEqualTo(RebuildKind.FULL);
        assertThat(full.state()).isEqualTo(RebuildState.COMPLETED);
        // With no child recorded healthy, the nexus is refused.
        Engine.await(engine.destroyNexus("n"));
        HealthRecord now = store.load("key-u").orElseThrow();
        List<HealthRecord.ChildHealth> none = new ArrayList<>();
        for (HealthRecord.ChildHealth h : now.children()) {
            none.add(new HealthRecord.ChildHealth(h.uuid(), h.uri(), false));
        }
        store.save("key-u", new HealthRecord(true, none));
        assertThat(engine.createNexus(new NexusSpec("n", uuid, 16 * MiB, List.of(ua, ub), "key-u")))
                .failsWithin(Duration.ofSeconds(30)).withThrowableThat().withMessageContaining("healthy");
        assertThat(engine.nexus("n")).isEmpty();
    }

    /** A clock a test moves. */
    private static final class MutableClock extends Clock {
        private volatile Instant now = Instant.parse("2026-01-01T00:00:00Z");

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }
}
