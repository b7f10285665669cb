package io.panastor.engine.nexus;

import static io.panastor.engine.nexus.NexusTestSupport.MiB;
import static io.panastor.engine.nexus.NexusTestSupport.assertHolds;
import static io.panastor.engine.nexus.NexusTestSupport.malloc;
import static io.panastor.engine.nexus.NexusTestSupport.spec;
import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.engine.Await;
import io.panastor.engine.Engine;
import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.IoRunner;
import io.panastor.engine.bdev.IoType;
import io.panastor.engine.bdev.fault.FaultBdev;
import io.panastor.reactor.Reactors;
import java.lang.foreign.Arena;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A published nexus destroyed with a host's IO in flight over NVMe/TCP (the engine's own initiator as the host). */
class NexusPublishedDestroyTest {
    private Engine server;
    private Engine host;
    private Arena arena;

    @BeforeEach
    void start() {
        server = Engine.start(Reactors.builder().count(2).pin(false));
        host = Engine.start(Reactors.builder().count(1).pin(false));
        arena = Arena.ofShared();
    }

    @AfterEach
    void stop() {
        host.close();
        server.close();
        arena.close();
    }

    @Test
    void anEngineClosedWithAPublishedNexusUnderHostIoRecordsACleanShutdown() throws Exception {
        HealthStore store = HealthStore.inMemory();
        server.nexusHealthStore(store);
        NexusInfo n = Engine.await(server.createNexus(spec("n", 16 * MiB, malloc("ma", 16), malloc("mb", 16))));
        String nqn = "nqn.2019-05.io.openebs:" + n.uuid();
        Engine.await(server.publishNexus("n", nqn, List.of()));
        InetSocketAddress at = Engine.await(server.addListener("127.0.0.1", 0));
        Bdev remote = Engine.await(host.createBdev("nvmf://127.0.0.1:" + at.getPort() + "/" + nqn
                + "?io_timeout_ms=2000&ctrlr_loss_timeout_ms=1000"));
        CompletableFuture<List<IoRunner.Result>> load = NexusTestSupport.writeAsync(host.reactors().get(0), remote, 0,
                4096, 22, 32, arena);
        Await.until("host writes reach the nexus", Duration.ofSeconds(30),
                () -> server.bdevs().get("ma").ioCounters(server.reactors().get(0)) != null
                        || server.bdevs().get("ma").ioCounters(server.reactors().get(1)) != null);
        server.close();
        assertThat(load.get(60, TimeUnit.SECONDS)).hasSize(4096);
        HealthRecord h = store.load(n.infoKey()).orElseThrow();
        assertThat(h.cleanShutdown()).isTrue();
        assertThat(h.children()).allMatch(HealthRecord.ChildHealth::healthy);
    }

    @Test
    void aPublishedNexusWithHostIoInFlightIsDestroyedAndEveryIoEnds() throws Exception {
        Engine.await(server.createBdev(malloc("ba", 16)));
        Engine.await(server.createBdev(malloc("bb", 16)));
        Engine.await(server.createBdev("fault:///pa?base=ba"));
        Engine.await(server.createBdev("fault:///pb?base=bb"));
        NexusInfo n = Engine.await(server.createNexus(spec("n", 16 * MiB, "bdev:///pa", "bdev:///pb")));
        String nqn = "nqn.2019-05.io.openebs:" + n.uuid();
        Engine.await(server.publishNexus("n", nqn, List.of()));
        InetSocketAddress at = Engine.await(server.addListener("127.0.0.1", 0));
        Bdev remote = Engine.await(host.createBdev("nvmf://127.0.0.1:" + at.getPort() + "/" + nqn
                + "?io_timeout_ms=2000&ctrlr_loss_timeout_ms=1000"));
        FaultBdev.get("pb").delay(IoType.WRITE, 2_000_000);
        int blocks = 4096;
        CompletableFuture<List<IoRunner.Result>> load = NexusTestSupport.writeAsync(host.reactors().get(0), remote, 0,
                blocks, 21, 32, arena);
        Await.until("host writes reach the nexus", Duration.ofSeconds(30),
                () -> FaultBdev.get("pb").seen(IoType.WRITE) > 64);
        Engine.await(server.destroyNexus("n"));
        assertThat(server.listNexuses()).isEmpty();
        assertThat(server.bdevs().lookup("n")).isEmpty();
        List<IoRunner.Result> results = load.get(60, TimeUnit.SECONDS);
        assertThat(results).hasSize(blocks);
        assertThat(results).anyMatch(r -> !r.ok());
        assertThat(server.claimant("pa")).isEmpty();
        assertThat(server.claimant("pb")).isEmpty();
        for (int i = 0; i < blocks; i++) {
            if (results.get(i).ok()) {
                assertHolds(server, server.bdevs().get("pa"), i, 1, 21);
                assertHolds(server, server.bdevs().get("pb"), i, 1, 21);
            }
        }
    }

    @Test
    void republishingToOtherHostsDisconnectsTheHostsLeftOut() throws Exception {
        NexusInfo n = Engine.await(server.createNexus(spec("n", 16 * MiB, malloc("ma", 16), malloc("mb", 16))));
        String nqn = "nqn.2019-05.io.openebs:" + n.uuid();
        String fenced = "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555";
        String next = "nqn.2014-08.org.nvmexpress:uuid:66666666-7777-8888-9999-000000000000";
        Engine.await(server.publishNexus("n", nqn, List.of(fenced)));
        InetSocketAddress at = Engine.await(server.addListener("127.0.0.1", 0));
        Bdev remote = Engine.await(host.createBdev("nvmf://127.0.0.1:" + at.getPort() + "/" + nqn + "?hostnqn=" + fenced
                + "&io_timeout_ms=1000&connect_timeout_ms=1000&ctrlr_loss_timeout_ms=1000"));
        assertThat(NexusTestSupport.write(host.reactors().get(0), remote, 0, 16, 31, 4, arena))
                .allMatch(IoRunner.Result::ok);
        assertThat(server.target().controllers()).extracting(c -> c.host()).contains(fenced);

        // The volume moves to another host: the old one is cut off at once and cannot come back.
        NexusInfo moved = Engine.await(server.publishNexus("n", nqn, List.of(next)));
        assertThat(moved.allowedHosts()).containsExactly(next);
        assertThat(server.target().controllers()).extracting(c -> c.host()).doesNotContain(fenced);
        List<IoRunner.Result> after = NexusTestSupport.write(host.reactors().get(0), remote, 16, 16, 32, 4, arena);
        assertThat(after).noneMatch(IoRunner.Result::ok);
        assertThat(server.target().controllers()).extracting(c -> c.host()).doesNotContain(fenced);
        assertHolds(server, server.bdevs().get("ma"), 0, 16, 31);
        assertThat(NexusTestSupport.badBlocks(NexusTestSupport.read(server.reactors().get(0), server.bdevs().get("ma"),
                16, 16, 4, arena), 16, 16, 32)).allMatch(b -> b.endsWith(":ZERO"));
    }
}
