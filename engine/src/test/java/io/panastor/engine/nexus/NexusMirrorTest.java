package io.panastor.engine.nexus;

import static io.panastor.engine.nexus.NexusTestSupport.BS;
import static io.panastor.engine.nexus.NexusTestSupport.MiB;
import static io.panastor.engine.nexus.NexusTestSupport.assertHolds;
import static io.panastor.engine.nexus.NexusTestSupport.badBlocks;
import static io.panastor.engine.nexus.NexusTestSupport.child;
import static io.panastor.engine.nexus.NexusTestSupport.malloc;
import static io.panastor.engine.nexus.NexusTestSupport.read;
import static io.panastor.engine.nexus.NexusTestSupport.spec;
import static io.panastor.engine.nexus.NexusTestSupport.write;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.panastor.engine.Engine;
import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.IoRunner;
import io.panastor.engine.error.EngineException;
import io.panastor.engine.error.EngineException.Reason;
import io.panastor.engine.lvs.PoolSpec;
import io.panastor.engine.lvs.ReplicaInfo;
import io.panastor.engine.stats.IoStats;
import io.panastor.reactor.Reactors;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A nexus over local children: mirrored data, reads spread, the lifecycle and the children's operations, and the errors. */
class NexusMirrorTest {
    private Engine engine;
    private Arena arena;

    @BeforeEach
    void start() {
        engine = Engine.start(Reactors.builder().count(2).pin(false));
        arena = Arena.ofShared();
    }

    @AfterEach
    void stop() {
        engine.close();
        arena.close();
    }

    private Bdev bdev(String name) {
        return engine.bdevs().get(name);
    }

    private static EngineException.Reason reasonOf(Runnable r) {
        try {
            r.run();
        } catch (EngineException e) {
            return e.reason();
        }
        throw new AssertionError("no EngineException");
    }

    @Test
    void everyChildOfATwoAndAThreeWayMirrorHoldsWhatWasWritten() {
        for (int n : new int[] {2, 3}) {
            String[] children = new String[n];
            for (int i = 0; i < n; i++) {
                children[i] = malloc("m" + n + "_" + i, 16);
            }
            NexusInfo info = Engine.await(engine.createNexus(spec("n" + n, 16 * MiB, children)));
            assertThat(info.state()).isEqualTo(NexusState.ONLINE);
            assertThat(info.children()).extracting(ChildInfo::state).containsOnly(ChildState.OPEN);
            Bdev nexus = bdev("n" + n);
            int blocks = (int) (16 * MiB / BS);
            // From both reactors, at depth: the first half from reactor 0, the second from reactor 1.
            CompletableFuture<List<IoRunner.Result>> a = NexusTestSupport.writeAsync(engine.reactors().get(0), nexus, 0,
                    blocks / 2, 7, 16, arena);
            CompletableFuture<List<IoRunner.Result>> b = NexusTestSupport.writeAsync(engine.reactors().get(1), nexus,
                    blocks / 2, blocks / 2, 7, 16, arena);
            assertThat(a.join()).allMatch(IoRunner.Result::ok);
            assertThat(b.join()).allMatch(IoRunner.Result::ok);
            assertHolds(engine, nexus, 0, blocks, 7);
            for (int i = 0; i < n; i++) {
                assertHolds(engine, bdev("m" + n + "_" + i), 0, blocks, 7);
            }
            Engine.await(engine.destroyNexus("n" + n));
            // The nexus made its malloc children, so it destroyed them.
            assertThat(engine.bdevs().lookup("m" + n + "_0")).isEmpty();
        }
    }

    @Test
    void readsAreSpreadOverHealthyChildrenAndNeverGoToOneOutOfSync() {
        Engine.await(engine.createBdev(malloc("a", 8)));
        Engine.await(engine.createBdev(malloc("b", 8)));
        Engine.await(engine.createBdev(malloc("c", 8)));
        Engine.await(engine.createNexus(spec("n", 8 * MiB, "bdev:///a", "bdev:///b")));
        Bdev nexus = bdev("n");
        assertThat(write(engine.reactors().get(0), nexus, 0, 256, 1, 8, arena)).allMatch(IoRunner.Result::ok);
        // No rebuild: the child stays out of sync, taking writes and no reads.
        NexusInfo added = Engine.await(engine.addNexusChild("n", "bdev:///c", true));
        assertThat(added.state()).isEqualTo(NexusState.DEGRADED);
        assertThat(child(added, "bdev:///c").state()).isEqualTo(ChildState.OUT_OF_SYNC);
        assertThat(child(added, "bdev:///c").reason()).isEqualTo(ChildReason.OUT_OF_SYNC);
        Engine.await(engine.resetIoStats());
        assertThat(write(engine.reactors().get(0), nexus, 256, 256, 2, 8, arena)).allMatch(IoRunner.Result::ok);
        MemorySegment got = read(engine.reactors().get(0), nexus, 0, 512, 8, arena);
        assertThat(badBlocks(got, 0, 256, 1)).isEmpty();
        assertThat(badBlocks(got.asSlice(256L * BS), 256, 256, 2)).isEmpty();
        List<IoStats> stats = Engine.await(engine.ioStats());
        assertThat(reads(stats, "a")).isPositive();
        assertThat(reads(stats, "b")).isPositive();
        assertThat(reads(stats, "a") + reads(stats, "b")).isEqualTo(512);
        assertThat(reads(stats, "c")).isZero();
        assertThat(stats.stream().filter(s -> s.name().equals("c")).findFirst().orElseThrow().numWriteOps())
                .isEqualTo(256);
        // The new child took every write made since it was added.
        assertHolds(engine, bdev("c"), 256, 256, 2);
    }

    private static long reads(List<IoStats> stats, String name) {
        return stats.stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow().numReadOps();
    }

    @Test
    void childrenAreFaultedOfflinedOnlinedAndRemovedButTheLastHealthyOneStays() {
        Engine.await(engine.createBdev(malloc("a", 8)));
        Engine.await(engine.createBdev(malloc("b", 8)));
        Engine.await(engine.createNexus(spec("n", 8 * MiB, "bdev:///a", "bdev:///b")));
        NexusInfo faulted = Engine.await(engine.faultNexusChild("n", "bdev:///b"));
        assertThat(faulted.state()).isEqualTo(NexusState.DEGRADED);
        assertThat(child(faulted, "bdev:///b")).extracting(ChildInfo::state, ChildInfo::reason)
                .containsExactly(ChildState.FAULTED, ChildReason.BY_CLIENT);
        assertThat(reasonOf(() -> Engine.await(engine.faultNexusChild("n", "bdev:///a")))).isEqualTo(Reason.BUSY);
        assertThat(reasonOf(() -> Engine.await(engine.nexusChildOperation("n", "bdev:///a", ChildAction.OFFLINE))))
                .isEqualTo(Reason.BUSY);
        assertThat(reasonOf(() -> Engine.await(engine.removeNexusChild("n", "bdev:///a")))).isEqualTo(Reason.BUSY);
        // IO goes on with one child, and the faulted one gets none of it.
        Engine.await(engine.resetIoStats());
        assertThat(write(engine.reactors().get(1), bdev("n"), 0, 64, 3, 4, arena)).allMatch(IoRunner.Result::ok);
        assertHolds(engine, bdev("n"), 0, 64, 3);
        List<IoStats> stats = Engine.await(engine.ioStats());
        assertThat(stats.stream().filter(s -> s.name().equals("b")).findFirst().orElseThrow().numWriteOps()).isZero();

        NexusInfo online = Engine.await(engine.nexusChildOperation("n", "bdev:///b", ChildAction.ONLINE));
        assertThat(child(online, "bdev:///b").state()).isEqualTo(ChildState.OUT_OF_SYNC);
        NexusInfo offline = Engine.await(engine.nexusChildOperation("n", "bdev:///b", ChildAction.OFFLINE));
        assertThat(child(offline, "bdev:///b")).extracting(ChildInfo::state, ChildInfo::reason)
                .containsExactly(ChildState.OFFLINE, ChildReason.CLOSED);
        NexusInfo removed = Engine.await(engine.removeNexusChild("n", "bdev:///b"));
        assertThat(removed.children()).extracting(ChildInfo::uri).containsExactly("bdev:///a");
        assertThat(removed.state()).isEqualTo(NexusState.ONLINE);
        // A removed child is free again, and an existing bdev the nexus did not make is not destroyed.
        assertThat(engine.claimant("b")).isEmpty();
        assertThat(reasonOf(() -> Engine.await(engine.removeNexusChild("n", "bdev:///b")))).isEqualTo(Reason.NOT_FOUND);
        Engine.await(engine.destroyNexus("n"));
        assertThat(engine.claimant("a")).isEmpty();
        assertThat(engine.bdevs().lookup("a")).isPresent();
    }

    @Test
    void badRequestsAreRefusedWithTheirReasonAndLeaveNothingBehind() {
        Engine.await(engine.createBdev(malloc("a", 8)));
        Engine.await(engine.createBdev(malloc("small", 4)));
        NexusSpec ok = spec("n", 8 * MiB, "bdev:///a", "malloc:///made?size_mb=8&blk_size=4096");
        NexusInfo made = Engine.await(engine.createNexus(ok));
        assertThat(Engine.await(engine.createNexus(ok))).isEqualTo(made);
        assertThat(reasonOf(() -> Engine.await(engine.createNexus(spec("n", 4 * MiB, "bdev:///a")))))
                .isEqualTo(Reason.ALREADY_EXISTS);
        assertThat(reasonOf(() -> Engine.await(engine.createNexus(new NexusSpec("other", ok.uuid(), 4 * MiB,
                List.of("bdev:///small"), null))))).isEqualTo(Reason.ALREADY_EXISTS);
        // A child another nexus holds.
        assertThat(reasonOf(() -> Engine.await(engine.createNexus(spec("m", 4 * MiB, "bdev:///small", "bdev:///a")))))
                .isEqualTo(Reason.BUSY);
        assertThat(engine.claimant("small")).isEmpty();
        assertThat(reasonOf(() -> Engine.await(engine.createNexus(spec("m", 8 * MiB, "bdev:///small")))))
                .isEqualTo(Reason.INVALID_ARGUMENT);
        assertThat(reasonOf(() -> Engine.await(engine.createNexus(spec("m", 4 * MiB, "bdev:///nosuch")))))
                .isEqualTo(Reason.NOT_FOUND);
        assertThat(reasonOf(() -> Engine.await(engine.createNexus(spec("m", 4 * MiB, "bdev:///small",
                "bdev:///small"))))).isEqualTo(Reason.INVALID_ARGUMENT);
        assertThat(reasonOf(() -> Engine.await(engine.createNexus(spec("m", 0, "bdev:///small")))))
                .isEqualTo(Reason.INVALID_ARGUMENT);
        assertThat(reasonOf(() -> Engine.await(engine.createNexus(spec("m", 4 * MiB)))))
                .isEqualTo(Reason.INVALID_ARGUMENT);
        assertThat(reasonOf(() -> Engine.await(engine.createNexus(spec("m", 4 * MiB, "bogus://x")))))
                .isEqualTo(Reason.INVALID_ARGUMENT);
        // A child the nexus would have made is gone again after a refused create.
        assertThat(reasonOf(() -> Engine.await(engine.createNexus(spec("m", 8 * MiB,
                "malloc:///tmp1?size_mb=8&blk_size=4096", "bdev:///small"))))).isEqualTo(Reason.INVALID_ARGUMENT);
        assertThat(engine.bdevs().lookup("tmp1")).isEmpty();
        assertThat(engine.listNexuses()).extracting(NexusInfo::name).containsExactly("n");
        assertThat(reasonOf(() -> Engine.await(engine.resizeNexus("n", 4 * MiB)))).isEqualTo(Reason.INVALID_ARGUMENT);
        assertThat(reasonOf(() -> Engine.await(engine.resizeNexus("n", 16 * MiB)))).isEqualTo(Reason.INVALID_ARGUMENT);
        assertThat(reasonOf(() -> Engine.await(engine.destroyNexus("nosuch")))).isEqualTo(Reason.NOT_FOUND);
        assertThat(reasonOf(() -> Engine.await(engine.addNexusChild("n", "bdev:///small", false))))
                .isEqualTo(Reason.INVALID_ARGUMENT);
        assertThat(engine.claimant("small")).isEmpty();
        // The nexus still serves.
        assertThat(write(engine.reactors().get(0), bdev("n"), 0, 16, 5, 4, arena)).allMatch(IoRunner.Result::ok);
        assertHolds(engine, bdev("n"), 0, 16, 5);
    }

    @Test
    void aNexusOverReplicasGrowsAfterThemAndIsPublishedAsItsSubsystem() {
        Engine.await(engine.createBdev(malloc("d0", 64)));
        Engine.await(engine.createBdev(malloc("d1", 64)));
        Engine.await(engine.createPool(new PoolSpec("p0", null, "bdev:///d0", 0, false)));
        Engine.await(engine.createPool(new PoolSpec("p1", null, "bdev:///d1", 0, false)));
        ReplicaInfo r0 = Engine.await(engine.createReplica("p0", "r0", UUID.randomUUID(), 8 * MiB, true, ""));
        ReplicaInfo r1 = Engine.await(engine.createReplica("p1", "r1", UUID.randomUUID(), 8 * MiB, true, ""));
        String c0 = "bdev:///" + r0.uuid() + "?uuid=" + r0.uuid();
        String c1 = "bdev:///" + r1.uuid();
        NexusInfo n = Engine.await(engine.createNexus(spec("vol", 8 * MiB, c0, c1)));
        assertThat(engine.claimant(r0.bdevName())).contains("nexus vol");
        String nqn = "nqn.2019-05.io.openebs:" + n.uuid();
        NexusInfo pub = Engine.await(engine.publishNexus("vol", nqn, List.of()));
        assertThat(pub.nqn()).isEqualTo(nqn);
        assertThat(engine.target().subsystem(nqn).namespaces()).extracting(ns -> ns.bdev().name())
                .containsExactly("vol");
        assertThat(reasonOf(() -> Engine.await(engine.publishNexus("vol", nqn + "x", List.of()))))
                .isEqualTo(Reason.ALREADY_EXISTS);
        // A replica in a nexus is not destroyed under it.
        assertThat(reasonOf(() -> Engine.await(engine.destroyReplica(r0.bdevName())))).isEqualTo(Reason.BUSY);
        assertThat(write(engine.reactors().get(0), bdev("vol"), 0, 64, 9, 8, arena)).allMatch(IoRunner.Result::ok);

        assertThat(reasonOf(() -> Engine.await(engine.resizeNexus("vol", 16 * MiB)))).isEqualTo(Reason.INVALID_ARGUMENT);
        Engine.await(engine.resizeReplica(r0.bdevName(), 16 * MiB));
        Engine.await(engine.resizeReplica(r1.bdevName(), 16 * MiB));
        NexusInfo grown = Engine.await(engine.resizeNexus("vol", 16 * MiB));
        assertThat(grown.sizeBytes()).isEqualTo(16 * MiB);
        assertThat(bdev("vol").sizeBytes()).isEqualTo(16 * MiB);
        long last = 16 * MiB / BS - 1;
        assertThat(write(engine.reactors().get(1), bdev("vol"), last, 1, 9, 1, arena)).allMatch(IoRunner.Result::ok);
        assertHolds(engine, bdev(r1.bdevName()), last, 1, 9);
        assertHolds(engine, bdev(r0.bdevName()), 0, 64, 9);

        NexusInfo unpub = Engine.await(engine.unpublishNexus("vol"));
        assertThat(unpub.nqn()).isNull();
        assertThat(engine.subsystems()).noneMatch(s -> s.nqn().equals(nqn));
        Engine.await(engine.destroyNexus(n.uuid().toString()));
        assertThat(engine.claimant(r0.bdevName())).isEmpty();
        assertThat(engine.replica(r0.bdevName())).isPresent();
    }

    @Test
    void aNexusWithIoInFlightShutsDownAndIsDestroyedAndEveryIoEnds() {
        Engine.await(engine.createNexus(spec("n", 16 * MiB, malloc("a", 16), malloc("b", 16))));
        Bdev nexus = bdev("n");
        CompletableFuture<List<IoRunner.Result>> load = NexusTestSupport.writeAsync(engine.reactors().get(1), nexus, 0,
                4096, 4, 32, arena);
        NexusInfo down = Engine.await(engine.shutdownNexus("n"));
        assertThat(down.state()).isEqualTo(NexusState.SHUTDOWN);
        List<IoRunner.Result> results = load.join();
        assertThat(results).hasSize(4096);
        // Those that succeeded are on both children; the rest were refused once the nexus was shutting down.
        assertThat(engine.nexusHealth(down.infoKey())).hasValueSatisfying(h -> {
            assertThat(h.cleanShutdown()).isTrue();
            assertThat(h.children()).allMatch(HealthRecord.ChildHealth::healthy);
        });
        for (int i = 0; i < results.size(); i++) {
            if (results.get(i).ok()) {
                assertHolds(engine, bdev("a"), i, 1, 4);
                assertHolds(engine, bdev("b"), i, 1, 4);
            }
        }
        assertThat(reasonOf(() -> Engine.await(engine.addNexusChild("n", malloc("c", 16), false))))
                .isEqualTo(Reason.BUSY);
        Engine.await(engine.destroyNexus("n"));
        assertThat(engine.listNexuses()).isEmpty();
        assertThat(engine.bdevs().lookup("n")).isEmpty();
    }

    @Test
    void aSecondNexusUnderAKeyInUseIsRefusedAndWritesNoRecordOverTheFirstOnes() {
        Engine.await(engine.createNexus(new NexusSpec("n1", UUID.randomUUID(), 8 * MiB, List.of(malloc("k1", 8)),
                "volumes/v1")));
        assertThat(reasonOf(() -> Engine.await(engine.createNexus(new NexusSpec("n2", UUID.randomUUID(), 8 * MiB,
                List.of(malloc("k2", 8), malloc("k3", 8)), "volumes/v1"))))).isEqualTo(Reason.ALREADY_EXISTS);
        assertThat(engine.nexusHealth("volumes/v1").orElseThrow().children()).extracting(HealthRecord.ChildHealth::uri)
                .containsExactly(malloc("k1", 8));
        assertThat(engine.bdevs().lookup("k2")).isEmpty();
        // Nor may a nexus take another's UUID as its key (the default key of that other).
        NexusInfo n3 = Engine.await(engine.createNexus(spec("n3", 8 * MiB, malloc("k4", 8))));
        assertThat(reasonOf(() -> Engine.await(engine.createNexus(new NexusSpec("n4", UUID.randomUUID(), 8 * MiB,
                List.of(malloc("k5", 8)), n3.uuid().toString()))))).isEqualTo(Reason.ALREADY_EXISTS);
        assertThat(engine.nexusHealth(n3.infoKey()).orElseThrow().children()).extracting(HealthRecord.ChildHealth::uri)
                .containsExactly(malloc("k4", 8));
    }

    @Test
    void aNexusUnderTheNameOfAnotherBdevIsRefusedAndLeavesNothingBehind() {
        Engine.await(engine.createBdev(malloc("taken", 8)));
        Engine.await(engine.createBdev(malloc("given", 8)));
        NexusSpec s = spec("taken", 8 * MiB, "bdev:///given", malloc("made", 8));
        assertThat(reasonOf(() -> Engine.await(engine.createNexus(s)))).isEqualTo(Reason.ALREADY_EXISTS);
        assertThat(engine.listNexuses()).isEmpty();
        assertThat(engine.claimant("given")).isEmpty();
        assertThat(engine.bdevs().lookup("made")).isEmpty();
        assertThat(engine.nexusHealth(s.key())).isEmpty();
        // Nor under another's UUID as alias.
        Bdev given = bdev("given");
        assertThat(reasonOf(() -> Engine.await(engine.createNexus(new NexusSpec("n", given.uuid(), 8 * MiB,
                List.of(malloc("made2", 8)), null))))).isEqualTo(Reason.ALREADY_EXISTS);
        assertThat(engine.bdevs().lookup("made2")).isEmpty();
        assertThat(engine.bdevs().lookup("n")).isEmpty();
    }

    @Test
    void theHealthStoreIsWrittenOnEveryChange() {
        Engine.await(engine.createBdev(malloc("a", 8)));
        Engine.await(engine.createBdev(malloc("b", 8)));
        NexusInfo n = Engine.await(engine.createNexus(new NexusSpec("n", UUID.randomUUID(), 8 * MiB,
                List.of("bdev:///a", "bdev:///b"), "volumes/v1")));
        assertThat(n.infoKey()).isEqualTo("volumes/v1");
        HealthRecord created = engine.nexusHealth("volumes/v1").orElseThrow();
        assertThat(created.cleanShutdown()).isFalse();
        assertThat(created.children()).extracting(HealthRecord.ChildHealth::uri, HealthRecord.ChildHealth::healthy)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("bdev:///a", true),
                        org.assertj.core.groups.Tuple.tuple("bdev:///b", true));
        assertThat(created.children().get(0).uuid()).isEqualTo(bdev("a").uuid().toString());
        Engine.await(engine.faultNexusChild("n", "bdev:///a"));
        assertThat(engine.nexusHealth("volumes/v1").orElseThrow().children())
                .extracting(HealthRecord.ChildHealth::healthy).containsExactly(false, true);
        assertThatThrownBy(() -> Engine.await(engine.faultNexusChild("n", "bdev:///b")))
                .isInstanceOf(EngineException.class);
    }
}
