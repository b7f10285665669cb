package io.panastor.engine.nexus;

import static io.panastor.engine.nexus.NexusTestSupport.MiB;
import static io.panastor.engine.nexus.NexusTestSupport.assertHolds;
import static io.panastor.engine.nexus.NexusTestSupport.child;
import static io.panastor.engine.nexus.NexusTestSupport.malloc;
import static io.panastor.engine.nexus.NexusTestSupport.spec;
import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.engine.Await;
import io.panastor.engine.Engine;
import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.IoRunner;
import io.panastor.reactor.Reactors;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A child over NVMe/TCP whose target stops while IO runs: it is faulted once its controller
 * is lost (its loss timeout), the IO goes on on the local child, and no write that reached
 * only the local child is acknowledged before the health record says so.
 */
class NexusRemoteChildTest {
    private static final String NQN = "nqn.2019-05.io.openebs:remote-child";
    private Engine local;
    private Engine remote;
    private Arena arena;
    private String remoteUri;

    @BeforeEach
    void start() {
        local = Engine.start(Reactors.builder().count(1).pin(false));
        remote = Engine.start(Reactors.builder().count(1).pin(false));
        arena = Arena.ofShared();
        Engine.await(remote.createBdev(malloc("rm", 16)));
        Engine.await(remote.createSubsystem(NQN, "REMOTE0000", "remote child", true, List.of()));
        Engine.await(remote.addNamespace(NQN, "rm", 1));
        InetSocketAddress at = Engine.await(remote.addListener("127.0.0.1", 0));
        remoteUri = "nvmf://127.0.0.1:" + at.getPort() + "/" + NQN + "?io_timeout_ms=1000&ctrlr_loss_timeout_ms=1000";
    }

    @AfterEach
    void stop() {
        local.close();
        remote.close();
        arena.close();
    }

    private long writesTo(Engine e, String bdev) {
        return Engine.await(e.ioStats()).stream().filter(s -> s.name().equals(bdev)).mapToLong(s -> s.numWriteOps())
                .sum();
    }

    @Test
    void aStoppedTargetFaultsItsChildAndTheWritesGoOnAndAreKept() throws Exception {
        Gate gate = new Gate();
        local.nexusHealthStore(gate);
        NexusInfo n = Engine.await(local.createNexus(spec("n", 16 * MiB, malloc("l", 16), remoteUri)));
        String remoteBdev = child(n, remoteUri).bdev();
        Bdev nexus = local.bdevs().get("n");
        int blocks = 4096;
        gate.close();
        CompletableFuture<List<IoRunner.Result>> load = NexusTestSupport.writeAsync(local.reactors().get(0), nexus, 0,
                blocks, 11, 16, arena);
        Await.until("writes reach the remote child", Duration.ofSeconds(30), () -> writesTo(local, remoteBdev) > 64);
        remote.close();
        // The remote child's IO fails once its controller is lost; the fault must be persisted
        // before any write that reached only the local child is acknowledged.
        assertThat(gate.unhealthySave.await(60, TimeUnit.SECONDS)).as("the fault reached the health store").isTrue();
        assertThat(load).as("writes wait for the health record").isNotDone();
        gate.open();
        List<IoRunner.Result> results = load.get(60, TimeUnit.SECONDS);
        assertThat(results).allMatch(IoRunner.Result::ok);
        NexusInfo after = local.nexus("n").orElseThrow();
        assertThat(after.state()).isEqualTo(NexusState.DEGRADED);
        assertThat(child(after, remoteUri).state()).isEqualTo(ChildState.FAULTED);
        assertThat(child(after, remoteUri).reason()).isIn(ChildReason.HOT_REMOVED, ChildReason.TIMED_OUT,
                ChildReason.IO_FAILURE);
        assertThat(child(after, malloc("l", 16)).state()).isEqualTo(ChildState.OPEN);
        assertThat(gate.load(after.infoKey()).orElseThrow().children())
                .extracting(HealthRecord.ChildHealth::healthy).containsExactly(true, false);
        assertHolds(local, nexus, 0, blocks, 11);
        assertHolds(local, local.bdevs().get("l"), 0, blocks, 11);
        Engine.await(local.destroyNexus("n"));
    }

    @Test
    void aTargetThatFallsSilentTimesOutAndIsFaultedInsteadOfHangingTheNexus() throws Exception {
        InetSocketAddress target = remote.listeners().getFirst();
        try (SilentProxy proxy = new SilentProxy(target)) {
            String uri = "nvmf://127.0.0.1:" + proxy.port() + "/" + NQN
                    + "?io_timeout_ms=500&kato_ms=1000&connect_timeout_ms=500&ctrlr_loss_timeout_ms=1500";
            NexusInfo n = Engine.await(local.createNexus(spec("n", 16 * MiB, malloc("l", 16), uri)));
            String remoteBdev = child(n, uri).bdev();
            Bdev nexus = local.bdevs().get("n");
            CompletableFuture<List<IoRunner.Result>> load = NexusTestSupport.writeAsync(local.reactors().get(0), nexus,
                    0, 4096, 12, 16, arena);
            Await.until("writes reach the remote child", Duration.ofSeconds(30), () -> writesTo(local, remoteBdev) > 64);
            proxy.silence();
            List<IoRunner.Result> results = load.get(120, TimeUnit.SECONDS);
            assertThat(results).allMatch(IoRunner.Result::ok);
            NexusInfo after = local.nexus("n").orElseThrow();
            assertThat(after.state()).isEqualTo(NexusState.DEGRADED);
            assertThat(child(after, uri).state()).isEqualTo(ChildState.FAULTED);
            assertThat(child(after, uri).reason()).isIn(ChildReason.TIMED_OUT, ChildReason.HOT_REMOVED);
            assertHolds(local, nexus, 0, 4096, 12);
            Engine.await(local.destroyNexus("n"));
        }
    }

    /** A health store in memory whose saves of a record with an unhealthy child can be held back. */
    private static final class Gate implements HealthStore {
        private final HealthStore inner = HealthStore.inMemory();
        final CountDownLatch unhealthySave = new CountDownLatch(1);
        private volatile CountDownLatch open = new CountDownLatch(0);

        void close() {
            open = new CountDownLatch(1);
        }

        void open() {
            open.countDown();
        }

        @Override
        public Optional<HealthRecord> load(String key) throws IOException {
            return inner.load(key);
        }

        @Override
        public void save(String key, HealthRecord record) throws IOException {
            if (record.children().stream().anyMatch(c -> !c.healthy())) {
                unhealthySave.countDown();
                try {
                    open.await();
                } catch (InterruptedException e) {
                    throw new IOException(e);
                }
            }
            inner.save(key, record);
        }

        @Override
        public void delete(String key) throws IOException {
            inner.delete(key);
        }
    }
}
