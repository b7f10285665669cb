package io.panastor.api.grpc;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.panastor.api.cli.HostPort;
import io.panastor.api.daemon.EngineDaemon;
import io.panastor.natives.Cpu;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * An engine daemon on 127.0.0.1 (every port chosen by the system) and a channel to its gRPC
 * API, for tests; closing it stops both.
 */
public final class DaemonFixture implements AutoCloseable {
    public final EngineDaemon daemon;
    public final ManagedChannel channel;

    public DaemonFixture(Path stateDir, boolean metrics) {
        this(stateDir, metrics, EngineDaemon.RebuildOptions.DEFAULT);
    }

    public DaemonFixture(Path stateDir, boolean metrics, EngineDaemon.RebuildOptions rebuild) {
        this(stateDir, "test-node", metrics, rebuild, null);
    }

    /** A node named {@code node}, registered with the control plane {@code controlPlane} (null: none). */
    public DaemonFixture(Path stateDir, String node, boolean metrics, EngineDaemon.RebuildOptions rebuild,
                         EngineDaemon.ControlPlaneOptions controlPlane) {
        List<Integer> cpus = Cpu.allowedCpus();
        daemon = EngineDaemon.start(new EngineDaemon.Config(List.of(cpus.getFirst()),
                new HostPort("127.0.0.1", 0), new HostPort("127.0.0.1", 0), new HostPort("127.0.0.1", 0),
                metrics ? new HostPort("127.0.0.1", 0) : null, node, stateDir, null,
                io.panastor.api.grpc.Shares.NQN_PREFIX, rebuild, controlPlane));
        channel = NettyChannelBuilder.forAddress("127.0.0.1", daemon.grpcAddress().getPort()).usePlaintext().build();
    }

    /** {@code --engine} for CLI tests. */
    public String engineAddress() {
        return "127.0.0.1:" + daemon.grpcAddress().getPort();
    }

    @Override
    public void close() throws InterruptedException {
        channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
        daemon.close();
    }
}
