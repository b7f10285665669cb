package io.panastor.api.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.panastor.api.grpc.DaemonFixture;
import io.panastor.api.v1.BdevRpcGrpc;
import io.panastor.api.v1.BdevShareRequest;
import io.panastor.api.v1.CreateBdevRequest;
import io.panastor.api.v1.ShareProtocol;
import io.panastor.engine.Engine;
import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BlockPattern;
import io.panastor.natives.Cpu;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code panastor engine} as a process: ready line, config file, one engine per state dir, SIGTERM with IO in flight. */
class EngineCommandTest {
    static final String HOST = "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-0000000000cc";

    @TempDir
    Path dir;

    private String[] ports(int grpc) throws Exception {
        return new String[] {"--grpc", "127.0.0.1:" + grpc, "--replica-listen", "127.0.0.1:" + EngineProcess.freePort(),
                "--nexus-listen", "127.0.0.1:" + EngineProcess.freePort(), "--metrics", "off",
                "--cores", "[" + Cpu.allowedCpus().getFirst() + "]", "--state-dir", dir.resolve("state").toString()};
    }

    @Test
    void sigtermWithIoInFlightEndsTheIoAndExitsZero() throws Exception {
        int grpc = EngineProcess.freePort();
        try (EngineProcess p = EngineProcess.start(dir, ports(grpc))) {
            Map<String, String> ready = p.awaitReady();
            assertThat(ready).as("ready line; stderr: %s", p.stderr()).isNotNull();
            assertThat(ready.get("grpc")).isEqualTo("127.0.0.1:" + grpc);
            assertThat(Long.parseLong(ready.get("ready_ms"))).isNotNegative();
            ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", grpc).usePlaintext().build();
            String uri;
            try {
                HealthCheckResponse h = HealthGrpc.newBlockingStub(ch).check(HealthCheckRequest.getDefaultInstance());
                assertThat(h.getStatus()).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
                BdevRpcGrpc.BdevRpcBlockingStub bdevs = BdevRpcGrpc.newBlockingStub(ch);
                bdevs.create(CreateBdevRequest.newBuilder().setUri("malloc:///m0?size_mb=32&blk_size=4096").build());
                uri = bdevs.share(BdevShareRequest.newBuilder().setName("m0").setProtocol(ShareProtocol.NVMF).build())
                        .getBdev().getShareUri();
            } finally {
                ch.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
            }
            // A host keeps 8 writes in flight until the engine goes away.
            try (Engine host = Engine.start(List.of(Cpu.allowedCpus().getFirst()));
                 Arena a = Arena.ofShared()) {
                Bdev remote = Engine.await(host.createBdev(uri + "?hostnqn=" + HOST + "&ctrlr_loss_timeout_ms=0&io_timeout_ms=2000"));
                int depth = 8;
                AtomicBoolean stop = new AtomicBoolean();
                AtomicLong ok = new AtomicLong();
                AtomicLong failed = new AtomicLong();
                java.util.concurrent.CountDownLatch flowing = new java.util.concurrent.CountDownLatch(1);
                List<CompletableFuture<Void>> writers = new ArrayList<>();
                for (int w = 0; w < depth; w++) {
                    MemorySegment buf = a.allocate(4096, 4096);
                    new BlockPattern().fill(buf, 0, 4096, w, 1, 1);
                    int lba = w;
                    writers.add(CompletableFuture.runAsync(() -> {
                        while (!stop.get()) {
                            Engine.IoResult r;
                            try {
                                r = Engine.await(host.write(remote.name(), lba, 1, buf));
                            } catch (RuntimeException e) {
                                failed.incrementAndGet();
                                flowing.countDown();
                                return;
                            }
                            if (r.ok()) {
                                if (ok.incrementAndGet() == 1000) {
                                    flowing.countDown();
                                }
                            } else {
                                failed.incrementAndGet();
                                flowing.countDown();
                                return;
                            }
                        }
                    }));
                }
                assertThat(flowing.await(EngineProcess.HANG_SECONDS, TimeUnit.SECONDS)).as("writes under way").isTrue();
                assertThat(failed.get()).as("writes failed before the signal").isZero();
                assertThat(ok.get()).as("writes done before the signal").isGreaterThanOrEqualTo(1000);
                p.signal("TERM");
                assertThat(p.awaitExit()).as("exit status; stderr: %s", p.stderr()).isZero();
                // Every writer's IO came back, done or failed: none is left hanging.
                CompletableFuture.allOf(writers.toArray(CompletableFuture[]::new))
                        .get(EngineProcess.HANG_SECONDS, TimeUnit.SECONDS);
                stop.set(true);
                assertThat(failed.get()).as("writers that saw the engine go").isEqualTo(depth);
                assertThat(p.stderr()).contains("stopped");
            }
        }
    }

    @Test
    void aSecondEngineOnTheSameStateDirIsRefusedNamingIt() throws Exception {
        Path state = dir.resolve("state");
        try (DaemonFixture first = new DaemonFixture(state, false);
             EngineProcess second = EngineProcess.start(dir, ports(EngineProcess.freePort()))) {
            assertThat(second.awaitReady()).isNull();
            assertThat(second.awaitExit()).isEqualTo(1);
            assertThat(second.stderr()).contains("another panastor engine (pid " + ProcessHandle.current().pid() + ")")
                    .contains(state.toString());
            assertThat(first.daemon.engine().listBdevs()).isEmpty();    // the first one is untouched
        }
    }

    @Test
    void aConfigFileSetsOptionsAndTheCommandLineWins() throws Exception {
        int fromFile = EngineProcess.freePort();
        int fromFlag = EngineProcess.freePort();
        int replicas = EngineProcess.freePort();
        Path config = dir.resolve("engine.conf");
        Files.writeString(config, "grpc=127.0.0.1:" + fromFile + "\nreplica-listen=127.0.0.1:" + replicas
                + "\nnode-name=from-file\nmetrics=off\n");
        try (EngineProcess p = EngineProcess.start(dir, "--config", config.toString(), "--grpc", "127.0.0.1:" + fromFlag,
                "--nexus-listen", "127.0.0.1:" + EngineProcess.freePort(), "--cores", "1",
                "--state-dir", dir.resolve("state").toString())) {
            Map<String, String> ready = p.awaitReady();
            assertThat(ready).as("stderr: %s", p.stderr()).isNotNull();
            assertThat(ready.get("grpc")).isEqualTo("127.0.0.1:" + fromFlag);
            assertThat(ready.get("replicas")).isEqualTo("127.0.0.1:" + replicas);
            assertThat(ready.get("metrics")).isEqualTo("off");
            p.signal("INT");
            assertThat(p.awaitExit()).isZero();
        }
        Files.writeString(config, "grpc=127.0.0.1:1\ncolour=blue\n");
        try (EngineProcess p = EngineProcess.start(dir, "--config", config.toString())) {
            assertThat(p.awaitReady()).isNull();
            assertThat(p.awaitExit()).isEqualTo(2);
            assertThat(p.stderr()).contains("colour").contains(config.toString());
        }
    }

    @Test
    void theControlPlaneAndTheNodesLabelsAreOptions() {
        EngineCommand cmd = new EngineCommand();
        new picocli.CommandLine(cmd).parseArgs("--state-dir", dir.toString());
        assertThat(cmd.config().controlPlane()).isNull();
        cmd = new EngineCommand();
        new picocli.CommandLine(cmd).parseArgs("--state-dir", dir.toString(), "--control-plane", "10.1.2.3:50051",
                "--node-labels", "zone=a,rack=2");
        EngineDaemon.ControlPlaneOptions cp = cmd.config().controlPlane();
        assertThat(cp.address()).isEqualTo(new io.panastor.api.cli.HostPort("10.1.2.3", 50051));
        assertThat(cp.labels()).containsExactlyInAnyOrderEntriesOf(java.util.Map.of("zone", "a", "rack", "2"));
        EngineCommand alone = new EngineCommand();
        new picocli.CommandLine(alone).parseArgs("--state-dir", dir.toString(), "--node-labels", "zone=a");
        org.assertj.core.api.Assertions.assertThatThrownBy(alone::config).hasMessageContaining("give --control-plane");
        assertThat(EngineDaemon.hostNqn("node-1")).isEqualTo("nqn.2019-05.io.openebs:node-name:node-1");
    }

    @Test
    void nexusesArePublishedUnderTheNqnPrefixTheEngineIsGiven() throws Exception {
        EngineCommand cmd = new EngineCommand();
        new picocli.CommandLine(cmd).parseArgs("--state-dir", dir.toString());
        assertThat(cmd.config().nexusNqnPrefix()).isEqualTo("nqn.2019-05.io.openebs:");
        new picocli.CommandLine(cmd).parseArgs("--state-dir", dir.toString(), "--nexus-nqn-prefix", "nqn.2026-12.io.example:");
        EngineDaemon.Config c = cmd.config();
        assertThat(c.nexusNqnPrefix()).isEqualTo("nqn.2026-12.io.example:");

        List<Integer> one = List.of(Cpu.allowedCpus().getFirst());
        io.panastor.api.cli.HostPort any = new io.panastor.api.cli.HostPort("127.0.0.1", 0);
        try (EngineDaemon d = EngineDaemon.start(new EngineDaemon.Config(one, any, any, any, null, "n", dir.resolve("s"),
                null, c.nexusNqnPrefix()))) {
            java.util.UUID u = java.util.UUID.randomUUID();
            Engine.await(d.engine().createNexus(new io.panastor.engine.nexus.NexusSpec("vol", u, 1L << 20,
                    List.of("malloc:///m0?size_mb=1"), null)));
            ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", d.grpcAddress().getPort()).usePlaintext()
                    .build();
            try {
                String uri = io.panastor.api.v1.NexusRpcGrpc.newBlockingStub(ch).publishNexus(
                        io.panastor.api.v1.PublishNexusRequest.newBuilder().setUuid(u.toString())
                                .setShare(ShareProtocol.NVMF).build()).getNexus().getDeviceUri();
                assertThat(uri).isEqualTo("nvmf://127.0.0.1:" + d.nexusAddress().getPort() + "/nqn.2026-12.io.example:" + u);
            } finally {
                ch.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
            }
        }
        assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> EngineDaemon.start(new EngineDaemon.Config(one,
                any, any, any, null, "n", dir.resolve("s"), null, "iqn.2026-12.io.example:"))))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("--nexus-nqn-prefix");
    }
}
