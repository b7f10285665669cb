package io.panastor.api.serve;

import io.panastor.api.cli.BdevArgs;
import io.panastor.engine.Engine;
import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.Bdevs;
import io.panastor.engine.nvmf.tgt.NvmfTarget;
import io.panastor.natives.Cpu;
import io.panastor.natives.OpenFileLimit;
import io.panastor.natives.Signals;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import sun.misc.Signal;

/**
 * {@code panastor serve URI...}: exports bdevs as the namespaces of one NVMe/TCP subsystem
 * until SIGINT or SIGTERM, then closes every connection and exits 0.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Export bdevs (files, block devices, malloc:///...) over NVMe/TCP until interrupted.")
public final class ServeCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(ServeCommand.class);
    public static final String DEFAULT_NQN = "nqn.2026-11.io.panastor:serve";
    /** Descriptors a JVM and an engine use beside connections (jars, rings, eventfds, listeners). */
    static final long FILES_RESERVED = 256;
    /** Below room for this many connections the limit is worth a warning. */
    static final long MIN_CONNECTIONS = 1024;

    @Parameters(arity = "1..*", paramLabel = "URI",
            description = "Bdevs to export, in NSID order: malloc:///m0?size_mb=256, uring:///path, /dev/sdX, a file, "
                    + "or replica:///path[?thin=true&size=1GiB&cluster_size=4MiB] (a scratch pool on that file, "
                    + "written over, with one replica).")
    List<String> uris = new ArrayList<>();

    @Option(names = "--listen", description = "Address to listen on, ip:port. Default: ${DEFAULT-VALUE}")
    String listen = "127.0.0.1:4420";

    @Option(names = "--nqn", description = "Subsystem NQN. Default: ${DEFAULT-VALUE}")
    String nqn = DEFAULT_NQN;

    @Option(names = "--cores", split = ",", description = "Cores to run reactors on. Default: every core available")
    List<Integer> cores;

    @Option(names = "--allow-host", description = "Host NQN allowed to connect (repeatable). Default: any host")
    List<String> hosts = new ArrayList<>();

    @Option(names = "--serial", description = "Serial number. Default: ${DEFAULT-VALUE}")
    String serial = "PANASTOR0001";

    @Option(names = "--model", description = "Model number. Default: ${DEFAULT-VALUE}")
    String model = "Panastor NVMe/TCP";

    @Override
    public Integer call() throws Exception {
        InetSocketAddress listenAddress = parseAddress(listen);
        CountDownLatch stop = new CountDownLatch(1);
        // Started in the background by a script, the process inherits SIGINT ignored, and the
        // JVM would then install no handler (Signal.handle quietly does nothing): undo that first.
        for (int sig : new int[] {Signals.SIGINT, Signals.SIGTERM}) {
            if (Signals.unignore(sig)) {
                LOG.debug("signal {} was ignored (a background job): default action restored", sig);
            }
        }
        Signal.handle(new Signal("INT"), s -> stop.countDown());
        Signal.handle(new Signal("TERM"), s -> stop.countDown());
        OpenFileLimit files = OpenFileLimit.raiseToHard();
        LOG.info("open-file limit {} (hard limit {}): about {} connections", files.soft(), files.hard(),
                files.soft() == -1 ? "unlimited" : Math.max(0, files.soft() - FILES_RESERVED));
        if (!files.allows(MIN_CONNECTIONS, FILES_RESERVED)) {
            LOG.warn("open-file limit {} leaves room for fewer than {} connections: raise the hard limit "
                    + "(ulimit -Hn, or LimitNOFILE= in a systemd unit)", files.soft(), MIN_CONNECTIONS);
        }
        try (Engine engine = Engine.start(cores == null ? Cpu.allowedCpus() : cores)) {
            Engine.await(engine.createSubsystem(nqn, serial, model, hosts.isEmpty(), hosts));
            java.util.List<io.panastor.engine.ScratchReplica> scratch = new java.util.ArrayList<>();
            for (String uri : uris) {
                Bdev b;
                if (io.panastor.engine.ScratchReplica.is(uri)) {
                    io.panastor.engine.ScratchReplica r = io.panastor.engine.ScratchReplica.open(engine, uri);
                    scratch.add(r);
                    b = r.bdev();
                } else {
                    b = Engine.await(engine.createBdev(BdevArgs.resolve(uri)));
                }
                var ns = Engine.await(engine.addNamespace(nqn, b.name(), 0));
                LOG.info("namespace {}: {} ({} blocks of {} B)", ns.nsid(), b.name(), b.blockCount(), b.blockSize());
            }
            InetSocketAddress bound = Engine.await(engine.addListener(listenAddress.getHostString(),
                    listenAddress.getPort()));
            System.out.println("nvmf://" + bound.getAddress().getHostAddress() + ":" + bound.getPort() + "/" + nqn);
            System.out.flush();
            stop.await();
            NvmfTarget target = engine.target();
            LOG.info("stopping: closing {} connections", target.connections().size());
            target.close();
            LOG.info("stopped: {} connections left open", target.connections().size());
            // scratch pools are exported with the engine; the next run on that file starts afresh
        }
        return 0;
    }

    static InetSocketAddress parseAddress(String text) {
        int colon = text.lastIndexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            throw new IllegalArgumentException("--listen takes ip:port, got '" + text + "'");
        }
        try {
            int port = Integer.parseInt(text.substring(colon + 1));
            if (port < 0 || port > 65535) {
                throw new NumberFormatException();
            }
            return InetSocketAddress.createUnresolved(text.substring(0, colon), port);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--listen: bad port in '" + text + "'");
        }
    }
}
