package io.panastor.engine.nexus;

import static io.panastor.engine.nexus.NexusTestSupport.MiB;
import static io.panastor.engine.nexus.NexusTestSupport.assertHolds;
import static io.panastor.engine.nexus.NexusTestSupport.badBlocks;
import static io.panastor.engine.nexus.NexusTestSupport.child;
import static io.panastor.engine.nexus.NexusTestSupport.malloc;
import static io.panastor.engine.nexus.NexusTestSupport.read;
import static io.panastor.engine.nexus.NexusTestSupport.spec;
import static io.panastor.engine.nexus.NexusTestSupport.write;
import static io.panastor.engine.nexus.NexusTestSupport.writeAsync;
import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.engine.Await;
import io.panastor.engine.Engine;
import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.IoRunner;
import io.panastor.engine.bdev.IoStatus;
import io.panastor.engine.bdev.IoType;
import io.panastor.engine.bdev.fault.FaultBdev;
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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Faults injected into a two-way mirror's children through the test-only {@code fault} kind:
 * the nexus keeps serving, the right child is faulted with the right reason, and every
 * acknowledged write is on the healthy child.
 */
class NexusFaultTest {
    private static final AtomicInteger NAMES = new AtomicInteger();
    private static final int EIO = 5;
    private static final int BLOCKS = 2048;
    private Engine engine;
    private Arena arena;
    private String a;
    private String b;
    private String uriA;
    private String uriB;

    @BeforeEach
    void start() {
        engine = Engine.start(Reactors.builder().count(2).pin(false));
        arena = Arena.ofShared();
        int n = NAMES.incrementAndGet();
        a = "fa" + n;
        b = "fb" + n;
        Engine.await(engine.createBdev(malloc("base" + a, 8)));
        Engine.await(engine.createBdev(malloc("base" + b, 8)));
        Engine.await(engine.createBdev("fault:///" + a + "?base=base" + a));
        Engine.await(engine.createBdev("fault:///" + b + "?base=base" + b));
        uriA = "bdev:///" + a;
        uriB = "bdev:///" + b;
        Engine.await(engine.createNexus(spec("n", 8 * MiB, uriA, uriB)));
    }

    @AfterEach
    void stop() {
        engine.close();
        arena.close();
    }

    private Bdev nexus() {
        return engine.bdevs().get("n");
    }

    private Bdev base(String child) {
        return engine.bdevs().get("base" + child);
    }

    private NexusInfo info() {
        return engine.nexus("n").orElseThrow();
    }

    /** Writes every block with {@code gen} from both reactors at once (halves), returning when both are running. */
    private CompletableFuture<List<IoRunner.Result>> load(long gen) {
        CompletableFuture<List<IoRunner.Result>> x = writeAsync(engine.reactors().get(0), nexus(), 0, BLOCKS / 2, gen,
                16, arena);
        CompletableFuture<List<IoRunner.Result>> y = writeAsync(engine.reactors().get(1), nexus(), BLOCKS / 2,
                BLOCKS / 2, gen, 16, arena);
        return x.thenCombine(y, (l, r) -> {
            List<IoRunner.Result> all = new ArrayList<>(l);
            all.addAll(r);
            return all;
        });
    }

    private void assertFaulted(String uri, ChildReason reason) {
        NexusInfo i = info();
        assertThat(i.state()).isEqualTo(NexusState.DEGRADED);
        assertThat(child(i, uri)).extracting(ChildInfo::state, ChildInfo::reason)
                .containsExactly(ChildState.FAULTED, reason);
        // A write that faulted a child waited for the record; a read does not, so its fault is written soon after.
        Await.until("the health record marks " + uri + " unhealthy", Duration.ofSeconds(30),
                () -> engine.nexusHealth(i.infoKey()).orElseThrow().children().stream()
                        .anyMatch(h -> h.uri().equals(uri) && !h.healthy()));
    }

    @Test
    void aChildThatFailsWritesIsFaultedAndEveryWriteIsOnTheOther() throws Exception {
        // Mid-load: b takes 300 writes, then fails every one.
        FaultBdev.get(b).failAfter(IoType.WRITE, 300, EIO);
        CompletableFuture<List<IoRunner.Result>> running = load(1);
        assertThat(running.get(60, TimeUnit.SECONDS)).allMatch(IoRunner.Result::ok);
        assertFaulted(uriB, ChildReason.IO_FAILURE);
        assertHolds(engine, nexus(), 0, BLOCKS, 1);
        assertHolds(engine, base(a), 0, BLOCKS, 1);
    }

    @Test
    void aFailedReadIsServedByTheOtherChildAndItsChildFaulted() {
        assertThat(write(engine.reactors().get(0), nexus(), 0, BLOCKS, 2, 16, arena)).allMatch(IoRunner.Result::ok);
        FaultBdev.get(a).fail(IoType.READ, EIO);
        MemorySegment got = read(engine.reactors().get(1), nexus(), 0, BLOCKS, 8, arena);
        assertThat(badBlocks(got, 0, BLOCKS, 2)).isEmpty();
        assertFaulted(uriA, ChildReason.IO_FAILURE);
        assertThat(child(info(), uriB).state()).isEqualTo(ChildState.OPEN);
    }

    @Test
    void aChildThatTimesOutIsFaultedForItAndTheWritesComplete() throws Exception {
        assertThat(write(engine.reactors().get(0), nexus(), 0, BLOCKS, 2, 16, arena)).allMatch(IoRunner.Result::ok);
        // Every write to b from now on is held, then fails as a device timing out does.
        FaultBdev.get(b).hang(IoType.WRITE, TimeUnit.MILLISECONDS.toNanos(20));
        CompletableFuture<List<IoRunner.Result>> running = load(3);
        assertThat(running.get(60, TimeUnit.SECONDS)).allMatch(IoRunner.Result::ok);
        assertFaulted(uriB, ChildReason.TIMED_OUT);
        assertHolds(engine, base(a), 0, BLOCKS, 3);
    }

    @Test
    void noSpaceOnOneChildFaultsItButOnAllFailsTheWriteAndFaultsNone() {
        FaultBdev.get(b).noSpace(IoType.WRITE);
        assertThat(write(engine.reactors().get(0), nexus(), 0, 64, 4, 8, arena)).allMatch(IoRunner.Result::ok);
        assertFaulted(uriB, ChildReason.NO_SPACE);
        assertHolds(engine, base(a), 0, 64, 4);

        // Now a one-healthy-child volume that is full: the write fails NO_SPACE, nothing more is faulted.
        FaultBdev.get(a).noSpace(IoType.WRITE);
        assertThat(write(engine.reactors().get(1), nexus(), 64, 8, 4, 4, arena))
                .extracting(IoRunner.Result::status).containsOnly(IoStatus.NO_SPACE);
        assertThat(child(info(), uriA).state()).isEqualTo(ChildState.OPEN);
        FaultBdev.get(a).heal();
        assertThat(write(engine.reactors().get(1), nexus(), 64, 8, 4, 4, arena)).allMatch(IoRunner.Result::ok);
    }

    @Test
    void whenEveryChildFailsAWriteTheWriteFailsAndTheLastHealthyChildStays() {
        FaultBdev.get(a).fail(IoType.WRITE, EIO);
        FaultBdev.get(b).fail(IoType.WRITE, EIO);
        List<IoRunner.Result> r = write(engine.reactors().get(0), nexus(), 0, 32, 5, 4, arena);
        assertThat(r).noneMatch(IoRunner.Result::ok);
        NexusInfo i = info();
        assertThat(i.state()).isEqualTo(NexusState.DEGRADED);
        assertThat(i.children()).extracting(ChildInfo::state).containsExactlyInAnyOrder(ChildState.OPEN,
                ChildState.FAULTED);
        String healthy = i.children().stream().filter(c -> c.state() == ChildState.OPEN).findFirst().orElseThrow()
                .bdev();
        FaultBdev.get(healthy).heal();
        assertThat(write(engine.reactors().get(0), nexus(), 0, 32, 6, 4, arena)).allMatch(IoRunner.Result::ok);
        assertHolds(engine, nexus(), 0, 32, 6);
    }

    @Test
    void aWriteTheLastHealthyChildFailedFailsThoughItReachedAChildFaultedMeanwhile() throws Exception {
        // The write reaches a (then healthy) and is held on b.
        FaultBdev.get(b).hang(IoType.WRITE);
        CompletableFuture<List<IoRunner.Result>> w = writeAsync(engine.reactors().get(0), nexus(), 0, 1, 7, 1, arena);
        Await.until("the write is on a and held on b", Duration.ofSeconds(30),
                () -> FaultBdev.get(b).held() == 1 && FaultBdev.get(a).reachedBase(IoType.WRITE) == 1);
        // a is faulted (by the client here; as well by a failed IO on another reactor): b is the last healthy child.
        Engine.await(engine.faultNexusChild("n", uriA));
        // b fails the write: it stays (the last healthy child), so it is healthy without the write.
        FaultBdev.get(b).failHung(EIO);
        IoRunner.Result r = w.get(30, TimeUnit.SECONDS).get(0);
        NexusInfo i = info();
        assertThat(child(i, uriB).state()).isEqualTo(ChildState.OPEN);
        assertThat(engine.nexusHealth(i.infoKey()).orElseThrow().children())
                .filteredOn(HealthRecord.ChildHealth::healthy).extracting(HealthRecord.ChildHealth::uri)
                .containsExactly(uriB);
        assertThat(r.ok()).as("a write acknowledged but not on %s, the only child the record calls healthy", uriB)
                .isFalse();
    }

    @Test
    void aChildOutOfSpaceAndRemovedMidWriteDoesNotGetTheChildAddedInItsSlotFaulted() throws Exception {
        // The write is held on a and finds b full.
        FaultBdev.get(a).hang(IoType.WRITE);
        FaultBdev.get(b).noSpace(IoType.WRITE);
        CompletableFuture<List<IoRunner.Result>> w = writeAsync(engine.reactors().get(0), nexus(), 0, 1, 8, 1, arena);
        Await.until("the write is held on a and refused by b", Duration.ofSeconds(30),
                () -> FaultBdev.get(a).held() == 1 && FaultBdev.get(b).seen(IoType.WRITE) == 1);
        // b goes (it has no IO in flight any more), and a new child takes its place.
        Engine.await(engine.removeNexusChild("n", uriB));
        String uriC = malloc("c" + a, 8);
        Engine.await(engine.addNexusChild("n", uriC, true));
        FaultBdev.get(a).releaseHung();
        assertThat(w.get(30, TimeUnit.SECONDS)).allMatch(IoRunner.Result::ok);
        assertThat(child(info(), uriC)).as("the child added after b ran out of space")
                .extracting(ChildInfo::state, ChildInfo::reason)
                .containsExactly(ChildState.OUT_OF_SYNC, ChildReason.OUT_OF_SYNC);
        assertHolds(engine, base(a), 0, 1, 8);
    }

    @Test
    void aChildWhoseChannelCannotBeMadeOnAReactorIsFaultedBeforeAWriteThatMissedItIsAcknowledged() {
        // The nexus's and the children's channels exist on reactor 0 only.
        assertThat(write(engine.reactors().get(0), nexus(), 0, 8, 3, 4, arena)).allMatch(IoRunner.Result::ok);
        FaultBdev.get(b).failNewChannels();
        List<IoRunner.Result> r = write(engine.reactors().get(1), nexus(), 0, 8, 4, 4, arena);
        NexusInfo i = info();
        List<String> healthy = engine.nexusHealth(i.infoKey()).orElseThrow().children().stream()
                .filter(HealthRecord.ChildHealth::healthy).map(HealthRecord.ChildHealth::uri).toList();
        for (int k = 0; k < r.size(); k++) {
            if (r.get(k).ok()) {
                for (String uri : healthy) {
                    assertHolds(engine, base(uri.substring("bdev:///".length())), k, 1, 4);
                }
            }
        }
        assertThat(child(i, uriB)).extracting(ChildInfo::state, ChildInfo::reason)
                .containsExactly(ChildState.FAULTED, ChildReason.CANNOT_OPEN);
        assertThat(healthy).containsExactly(uriA);
        assertThat(r).allMatch(IoRunner.Result::ok);
    }

    @Test
    void aChildOutOfSubmissionSlotsIsNotFaultedAndTheWriteFailsToBeTriedAgain() {
        // A full ring is not a failed device: nobody is faulted; the write did not reach b, so it fails NO_RESOURCES.
        FaultBdev.get(b).noResources(IoType.WRITE);
        assertThat(write(engine.reactors().get(0), nexus(), 0, 8, 5, 4, arena))
                .extracting(IoRunner.Result::status).containsOnly(IoStatus.NO_RESOURCES);
        assertThat(info().children()).extracting(ChildInfo::state).containsOnly(ChildState.OPEN);
        FaultBdev.get(b).heal();
        assertThat(write(engine.reactors().get(0), nexus(), 0, 8, 6, 4, arena)).allMatch(IoRunner.Result::ok);
        assertHolds(engine, base(a), 0, 8, 6);
        assertHolds(engine, base(b), 0, 8, 6);
    }

    @Test
    void aHotRemoveRacingARemoveChildUnderLoadLeavesNothingClaimed() throws Exception {
        CompletableFuture<List<IoRunner.Result>> running = load(12);
        Await.until("writes reach " + b, Duration.ofSeconds(30), () -> FaultBdev.get(b).seen(IoType.WRITE) > 50);
        CompletableFuture<NexusInfo> removing = engine.removeNexusChild("n", uriB);
        FaultBdev.get(b).removeDevice();
        removing.handle((v, t) -> null).get(60, TimeUnit.SECONDS);
        assertThat(running.get(60, TimeUnit.SECONDS)).allMatch(IoRunner.Result::ok);
        if (!removing.isCompletedExceptionally()) {
            assertThat(info().children()).extracting(ChildInfo::uri).containsExactly(uriA);
        } else {
            Engine.await(engine.removeNexusChild("n", uriB));
        }
        Await.until(b + " is gone and its base free", Duration.ofSeconds(30),
                () -> engine.bdevs().lookup(b).isEmpty() && engine.claimant("base" + b).isEmpty());
        assertThat(info().state()).isEqualTo(NexusState.ONLINE);
        assertHolds(engine, base(a), 0, BLOCKS, 12);
    }

    @Test
    void corruptReadsAreSeenByTheVerifierAndFaultingThatChildMakesTheVolumeClean() {
        assertThat(write(engine.reactors().get(0), nexus(), 0, BLOCKS, 7, 16, arena)).allMatch(IoRunner.Result::ok);
        FaultBdev.get(b).corruptReads();
        // The nexus does not checksum data: the reads it sent to b come back corrupt, and the test's patterns see it.
        MemorySegment got = read(engine.reactors().get(0), nexus(), 0, BLOCKS, 8, arena);
        List<String> bad = badBlocks(got, 0, BLOCKS, 7);
        assertThat(bad).isNotEmpty().allMatch(s -> s.endsWith(":CORRUPT"));
        Engine.await(engine.faultNexusChild("n", uriB));
        got = read(engine.reactors().get(1), nexus(), 0, BLOCKS, 8, arena);
        assertThat(badBlocks(got, 0, BLOCKS, 7)).isEmpty();
        assertFaulted(uriB, ChildReason.BY_CLIENT);
    }

    @Test
    void aHotRemovedChildIsFaultedForItAndComesBackOutOfSyncOnceItsDeviceIsBack() throws Exception {
        CompletableFuture<List<IoRunner.Result>> running = load(8);
        Await.until("writes reach " + b, Duration.ofSeconds(30), () -> FaultBdev.get(b).seen(IoType.WRITE) > 100);
        FaultBdev.get(b).removeDevice();
        assertThat(running.get(60, TimeUnit.SECONDS)).allMatch(IoRunner.Result::ok);
        Await.until(b + " is unregistered", Duration.ofSeconds(30), () -> engine.bdevs().lookup(b).isEmpty());
        // The registry unregisters the device and then tells its claimant on a thread of its own (the
        // load may have ended before any write of it failed for want of the device).
        Await.until("the nexus drops " + b, Duration.ofSeconds(30), () -> child(info(), uriB).bdev() == null);
        assertFaulted(uriB, ChildReason.HOT_REMOVED);
        assertHolds(engine, base(a), 0, BLOCKS, 8);
        Await.until("base" + b + " is free", Duration.ofSeconds(30), () -> engine.claimant("base" + b).isEmpty());
        Engine.await(engine.createBdev("fault:///" + b + "?base=base" + b));
        NexusInfo back = Engine.await(engine.nexusChildOperation("n", uriB, ChildAction.ONLINE));
        assertThat(child(back, uriB).state()).isEqualTo(ChildState.OUT_OF_SYNC);
        assertThat(write(engine.reactors().get(1), nexus(), 0, 16, 9, 4, arena)).allMatch(IoRunner.Result::ok);
        assertHolds(engine, base(b), 0, 16, 9);
    }

    @Test
    void randomFaultsDuringRandomRoundsOfWritesNeverLoseAnAcknowledgedWrite() throws Exception {
        Random rnd = new Random(0x5eed);
        Engine.await(engine.destroyNexus("n"));
        for (int round = 1; round <= 6; round++) {
            // A fresh nexus each round, the fault on a random child at a random point of the load.
            String n = "r" + round;
            String ca = "bdev:///" + a;
            String cb = "bdev:///" + b;
            FaultBdev.get(a).heal();
            FaultBdev.get(b).heal();
            Engine.await(engine.createNexus(spec(n, 8 * MiB, ca, cb)));
            Bdev bdev = engine.bdevs().get(n);
            long gen = 100 + round;
            CompletableFuture<List<IoRunner.Result>> x = writeAsync(engine.reactors().get(0), bdev, 0, BLOCKS / 2, gen,
                    1 + rnd.nextInt(32), arena);
            CompletableFuture<List<IoRunner.Result>> y = writeAsync(engine.reactors().get(1), bdev, BLOCKS / 2,
                    BLOCKS / 2, gen, 1 + rnd.nextInt(32), arena);
            String victim = rnd.nextBoolean() ? a : b;
            long after = rnd.nextInt(BLOCKS / 2);
            Await.until("writes reach " + victim, Duration.ofSeconds(30),
                    () -> FaultBdev.get(victim).seen(IoType.WRITE) >= after || x.isDone() && y.isDone());
            int kind = rnd.nextInt(3);
            switch (kind) {
                case 0 -> FaultBdev.get(victim).fail(IoType.WRITE, EIO);
                case 1 -> FaultBdev.get(victim).hang(IoType.WRITE, TimeUnit.MILLISECONDS.toNanos(10));
                default -> FaultBdev.get(victim).failAfter(IoType.WRITE, rnd.nextInt(64));
            }
            List<IoRunner.Result> results = new ArrayList<>(x.get(60, TimeUnit.SECONDS));
            results.addAll(y.get(60, TimeUnit.SECONDS));
            assertThat(results).as("round %d", round).allMatch(IoRunner.Result::ok);
            FaultBdev.get(a).heal();
            FaultBdev.get(b).heal();
            NexusInfo i = engine.nexus(n).orElseThrow();
            HealthRecord h = engine.nexusHealth(i.infoKey()).orElseThrow();
            assertThat(h.children()).as("round %d: %s", round, h).anyMatch(HealthRecord.ChildHealth::healthy);
            for (HealthRecord.ChildHealth c : h.children()) {
                if (c.healthy()) {
                    String name = c.uri().substring("bdev:///".length());
                    assertHolds(engine, base(name), 0, BLOCKS, gen);
                }
            }
            Engine.await(engine.destroyNexus(n));
        }
    }
}
