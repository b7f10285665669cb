package io.panastor.bench;

import io.panastor.api.cli.BdevArgs;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code panastor bench ...}: the load generator, and the benchmark suite's subcommands. */
@Command(name = "bench", mixinStandardHelpOptions = true, subcommands = {BenchCommand.Local.class, ConnectionsBench.class},
        description = {"Run one workload against each TARGET in turn and print their figures side by side, with "
                + "each target's ratio to the first.",
                "A TARGET is nvmf://host[:port]/nqn (through Panastor's initiator; port 8420 when none is given), "
                + "uring:///path, or a file or device path, relative or absolute (io_uring, O_DIRECT)."})
final class BenchCommand implements java.util.concurrent.Callable<Integer> {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @picocli.CommandLine.Parameters(paramLabel = "TARGET", arity = "0..*")
    List<String> targets = new java.util.ArrayList<>();

    @Option(names = "--rw", description = "read, write, randread, randwrite, randrw, rw. Default: ${DEFAULT-VALUE}")
    String rw = "randread";

    @Option(names = "--bs", description = "IO size, e.g. 4k, 128k. Default: ${DEFAULT-VALUE}")
    String bs = "4k";

    @Option(names = "--qd", description = "IOs in flight per job. Default: ${DEFAULT-VALUE}")
    int qd = 32;

    @Option(names = "--jobs", description = "Reactors, each running the workload. Default: ${DEFAULT-VALUE}")
    int jobs = 1;

    @Option(names = "--runtime", description = "Seconds per target. Default: ${DEFAULT-VALUE}")
    int runtime = 10;

    @Option(names = "--ramp", description = "Seconds of warm-up per target, not measured. Default: ${DEFAULT-VALUE}")
    int ramp = 2;

    @Option(names = "--size", description = "Also stop each job after this many bytes, e.g. 1G (default: runtime only)")
    String sizeLimit;

    @Option(names = "--rounds", description = "Run the TARGET list this many times, alternating, and add a summary "
            + "over all rounds (for noisy machines). Default: ${DEFAULT-VALUE}")
    int rounds = 1;

    @Option(names = "--rwmix-read", description = "Percent reads for randrw and rw. Default: ${DEFAULT-VALUE}")
    int rwmixRead = 50;

    @Option(names = "--verify", description = "Write checksummed, generation-stamped blocks and check every read.")
    boolean verify;

    @Option(names = {"-o", "--output"}, description = "table or json. Default: ${DEFAULT-VALUE}")
    String output = "table";

    @Override
    public Integer call() throws Exception {
        if (targets.isEmpty()) {
            spec.commandLine().usage(spec.commandLine().getOut());
            return 0;
        }
        Workload.Mode mode = Workload.Mode.parse(rw);
        long size = Sizes.parse(bs);
        if (size > (1 << 20) || qd < 1 || qd > 1024 || jobs < 1 || runtime < 1 || ramp < 0 || rwmixRead < 0
                || rwmixRead > 100 || !(output.equals("table") || output.equals("json"))) {
            throw new IllegalArgumentException("--bs up to 1M, --qd 1..1024, --jobs >= 1, --runtime >= 1, --ramp >= 0, "
                    + "--rwmix-read 0..100, -o table|json");
        }
        if (jobs > io.panastor.natives.Cpu.allowedCpus().size()) {
            throw new IllegalArgumentException("--jobs " + jobs + " is more than the " + io.panastor.natives.Cpu
                    .allowedCpus().size() + " cores available");
        }
        boolean json = output.equals("json");
        TargetBench bench = new TargetBench(BdevArgs.resolve(targets), new Workload(mode, (int) size, qd, rwmixRead, verify), jobs,
                runtime, ramp, System.out, !json && System.console() != null);
        if (sizeLimit != null) {
            bench.size(Sizes.parse(sizeLimit));
        }
        bench.rounds(rounds);
        var outcomes = bench.run();
        if (json) {
            System.out.println(bench.json(outcomes));
        } else {
            bench.printTable(outcomes);
        }
        return outcomes.stream().anyMatch(o -> o.verifyFailures() > 0) ? 3 : 0;
    }

    /** Options shared by {@code bench local} and {@code demo}. */
    static class LocalOptions {
        @Option(names = "--file", description = "File to benchmark on (made and filled if missing). Default: ${DEFAULT-VALUE}")
        Path file = Path.of(".bench", "panastor-bench.img");

        @Option(names = "--size", description = "Size of the file, e.g. 256M, 1G. Default: ${DEFAULT-VALUE}")
        String size = "1G";

        @Option(names = "--runtime", description = "Seconds per measured run. Default: ${DEFAULT-VALUE}")
        int runtime = 10;

        @Option(names = "--ramp", description = "Seconds of warm-up before each run. Default: ${DEFAULT-VALUE}")
        int ramp = 2;

        @Option(names = "--idle-seconds", description = "Seconds the idle engine is watched. Default: ${DEFAULT-VALUE}")
        int idleSeconds = 10;

        @Option(names = "--steady-seconds", description = "Seconds of the allocation/GC run. Default: ${DEFAULT-VALUE}")
        int steadySeconds = 30;

        @Option(names = "--no-fio", description = "Skip the fio baseline.")
        boolean noFio;

        @Option(names = "--rounds", description = "Rounds per workload, alternating which side runs first. "
                + "Default: ${DEFAULT-VALUE}")
        int rounds = 2;

        @Option(names = "--qd", split = ",", description = "Queue depths to run. Default: ${DEFAULT-VALUE}")
        List<Integer> depths = List.of(1, 32);

        LocalBench.Config config() {
            if (runtime <= 0 || ramp < 0 || rounds <= 0 || idleSeconds <= 0 || steadySeconds <= 0 || depths.isEmpty()
                    || depths.stream().anyMatch(d -> d < 1 || d > 1024)) {
                throw new IllegalArgumentException("--runtime, --rounds, --idle-seconds and --steady-seconds must be positive, "
                        + "--ramp not negative, --qd from 1 to 1024");
            }
            return new LocalBench.Config(file.toAbsolutePath(), Sizes.parse(size), 4096, runtime, ramp, idleSeconds,
                    steadySeconds, !noFio, depths, rounds);
        }
    }

    @Command(name = "local", mixinStandardHelpOptions = true,
            description = "4 KiB random read/write at QD 1 and 32 through the uring bdev on one reactor, "
                    + "fio (io_uring, direct) on the same file alongside; idle CPU and steady-state GC.")
    static final class Local extends LocalOptions implements Callable<Integer> {
        @Override
        public Integer call() throws Exception {
            new LocalBench(config(), System.out).run();
            return 0;
        }
    }
}
