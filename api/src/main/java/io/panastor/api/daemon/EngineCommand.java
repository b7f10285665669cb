package io.panastor.api.daemon;

import io.panastor.api.cli.Cores;
import io.panastor.api.cli.HostPort;
import io.panastor.api.grpc.Shares;
import io.panastor.natives.Cpu;
import io.panastor.natives.OpenFileLimit;
import io.panastor.natives.Signals;
import java.io.IOException;
import java.io.Reader;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import sun.misc.Signal;

/**
 * {@code panastor engine}: a storage node's io-engine daemon, managed over gRPC
 * ({@code mayastor.v1} on {@code --grpc}), serving replicas and volumes over NVMe/TCP and
 * metrics to Prometheus, until SIGTERM or SIGINT.
 */
@Command(name = "engine", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run the io-engine daemon of a storage node until SIGTERM (or SIGINT).",
                "Options may also come from a --config file of key=value lines, the keys being the option names "
                        + "without their dashes (grpc=127.0.0.1:10124); options on the command line win."})
public final class EngineCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(EngineCommand.class);
    static final String DEFAULT_STATE_DIR = "/var/lib/panastor";

    @Option(names = "--cores", paramLabel = "N|LIST",
            description = "Reactors: a count (2) or the cores to run them on (0,1 or 2-3 or [3]). Default: every core available")
    String cores;

    @Option(names = "--grpc", paramLabel = "HOST:PORT", converter = HostPort.AnyHost.class,
            description = "gRPC API address. Default: ${DEFAULT-VALUE}", defaultValue = "127.0.0.1:10124")
    HostPort grpc;

    @Option(names = "--replica-listen", paramLabel = "HOST:PORT", converter = HostPort.AnyHost.class,
            description = "NVMe/TCP listener for replicas and shared bdevs. Default: ${DEFAULT-VALUE}",
            defaultValue = "0.0.0.0:8420")
    HostPort replicaListen;

    @Option(names = "--nexus-listen", paramLabel = "HOST:PORT", converter = HostPort.AnyHost.class,
            description = "NVMe/TCP listener for published volumes. Default: ${DEFAULT-VALUE}",
            defaultValue = "0.0.0.0:4421")
    HostPort nexusListen;

    @Option(names = "--advertise", paramLabel = "HOST",
            description = "Address other nodes reach this one at, in share URIs. Default: the replica listener's "
                    + "address, or this host's first IPv4 address when it listens on all of them")
    String advertise;

    @Option(names = "--nexus-nqn-prefix", paramLabel = "PREFIX",
            description = "What a published nexus's NQN is its UUID after. Default: ${DEFAULT-VALUE}",
            defaultValue = Shares.NQN_PREFIX)
    String nexusNqnPrefix;

    @Option(names = "--metrics", paramLabel = "HOST:PORT|off",
            description = "Prometheus /metrics address, or off. Default: ${DEFAULT-VALUE}", defaultValue = "0.0.0.0:9502")
    String metrics;

    @Option(names = "--node-name", paramLabel = "NAME", description = "This node's name. Default: the host name")
    String nodeName;

    @Option(names = "--state-dir", paramLabel = "DIR",
            description = "Directory the engine keeps its state in; one engine per directory. Default: ${DEFAULT-VALUE}",
            defaultValue = DEFAULT_STATE_DIR)
    Path stateDir;

    @Option(names = "--config", paramLabel = "FILE", description = "Options as key=value lines (see above)")
    Path config;

    @Option(names = "--max-rebuilds", paramLabel = "N",
            description = "Rebuilds that copy at once; more queue. Default: ${DEFAULT-VALUE}",
            defaultValue = "" + io.panastor.engine.rebuild.Rebuilds.DEFAULT_MAX_CONCURRENT)
    int maxRebuilds;

    @Option(names = "--partial-rebuild-window", paramLabel = "DURATION",
            description = "How long a child that went offline, timed out or was removed may come back and copy "
                    + "only what it missed (90s, 10m, 1h, PT10M); after that it is rebuilt in full. Default: ${DEFAULT-VALUE}",
            defaultValue = "10m")
    String partialRebuildWindow;

    @Option(names = "--rebuild-segment", paramLabel = "SIZE", converter = io.panastor.api.cli.Sizes.Converter.class,
            description = "What a rebuild copies at a time (a power of two). Default: 128KiB", defaultValue = "128KiB")
    long rebuildSegment;

    @Option(names = "--rebuild-tasks", paramLabel = "N",
            description = "Segments a rebuild keeps in flight. Default: ${DEFAULT-VALUE}",
            defaultValue = "" + io.panastor.engine.rebuild.RebuildJob.DEFAULT_TASKS)
    int rebuildTasks;

    @Option(names = "--control-plane", paramLabel = "HOST:PORT", converter = HostPort.AnyHost.class,
            description = "Register with the control plane there, heartbeat to it and keep the nexuses' child health "
                    + "in it (instead of the state directory). Default: none")
    HostPort controlPlane;

    @Option(names = "--node-labels", paramLabel = "KEY=VALUE[,KEY=VALUE]", split = ",",
            description = "Topology labels this node registers with; volumes may select nodes by them")
    java.util.Map<String, String> nodeLabels;

    @Override
    public Integer call() throws Exception {
        long commandStart = System.nanoTime();
        CountDownLatch stop = new CountDownLatch(1);
        for (int sig : new int[] {Signals.SIGINT, Signals.SIGTERM}) {
            Signals.unignore(sig);
        }
        Signal.handle(new Signal("INT"), s -> stop.countDown());
        Signal.handle(new Signal("TERM"), s -> stop.countDown());
        OpenFileLimit.raiseToHard();
        EngineDaemon.Config c = config();
        try (EngineDaemon d = EngineDaemon.start(c)) {
            long readyMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - commandStart);
            long sinceJvm = System.currentTimeMillis() - ManagementFactory.getRuntimeMXBean().getStartTime();
            LOG.info("node {}: {} reactors on cores {}, state dir {}", c.nodeName(), c.cores().size(), c.cores(),
                    c.stateDir());
            System.out.println("panastor engine ready: grpc=" + hostPort(d.grpcAddress())
                    + " replicas=" + hostPort(d.replicaAddress()) + " nexus=" + hostPort(d.nexusAddress())
                    + " metrics=" + (d.metricsAddress() == null ? "off" : hostPort(d.metricsAddress()))
                    + " ready_ms=" + readyMs + " since_jvm_start_ms=" + sinceJvm);
            System.out.flush();
            stop.await();
            LOG.info("stopping: unpublishing {} subsystems, closing {} connections",
                    d.engine().target().subsystems().size() - 1, d.engine().target().connections().size());
        }
        LOG.info("stopped");
        return 0;
    }

    static String hostPort(InetSocketAddress a) {
        return new HostPort(a.getAddress().getHostAddress(), a.getPort()).toString();
    }

    /** The options as an engine configuration, their errors naming the option. */
    EngineDaemon.Config config() {
        List<Integer> allowed = Cpu.allowedCpus();
        List<Integer> cpus = cores == null ? allowed : Cores.parse(cores, allowed);
        HostPort metricsAt = metrics == null || metrics.equalsIgnoreCase("off") ? null
                : HostPort.parse("--metrics", metrics, "0.0.0.0");
        String node = nodeName;
        if (node == null || node.isBlank()) {
            try {
                node = InetAddress.getLocalHost().getHostName();
            } catch (UnknownHostException e) {
                node = "localhost";
            }
        }
        if (maxRebuilds < 1) {
            throw new IllegalArgumentException("--max-rebuilds must be at least 1, got "
                    + maxRebuilds);
        }
        if (rebuildTasks < 1 || rebuildSegment <= 0 || Long.bitCount(rebuildSegment) != 1) {
            throw new IllegalArgumentException("--rebuild-segment must be a power of "
                    + "two and --rebuild-tasks at least 1, got " + rebuildSegment + " and " + rebuildTasks);
        }
        EngineDaemon.RebuildOptions rebuild = new EngineDaemon.RebuildOptions(maxRebuilds,
                duration("--partial-rebuild-window", partialRebuildWindow), rebuildSegment, rebuildTasks);
        EngineDaemon.ControlPlaneOptions cp = controlPlane == null ? null
                : new EngineDaemon.ControlPlaneOptions(controlPlane, nodeLabels == null ? java.util.Map.of() : nodeLabels,
                java.time.Duration.ofSeconds(30));
        if (cp == null && nodeLabels != null && !nodeLabels.isEmpty()) {
            throw new IllegalArgumentException("--node-labels are registered with a control plane: give --control-plane too");
        }
        return new EngineDaemon.Config(cpus, grpc, replicaListen, nexusListen, metricsAt, node,
                stateDir.toAbsolutePath().normalize(), advertise, nexusNqnPrefix, rebuild, cp);
    }

    /** {@code 600000ms}, {@code 90s}, {@code 10m}, {@code 1h}, or ISO-8601 ({@code PT10M}). */
    public static java.time.Duration duration(String option, String text) {
        String t = text.trim();
        try {
            if (t.toUpperCase().startsWith("P")) {
                return java.time.Duration.parse(t);
            }
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+)(ms|s|m|h)").matcher(t);
            if (m.matches()) {
                long n = Long.parseLong(m.group(1));
                return switch (m.group(2)) {
                    case "ms" -> java.time.Duration.ofMillis(n);
                    case "s" -> java.time.Duration.ofSeconds(n);
                    case "m" -> java.time.Duration.ofMinutes(n);
                    default -> java.time.Duration.ofHours(n);
                };
            }
        } catch (RuntimeException e) {
            // falls through to the error below
        }
        throw new IllegalArgumentException(option + ": '" + text
                + "' is not a duration (90s, 10m, 1h, 600000ms or PT10M)");
    }

    /**
     * Makes {@code engine}'s options default to those in the {@code --config} file named in
     * {@code args}, if any. A key that is no option of the command is an error naming it.
     */
    public static void applyConfigFile(CommandLine engine, String[] args) {
        Path file = null;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--config") && i + 1 < args.length) {
                file = Path.of(args[i + 1]);
            } else if (args[i].startsWith("--config=")) {
                file = Path.of(args[i].substring("--config=".length()));
            }
        }
        if (file == null) {
            return;
        }
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file)) {
            p.load(r);
        } catch (IOException e) {
            throw new CommandLine.ParameterException(engine, "--config " + file + ": cannot read it: " + e.getMessage());
        }
        Set<String> known = new TreeSet<>();
        for (CommandLine.Model.OptionSpec o : engine.getCommandSpec().options()) {
            known.add(o.longestName().replaceFirst("^-+", ""));
        }
        // log-level is read before anything logs, from the command line only.
        known.removeAll(Set.of("help", "version", "config", "log-level"));
        List<String> unknown = new ArrayList<>();
        for (String k : p.stringPropertyNames()) {
            if (!known.contains(k)) {
                unknown.add(k);
            }
        }
        if (!unknown.isEmpty()) {
            throw new CommandLine.ParameterException(engine, "--config " + file + ": unknown key(s) " + unknown
                    + "; the keys are " + known);
        }
        engine.setDefaultValueProvider(new CommandLine.PropertiesDefaultProvider(p));
    }
}
