package io.panastor.control.cli;

import io.panastor.api.cli.HostPort;
import io.panastor.control.ControlPlane;
import io.panastor.control.CrashPoints;
import io.panastor.control.store.Store;
import java.time.Duration;
import java.time.InstantSource;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import sun.misc.Signal;

/** {@code panastor control-plane}: run the control plane until SIGTERM or SIGINT. */
@Command(name = "control-plane", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run the control plane (Mayastor's core agent): engines register with it; it places volumes "
                + "on their pools, publishes them and keeps their state in its store."})
public final class ControlPlaneCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(ControlPlaneCommand.class);

    @Option(names = "--store", paramLabel = "file:DIR|k8s[:NAMESPACE]", defaultValue = "file:/var/lib/panastor/control-plane",
            description = "Where the state is kept: files in a directory, or custom resources of the Kubernetes cluster "
                    + "it runs in (in-cluster configuration, else the kubeconfig; its namespace unless one is given). "
                    + "Default: ${DEFAULT-VALUE}")
    String store;

    @Option(names = "--grpc", paramLabel = "HOST:PORT", converter = HostPort.AnyHost.class,
            defaultValue = ControlOptions.DEFAULT_CONTROL_PLANE, description = "gRPC API address. Default: ${DEFAULT-VALUE}")
    HostPort grpc;

    @Option(names = "--node-timeout", paramLabel = "DURATION", defaultValue = "10s",
            description = "A node with no heartbeat for this long is offline (5s, 1m, PT10S). Default: ${DEFAULT-VALUE}")
    String nodeTimeout;

    @Option(names = "--heartbeat-interval", paramLabel = "DURATION", defaultValue = "2s",
            description = "How often engines heartbeat. Default: ${DEFAULT-VALUE}")
    String heartbeat;

    @Option(names = "--reconcile-period", paramLabel = "DURATION", defaultValue = "5s",
            description = "How often the reconcile loop runs when nothing wakes it. Default: ${DEFAULT-VALUE}")
    String reconcile;

    @Option(names = "--replica-wait", paramLabel = "DURATION", defaultValue = "10m",
            description = "How long a replica may be out of its nexus (its node away, its device gone) before it is "
                    + "replaced on another node; back sooner, it is brought back. Default: ${DEFAULT-VALUE}")
    String replicaWait;

    @Option(names = "--thin-commitment", paramLabel = "PERCENT", defaultValue = "250",
            description = "How far thin replicas may commit a pool, in percent of its capacity. Default: ${DEFAULT-VALUE}")
    int thinCommitment;

    @Option(names = "--max-rebuilds", paramLabel = "N", defaultValue = "0",
            description = "At most this many rebuilds started by healing at once in the cluster (0: no limit). "
                    + "Default: ${DEFAULT-VALUE}")
    int maxRebuilds;

    @Option(names = "--crash-at", paramLabel = "STEP[:N]", hidden = true,
            description = "Test hook: halt the process (as kill -9 would) the Nth time (1) it reaches STEP")
    String crashAt;

    /** Halts the JVM at once (no shutdown hook, nothing flushed) the {@code n}th time {@code step} is reached. */
    static CrashPoints halting(String spec) {
        String[] f = spec.split(":", 2);
        int n = f.length == 2 ? Integer.parseInt(f[1]) : 1;
        java.util.concurrent.atomic.AtomicInteger seen = new java.util.concurrent.atomic.AtomicInteger();
        return step -> {
            if (step.equals(f[0]) && seen.incrementAndGet() == n) {
                System.err.println("control-plane: halting at " + step + " (" + n + ")");
                System.err.flush();
                Runtime.getRuntime().halt(137);
            }
        };
    }

    @Override
    public Integer call() throws Exception {
        CountDownLatch stop = new CountDownLatch(1);
        Signal.handle(new Signal("INT"), s -> stop.countDown());
        Signal.handle(new Signal("TERM"), s -> stop.countDown());
        Duration timeout = io.panastor.api.daemon.EngineCommand.duration("--node-timeout", nodeTimeout);
        Duration beat = io.panastor.api.daemon.EngineCommand.duration("--heartbeat-interval", heartbeat);
        if (beat.compareTo(timeout) >= 0) {
            throw new IllegalArgumentException("--heartbeat-interval " + heartbeat + " must be shorter than --node-timeout "
                    + nodeTimeout);
        }
        if (thinCommitment < 100) {
            throw new IllegalArgumentException("--thin-commitment " + thinCommitment + ": at least 100 (percent)");
        }
        if (maxRebuilds < 0) {
            throw new IllegalArgumentException("--max-rebuilds " + maxRebuilds + ": 0 (no limit) or more");
        }
        Store s = Store.open(store);
        try (ControlPlane cp = ControlPlane.start(new ControlPlane.Config(s, grpc, timeout, beat,
                io.panastor.api.daemon.EngineCommand.duration("--reconcile-period", reconcile), thinCommitment,
                InstantSource.system(), crashAt == null ? CrashPoints.NONE : halting(crashAt),
                io.panastor.api.daemon.EngineCommand.duration("--replica-wait", replicaWait), maxRebuilds))) {
            System.out.println("panastor control-plane ready: grpc=" + grpc.host() + ":" + cp.grpcAddress().getPort()
                    + " store=" + store);
            System.out.flush();
            stop.await();
            LOG.info("stopping");
        }
        return 0;
    }
}
