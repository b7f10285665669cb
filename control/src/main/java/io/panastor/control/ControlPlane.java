package io.panastor.control;

import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.panastor.api.cli.HostPort;
import io.panastor.control.store.Store;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A running control plane: its store, the nodes, pools and volumes it keeps there, the
 * reconcile loop, and its gRPC API. Started on a store another control plane left (after a
 * crash too), it finishes the operations that store holds as under way once their nodes are back.
 */
public final class ControlPlane implements AutoCloseable {
    /** Mayastor's core agent's port. */
    public static final int DEFAULT_PORT = 50051;

    /**
     * What a control plane starts with.
     *
     * @param nodeTimeout       a node with no heartbeat for this long is offline
     * @param heartbeat         how often engines are asked to heartbeat
     * @param thinLimitPercent  how far thin replicas may commit a pool, in percent of its capacity
     * @param maxRebuilds       how many rebuilds the healer lets run at once in the cluster (0: no limit)
     */
    public record Config(Store store, HostPort grpc, Duration nodeTimeout, Duration heartbeat, Duration reconcilePeriod,
                         int thinLimitPercent, InstantSource clock, CrashPoints crash, Duration replicaWait,
                         int maxRebuilds) {
        /** Mayastor's: a replica out of its nexus for this long is replaced. */
        public static final Duration DEFAULT_REPLICA_WAIT = Duration.ofMinutes(10);

        public Config(Store store, HostPort grpc, Duration nodeTimeout, Duration heartbeat, Duration reconcilePeriod,
                      int thinLimitPercent, InstantSource clock, CrashPoints crash, Duration replicaWait) {
            this(store, grpc, nodeTimeout, heartbeat, reconcilePeriod, thinLimitPercent, clock, crash, replicaWait, 0);
        }

        public Config(Store store, HostPort grpc) {
            this(store, grpc, Duration.ofSeconds(10), Duration.ofSeconds(2), Duration.ofSeconds(5), 250,
                    InstantSource.system(), CrashPoints.NONE);
        }

        public Config(Store store, HostPort grpc, Duration nodeTimeout, Duration heartbeat, Duration reconcilePeriod,
                      int thinLimitPercent, InstantSource clock, CrashPoints crash) {
            this(store, grpc, nodeTimeout, heartbeat, reconcilePeriod, thinLimitPercent, clock, crash,
                    DEFAULT_REPLICA_WAIT);
        }
    }

    private final Config config;
    final Nodes nodes;
    final Pools pools;
    final Volumes volumes;
    final Reconciler reconciler;
    private final Server server;
    private final ExecutorService executor;
    private final HealthStatusManager health = new HealthStatusManager();

    private ControlPlane(Config c) throws IOException {
        this.config = c;
        this.nodes = new Nodes(c.store(), c.clock(), c.nodeTimeout());
        this.pools = new Pools(c.store(), nodes, c.crash());
        this.volumes = new Volumes(c.store(), nodes, pools, c.crash(), c.thinLimitPercent());
        this.reconciler = new Reconciler(nodes, pools, volumes, new Healer(nodes, volumes, c.clock(), c.replicaWait(),
                c.maxRebuilds()), c.reconcilePeriod());
        nodes.onNewInstance(reconciler::resync);
        c.store().watch(reconciler::external);
        this.executor = Executors.newVirtualThreadPerTaskExecutor();
        NettyServerBuilder b = NettyServerBuilder.forAddress(new InetSocketAddress(c.grpc().host(), c.grpc().port()))
                .executor(executor)
                .addService(health.getHealthService())
                .addService(ProtoReflectionServiceV1.newInstance());
        List<BindableService> services = new ControlServices(nodes, pools, volumes, c.heartbeat(), c.clock(),
                c.crash()).all();
        services.forEach(b::addService);
        try {
            this.server = b.build().start();
        } catch (IOException e) {
            executor.shutdownNow();
            throw new IllegalStateException("--grpc " + c.grpc() + ": cannot listen: " + e.getMessage(), e);
        }
        for (BindableService s : services) {
            health.setStatus(s.bindService().getServiceDescriptor().getName(), ServingStatus.SERVING);
        }
        health.setStatus("", ServingStatus.SERVING);
    }

    /** Starts a control plane; the reconcile loop runs from here on. */
    public static ControlPlane start(Config c) throws IOException {
        ControlPlane cp = new ControlPlane(c);
        cp.reconciler.start();
        return cp;
    }

    public InetSocketAddress grpcAddress() {
        return (InetSocketAddress) server.getListenSockets().getFirst();
    }

    public Config config() {
        return config;
    }

    /** One pass of the reconcile loop, now, on the calling thread (tests). */
    public void reconcile() {
        reconciler.pass();
    }

    /** Stops taking calls, stops the loop, closes the engine channels and the store. */
    @Override
    public void close() {
        health.enterTerminalState();
        server.shutdown();
        reconciler.close();
        try {
            if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
                server.shutdownNow();
            }
        } catch (InterruptedException e) {
            server.shutdownNow();
            Thread.currentThread().interrupt();
        }
        executor.shutdownNow();
        nodes.close();
        try {
            config.store().close();
        } catch (IOException e) {
            // nothing is pending in it
        }
    }

    /**
     * Stops as a kill -9 would for what it holds in memory: no call is finished, nothing more
     * is written; the store stays as it is. For crash tests, which start another on the same store.
     */
    void abandon() {
        config.store().watch((k, v) -> { });
        server.shutdownNow();
        reconciler.close();
        executor.shutdownNow();
        nodes.close();
        try {
            config.store().close();     // writes nothing: ends the watches a dead process would not hold
        } catch (IOException e) {
            // nothing is pending in it
        }
    }
}
