package io.panastor.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.engine.bdev.BdevClaim;
import io.panastor.engine.nvmf.proto.NvmeOpcodes;
import io.panastor.engine.nvmf.host.NvmfUri;
import io.panastor.engine.nvmf.tgt.Subsystem;
import io.panastor.engine.stats.IoStats;
import io.panastor.engine.stats.NvmeControllerInfo;
import io.panastor.engine.stats.ReactorInfo;
import io.panastor.engine.stats.TargetConnectionInfo;
import io.panastor.reactor.Reactors;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What the management API lists: IO statistics, reactors, remote controllers, target connections, claims. */
class EngineIntrospectionTest {
    static final String NQN = "nqn.2026-12.io.panastor:introspection";
    static final int BS = 4096;

    Engine engine;
    Arena arena;

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

    /** Writes {@code ios} IOs of {@code blocks} blocks each, then reads {@code ios} of {@code blocks}, all succeeding. */
    private void writeThenRead(String bdev, int writes, int reads, int blocks) {
        MemorySegment buf = arena.allocate((long) BS * blocks, 4096);
        for (int i = 0; i < writes; i++) {
            assertThat(engine.write(bdev, (long) i * blocks, blocks, buf).join().ok()).isTrue();
        }
        for (int i = 0; i < reads; i++) {
            assertThat(engine.read(bdev, (long) i * blocks, blocks, buf).join().ok()).isTrue();
        }
    }

    private IoStats stats(String bdev) {
        return engine.ioStats().join().stream().filter(s -> s.name().equals(bdev)).findFirst().orElseThrow();
    }

    @Test
    void ioStatsCountEverySuccessfulReadAndWriteWithItsBytesAndLatency() {
        engine.createBdev("malloc:///m0?size_mb=8&blk_size=4096").join();
        engine.createBdev("malloc:///m1?size_mb=8&blk_size=4096").join();
        writeThenRead("m0", 7, 5, 2);

        List<IoStats> all = engine.ioStats().join();
        assertThat(all).extracting(IoStats::name).containsExactly("m0", "m1");
        IoStats s = all.getFirst();
        assertThat(s.uuid()).isEqualTo(engine.bdevs().get("m0").uuid().toString());
        assertThat(s.numWriteOps()).isEqualTo(7);
        assertThat(s.bytesWritten()).isEqualTo(7L * 2 * BS);
        assertThat(s.numReadOps()).isEqualTo(5);
        assertThat(s.bytesRead()).isEqualTo(5L * 2 * BS);
        assertThat(s.numUnmapOps()).isZero();
        assertThat(s.numErrors()).isZero();
        assertThat(s.minReadLatencyNanos()).isPositive().isLessThanOrEqualTo(s.maxReadLatencyNanos());
        assertThat(s.minWriteLatencyNanos()).isPositive().isLessThanOrEqualTo(s.maxWriteLatencyNanos());
        assertThat(s.readLatencyNanos()).isGreaterThanOrEqualTo(5 * s.minReadLatencyNanos());
        assertThat(s.writeLatencyNanos()).isGreaterThanOrEqualTo(7 * s.minWriteLatencyNanos());
        assertThat(s.minUnmapLatencyNanos()).isZero();
        assertThat(all.get(1).numReadOps() + all.get(1).numWriteOps()).isZero();

        // An IO that fails (past the end) is an error, not an op.
        MemorySegment one = arena.allocate(BS, 4096);
        assertThat(engine.read("m0", engine.bdevs().get("m0").blockCount(), 1, one).join().ok()).isFalse();
        assertThat(stats("m0").numErrors()).isEqualTo(1);
        assertThat(stats("m0").numReadOps()).isEqualTo(5);

        engine.resetIoStats().join();
        assertThat(engine.ioStats().join()).allSatisfy(z -> assertThat(z).isEqualTo(
                new IoStats(z.name(), z.uuid(), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)));

        writeThenRead("m0", 1, 0, 1);
        assertThat(stats("m0").numWriteOps()).isEqualTo(1);
        assertThat(stats("m0").bytesWritten()).isEqualTo(BS);
    }

    @Test
    void reactorInfoReportsEveryReactorAndItsLoad() {
        engine.createBdev("malloc:///m0?size_mb=8&blk_size=4096").join();
        writeThenRead("m0", 50, 50, 1);
        List<ReactorInfo> info = engine.reactorInfo();
        assertThat(info).extracting(ReactorInfo::id).containsExactly(0, 1);
        ReactorInfo r0 = info.getFirst();
        assertThat(r0.cpu()).isEqualTo(-1);
        assertThat(r0.mode()).isEqualTo(engine.reactors().get(0).mode().name());
        assertThat(r0.cycles()).isPositive();
        assertThat(r0.busyNanos()).isPositive().isLessThanOrEqualTo(r0.uptimeNanos());
        assertThat(r0.busyFraction()).isGreaterThan(0.0).isLessThanOrEqualTo(1.0);
        assertThat(engine.reactorInfo().getFirst().uptimeNanos()).isGreaterThanOrEqualTo(r0.uptimeNanos());
    }

    @Test
    void remoteControllersTargetConnectionsListenersSubsystemsAndClaimsAreListed() {
        engine.createBdev("malloc:///m0?size_mb=8&blk_size=4096").join();
        engine.createBdev("malloc:///m1?size_mb=8&blk_size=4096").join();
        engine.createSubsystem(NQN, "SN-INTRO", "introspection", true, List.of()).join();
        engine.addNamespace(NQN, "m0", 1).join();
        InetSocketAddress at = engine.addListener("127.0.0.1", 0).join();
        assertThat(engine.listeners()).containsExactly(at);
        String uri = "nvmf://127.0.0.1:" + at.getPort() + "/" + NQN;
        String remote = engine.createBdev(uri).join().name();
        writeThenRead(remote, 3, 4, 2);

        List<NvmeControllerInfo> controllers = engine.nvmeControllers().join();
        assertThat(controllers).hasSize(1);
        NvmeControllerInfo c = controllers.getFirst();
        assertThat(c.name()).isEqualTo(remote);
        assertThat(c.address()).isEqualTo("127.0.0.1:" + at.getPort());
        assertThat(c.subnqn()).isEqualTo(NQN);
        assertThat(c.hostnqn()).isEqualTo(NvmfUri.DEFAULT_HOST_NQN);
        assertThat(c.state()).isEqualTo("RUNNING");
        assertThat(c.cntlid()).isPositive();
        assertThat(c.ioQueues()).isPositive();
        assertThat(c.queueDepth()).isPositive();
        assertThat(c.numWriteOps()).isEqualTo(3);
        assertThat(c.bytesWritten()).isEqualTo(3L * 2 * BS);
        assertThat(c.numReadOps()).isEqualTo(4);
        assertThat(c.bytesRead()).isEqualTo(4L * 2 * BS);
        // The target's side of the same IO: the namespace's bdev counted it too.
        assertThat(stats("m0").numWriteOps()).isEqualTo(3);
        assertThat(stats("m0").numReadOps()).isEqualTo(4);

        List<TargetConnectionInfo> conns = engine.targetConnections().join();
        assertThat(conns).extracting(TargetConnectionInfo::qid).contains(0, 1);
        assertThat(conns).allSatisfy(t -> {
            assertThat(t.subnqn()).isEqualTo(NQN);
            assertThat(t.hostnqn()).isEqualTo(NvmfUri.DEFAULT_HOST_NQN);
            assertThat(t.cntlid()).isEqualTo(c.cntlid());
            assertThat(t.peer()).startsWith("127.0.0.1:").doesNotEndWith(":" + at.getPort());
            assertThat(t.reactor()).isBetween(0, 1);
            assertThat(t.state()).isEqualTo("READY");
        });

        assertThat(engine.subsystems()).extracting(Subsystem::nqn).containsExactlyInAnyOrder(NQN,
                NvmeOpcodes.DISCOVERY_NQN);
        Subsystem s = engine.subsystems().stream().filter(x -> x.nqn().equals(NQN)).findFirst().orElseThrow();
        assertThat(s.allowAnyHost()).isTrue();
        assertThat(s.namespaces()).singleElement().satisfies(ns -> {
            assertThat(ns.nsid()).isEqualTo(1);
            assertThat(ns.bdev().name()).isEqualTo("m0");
        });

        assertThat(engine.claimant("m1")).isEmpty();
        BdevClaim claim = engine.claimBdev("m1", "pool-a").join();
        assertThat(engine.claimant("m1")).contains("pool-a");
        assertThat(engine.claimant(engine.bdevs().get("m1").uuid().toString())).contains("pool-a");
        claim.close();
        assertThat(engine.claimant("m1")).isEmpty();
        assertThat(engine.claimant("nosuch")).isEmpty();
    }
}
