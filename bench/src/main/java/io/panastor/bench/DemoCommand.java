package io.panastor.bench;

import io.panastor.engine.Engine;
import io.panastor.natives.Cpu;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** {@code panastor demo}: what exists so far, shown on one machine. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"The seed experiment on one machine: a file read and written through Panastor's io_uring",
                "data path next to fio, then the same file served over NVMe/TCP on 127.0.0.1 and measured",
                "through Panastor's initiator, side by side."})
final class DemoCommand extends BenchCommand.LocalOptions implements Callable<Integer> {
    static final String NQN = "nqn.2026-11.io.panastor:demo";
    /** Unmeasured load on every target before the first measured run. */
    static final int WARM_UP_SECONDS = 3;

    DemoCommand() {
        size = 256L << 20;
        runtime = 3;
        ramp = 1;
        idleSeconds = 3;
        steadySeconds = 5;
        rounds = 1;
    }

    @Override
    public Integer call() throws Exception {
        System.out.println("Panastor demo 1/2: the data plane's floor (reactors, io_uring, bdevs), measured against fio.");
        System.out.println();
        LocalBench.Config config = config();
        new LocalBench(config, System.out).run();

        System.out.println();
        System.out.println("Panastor demo 2/2: the same file over NVMe/TCP (target and initiator in this process, "
                + "127.0.0.1), next to the local file.");
        List<Integer> cores = Cpu.allowedCpus();
        try (Engine engine = Engine.start(List.of(cores.getLast()))) {
            Engine.await(engine.createBdev("uring://" + config.file()));
            Engine.await(engine.createSubsystem(NQN, "PANASTOR-DEMO", "Panastor demo", true, List.of()));
            Engine.await(engine.addNamespace(NQN, config.file().toString(), 1));
            InetSocketAddress at = Engine.await(engine.addListener("127.0.0.1", 0));
            String remote = "nvmf://127.0.0.1:" + at.getPort() + "/" + NQN;
            List<String> targets = List.of(config.file().toString(), remote);
            Progress progress = Progress.toStderr(true);
            // A cold JVM has compiled neither side of the TCP path yet: unmeasured, both directions, every target.
            progress.note("demo: warming up each target (" + WARM_UP_SECONDS + " s of randrw QD 32, not measured)");
            new TargetBench(targets, new Workload(Workload.Mode.RANDRW, 4096, 32, 50, false), 1, WARM_UP_SECONDS, 0,
                    System.out, progress).run();
            Table table = null;
            boolean failed = false;
            for (Workload.Mode mode : List.of(Workload.Mode.RANDREAD, Workload.Mode.RANDWRITE)) {
                for (int qd : List.of(1, 32)) {
                    TargetBench b = new TargetBench(targets, new Workload(mode, 4096, qd, 0, false), 1,
                            config.runtimeSeconds(), config.rampSeconds(), System.out, progress);
                    List<TargetBench.Outcome> outcomes = b.run();
                    failed |= outcomes.stream().anyMatch(TargetBench.Outcome::failed);
                    if (table == null) {
                        table = b.table(List.of("workload", "QD"), false);
                    }
                    b.addRows(table, outcomes, TargetBench.bases(outcomes), List.of(mode.fioName(), Integer.toString(qd)),
                            false);
                }
            }
            System.out.println();
            System.out.printf("4 KiB, 1 job, %d s per run after %d s ramp; ratio: to the local file%n",
                    config.runtimeSeconds(), config.rampSeconds());
            table.print(System.out);
            if (failed) {
                return BenchCommand.EXIT_FAILED;
            }
        }
        System.out.println();
        System.out.println("Serve a file yourself: ./panastor serve FILE --listen 127.0.0.1:4420; measure it: "
                + "./panastor bench FILE nvmf://127.0.0.1:4420/nqn.2026-11.io.panastor:serve");
        return 0;
    }
}
