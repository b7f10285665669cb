package io.panastor.api.daemon;

import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.panastor.api.cli.HostPort;
import io.panastor.api.grpc.BdevService;
import io.panastor.api.grpc.HostService;
import io.panastor.api.grpc.NexusService;
import io.panastor.api.grpc.PoolCatalog;
import io.panastor.api.grpc.PoolService;
import io.panastor.api.grpc.ReplicaService;
import io.panastor.api.grpc.ReplicaShares;
import io.panastor.api.grpc.StatsService;
import io.panastor.api.grpc.Shares;
import io.panastor.engine.Engine;
import io.panastor.engine.nexus.FileHealthStore;
import io.panastor.engine.rebuild.FileRebuildHistory;
import io.panastor.engine.nvmf.proto.NvmeOpcodes;
import io.panastor.engine.nvmf.tgt.Subsystem;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running io-engine: the Engine (reactors, bdevs, NVMe/TCP target) with its replica and
 * nexus listeners, the gRPC API on its own address, and Prometheus metrics, holding its state
 * directory. {@link #close} is the orderly stop SIGTERM asks for: stop taking calls and
 * connections, unpublish, drain IO, stop.
 */
public final class EngineDaemon implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EngineDaemon.class);
    /** How long in-flight gRPC calls get to finish at shutdown. */
    static final long GRPC_DRAIN_SECONDS = 5;

    /** What an engine is started with; see {@code panastor engine --help}. */
    public record Config(List<Integer> cores, HostPort grpc, HostPort replicaListen, HostPort nexusListen,
                         HostPort metrics, String nodeName, Path stateDir, String advertise, String nexusNqnPrefix,
                         RebuildOptions rebuild, ControlPlaneOptions controlPlane) {
        /** With no control plane. */
        public Config(List<Integer> cores, HostPort grpc, HostPort replicaListen, HostPort nexusListen,
                      HostPort metrics, String nodeName, Path stateDir, String advertise, String nexusNqnPrefix,
                      RebuildOptions rebuild) {
            this(cores, grpc, replicaListen, nexusListen, metrics, nodeName, stateDir, advertise, nexusNqnPrefix,
                    rebuild, null);
        }

        /** With Mayastor's NQN prefix for published nexuses. */
        public Config(List<Integer> cores, HostPort grpc, HostPort replicaListen, HostPort nexusListen,
                      HostPort metrics, String nodeName, Path stateDir, String advertise) {
            this(cores, grpc, replicaListen, nexusListen, metrics, nodeName, stateDir, advertise, Shares.NQN_PREFIX);
        }

        /** With the default rebuild options. */
        public Config(List<Integer> cores, HostPort grpc, HostPort replicaListen, HostPort nexusListen,
                      HostPort metrics, String nodeName, Path stateDir, String advertise, String nexusNqnPrefix) {
            this(cores, grpc, replicaListen, nexusListen, metrics, nodeName, stateDir, advertise, nexusNqnPrefix,
                    RebuildOptions.DEFAULT);
        }
    }

    /**
     * How the engine rebuilds: jobs at once, how long a child that left may come back for a
     * partial rebuild, and the segment size and segments in flight of each job.
     */
    public record RebuildOptions(int maxConcurrent, java.time.Duration partialWindow, long segmentBytes, int tasks) {
        public static final RebuildOptions DEFAULT = new RebuildOptions(
                io.panastor.engine.rebuild.Rebuilds.DEFAULT_MAX_CONCURRENT,
                io.panastor.engine.nexus.Nexuses.DEFAULT_PARTIAL_REBUILD_WINDOW,
                io.panastor.engine.rebuild.RebuildJob.DEFAULT_SEGMENT_BYTES,
                io.panastor.engine.rebuild.RebuildJob.DEFAULT_TASKS);
    }

    /**
     * The control plane an engine registers with, heartbeats to and keeps its nexuses' child
     * health in, and the labels it registers with.
     *
     * @param healthPatience how long a child-health write is tried before the nexus is told it failed
     */
    public record ControlPlaneOptions(HostPort address, java.util.Map<String, String> labels,
                                      java.time.Duration healthPatience) {
        public ControlPlaneOptions {
            labels = java.util.Map.copyOf(labels);
        }

        public ControlPlaneOptions(HostPort address) {
            this(address, java.util.Map.of(), java.time.Duration.ofSeconds(30));
        }
    }

    /** The host NQN a node's nexuses connect to replicas as: Mayastor's, by node name. */
    public static String hostNqn(String nodeName) {
        return Shares.NQN_PREFIX + "node-name:" + nodeName;
    }

    /** Where the finished rebuilds of each nexus are kept, under the state directory. */
    public static final String REBUILD_HISTORY_DIR = "rebuild-history";

    /** Where nexuses persist their child health, under the state directory. */
    public static final String NEXUS_HEALTH_DIR = "nexus-health";

    private final Config config;
    private final StateDirLock lock;
    private final Engine engine;
    private final InetSocketAddress replicaAddress;
    private final InetSocketAddress nexusAddress;
    private final Server grpc;
    private final ExecutorService grpcExecutor;
    private final HealthStatusManager health;
    private final MetricsEndpoint metrics;
    private final ControlPlaneAgent agent;
    private final io.grpc.ManagedChannel control;
    private final long startedNanos = System.nanoTime();

    /** What an engine tells the control plane it can do. */
    static final List<String> FEATURES = List.of("nexus-rebuild", "partial-rebuild", "thin-replicas", "replica-resize",
            "child-health-store");
    private volatile boolean closed;

    private EngineDaemon(Config config, StateDirLock lock, Engine engine, InetSocketAddress replicaAddress,
                         InetSocketAddress nexusAddress, Server grpc, ExecutorService grpcExecutor,
                         HealthStatusManager health, MetricsEndpoint metrics, ControlPlaneAgent agent,
                         io.grpc.ManagedChannel control) {
        this.agent = agent;
        this.control = control;
        this.config = config;
        this.lock = lock;
        this.engine = engine;
        this.replicaAddress = replicaAddress;
        this.nexusAddress = nexusAddress;
        this.grpc = grpc;
        this.grpcExecutor = grpcExecutor;
        this.health = health;
        this.metrics = metrics;
    }

    /**
     * Starts an engine; on any failure everything already started is stopped again and the
     * error names the option to change.
     */
    public static EngineDaemon start(Config c) {
        List<AutoCloseable> started = new ArrayList<>();
        if (c.nexusNqnPrefix() == null || !c.nexusNqnPrefix().startsWith("nqn.")) {
            throw new IllegalStateException("--nexus-nqn-prefix '" + c.nexusNqnPrefix()
                    + "' is not the start of an NQN: it must begin with 'nqn.' (e.g. " + Shares.NQN_PREFIX + ")");
        }
        try {
            StateDirLock lock = StateDirLock.acquire(c.stateDir());
            started.add(lock);
            Engine engine = Engine.start(c.cores());
            started.add(engine);
            InetSocketAddress replicas = listen(engine, "--replica-listen", c.replicaListen());
            InetSocketAddress nexus = c.nexusListen().equals(c.replicaListen()) && c.nexusListen().port() != 0 ? replicas
                    : listen(engine, "--nexus-listen", c.nexusListen());
            String advertised = advertised(c.advertise(), replicas);
            Shares shares = new Shares(engine, advertised);
            ReplicaShares replicaShares = new ReplicaShares(engine, shares);
            PoolService pools = new PoolService(engine, replicaShares, PoolCatalog.load(c.stateDir()));
            // The pools (and their replicas' shares) are back before anyone can call.
            pools.restore();
            // Nexuses are not recreated (their owner does that); the child health they persisted stays here,
            // or with the control plane when there is one.
            io.grpc.ManagedChannel control = null;
            if (c.controlPlane() != null) {
                HostPort cp = c.controlPlane().address();
                io.grpc.ManagedChannel ch = io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder
                        .forAddress(cp.host(), cp.port()).usePlaintext().build();
                control = ch;
                started.add(() -> ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
            }
            try {
                engine.nexusHealthStore(control != null
                        ? new ControlPlaneHealthStore(control, c.nodeName(), c.controlPlane().healthPatience())
                        : new FileHealthStore(c.stateDir().resolve(NEXUS_HEALTH_DIR)));
                engine.rebuildHistoryStore(new FileRebuildHistory(c.stateDir().resolve(REBUILD_HISTORY_DIR)));
            } catch (IOException e) {
                throw new IllegalStateException("--state-dir " + c.stateDir() + ": cannot make "
                        + NEXUS_HEALTH_DIR + " or " + REBUILD_HISTORY_DIR + ": " + e.getMessage(), e);
            }
            engine.maxConcurrentRebuilds(c.rebuild().maxConcurrent());
            engine.partialRebuildWindow(c.rebuild().partialWindow());
            engine.rebuildSegments(c.rebuild().segmentBytes(), c.rebuild().tasks());
            HealthStatusManager health = new HealthStatusManager();
            ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
            started.add(executor::shutdownNow);
            EngineInfo info = new EngineInfo(c.nodeName(), replicas, nexus, advertised);
            List<BindableService> services = List.of(
                    new BdevService(engine, shares),
                    new HostService(engine, info),
                    new StatsService(engine),
                    pools,
                    new ReplicaService(engine, replicaShares),
                    new NexusService(engine, advertised(c.advertise(), nexus), c.nexusNqnPrefix()));
            NettyServerBuilder b = NettyServerBuilder.forAddress(socketAddress(c.grpc()))
                    .executor(executor)
                    .addService(health.getHealthService())
                    .addService(ProtoReflectionServiceV1.newInstance());
            services.forEach(b::addService);
            Server server;
            try {
                server = b.build().start();
            } catch (IOException e) {
                throw new IllegalStateException("--grpc " + c.grpc() + ": cannot listen: " + reason(e), e);
            }
            started.add(() -> server.shutdownNow().awaitTermination(GRPC_DRAIN_SECONDS, TimeUnit.SECONDS));
            for (BindableService s : services) {
                health.setStatus(s.bindService().getServiceDescriptor().getName(), ServingStatus.SERVING);
            }
            health.setStatus("", ServingStatus.SERVING);
            MetricsEndpoint metrics = c.metrics() == null ? null
                    : MetricsEndpoint.start(c.metrics(), new EngineCollector(engine, c.nodeName()));
            if (metrics != null) {
                started.add(metrics);
            }
            ControlPlaneAgent agent = null;
            if (control != null) {
                InetSocketAddress g = (InetSocketAddress) server.getListenSockets().getFirst();
                agent = new ControlPlaneAgent(control, c.controlPlane().address().toString(),
                        io.panastor.api.control.v1.RegisterRequest.newBuilder()
                                .setId(c.nodeName())
                                .setGrpcEndpoint(advertised(c.advertise(), g))
                                .setInstanceUuid(java.util.UUID.randomUUID().toString())
                                .addApiVersion("v1")
                                .setHostnqn(hostNqn(c.nodeName()))
                                .addAllFeatures(FEATURES)
                                .setVersion(io.panastor.api.cli.BuildInfo.current().version())
                                .putAllLabels(c.controlPlane().labels())
                                .build());
                agent.start();
                started.add(agent);
            }
            EngineDaemon d = new EngineDaemon(c, lock, engine, replicas, nexus, server, executor, health, metrics,
                    agent, control);
            info.bind(d);
            return d;
        } catch (RuntimeException e) {
            Collections.reverse(started);
            for (AutoCloseable a : started) {
                try {
                    a.close();
                } catch (Exception suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
    }

    private static InetSocketAddress listen(Engine engine, String option, HostPort at) {
        try {
            return Engine.await(engine.addListener(at.host(), at.port()));
        } catch (RuntimeException e) {
            throw new IllegalStateException(option + " " + at + ": cannot listen: " + e.getMessage(), e);
        }
    }

    private static InetSocketAddress socketAddress(HostPort at) {
        return new InetSocketAddress(at.host(), at.port());
    }

    private static String reason(IOException e) {
        Throwable c = e;
        while (c.getCause() != null) {
            c = c.getCause();
        }
        return c.getMessage() == null ? c.toString() : c.getMessage();
    }

    /**
     * A listener as other nodes reach it: {@code --advertise} if given, else the
     * listener's own address, or for a wildcard listener this host's first non-loopback IPv4
     * address (loopback when there is none).
     */
    static String advertised(String advertise, InetSocketAddress listener) {
        String host = advertise;
        if (host == null || host.isBlank()) {
            InetAddress a = listener.getAddress();
            host = a.isAnyLocalAddress() ? firstHostAddress() : a.getHostAddress();
        }
        return new HostPort(host, listener.getPort()).toString();
    }

    private static String firstHostAddress() {
        try {
            for (NetworkInterface ni : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                if (!ni.isUp() || ni.isLoopback()) {
                    continue;
                }
                for (InetAddress a : Collections.list(ni.getInetAddresses())) {
                    if (a instanceof Inet4Address) {
                        return a.getHostAddress();
                    }
                }
            }
        } catch (SocketException e) {
            LOG.debug("listing network interfaces: {}", e.toString());
        }
        return InetAddress.getLoopbackAddress().getHostAddress();
    }

    public Engine engine() {
        return engine;
    }

    public Config config() {
        return config;
    }

    /** The gRPC address, with the port the system chose when the config said 0. */
    public InetSocketAddress grpcAddress() {
        return (InetSocketAddress) grpc.getListenSockets().getFirst();
    }

    public InetSocketAddress replicaAddress() {
        return replicaAddress;
    }

    public InetSocketAddress nexusAddress() {
        return nexusAddress;
    }

    /** The metrics address, or null when metrics are off. */
    public InetSocketAddress metricsAddress() {
        return metrics == null ? null : metrics.address();
    }

    public long uptimeMillis() {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startedNanos);
    }

    /**
     * Stops in order: no new gRPC calls (health says NOT_SERVING) and no new NVMe/TCP
     * connections; every subsystem unpublished (its hosts disconnected); IO drained as each
     * bdev closes; then the reactors, the gRPC server, metrics and the state-dir lock. A second
     * call does nothing.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (agent != null) {
            agent.close();      // deregistered: the control plane stops expecting heartbeats
        }
        health.enterTerminalState();
        grpc.shutdown();
        if (metrics != null) {
            metrics.close();    // no scrape waits on reactors that are stopping
        }
        for (InetSocketAddress l : engine.target().listeners()) {
            try {
                Engine.await(engine.removeListener(l));
            } catch (RuntimeException e) {
                LOG.warn("removing listener {}: {}", l, e.getMessage());
            }
        }
        for (Subsystem s : engine.target().subsystems()) {
            if (!s.nqn().equals(NvmeOpcodes.DISCOVERY_NQN)) {
                try {
                    Engine.await(engine.destroySubsystem(s.nqn()));
                } catch (RuntimeException e) {
                    LOG.warn("unpublishing {}: {}", s.nqn(), e.getMessage());
                }
            }
        }
        try {
            engine.close();
        } finally {
            try {
                if (!grpc.awaitTermination(GRPC_DRAIN_SECONDS, TimeUnit.SECONDS)) {
                    grpc.shutdownNow();
                }
            } catch (InterruptedException e) {
                grpc.shutdownNow();
                Thread.currentThread().interrupt();
            }
            grpcExecutor.shutdownNow();
            if (control != null) {
                control.shutdownNow();
            }
            lock.close();
        }
    }
}
