package io.panastor.bench;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code panastor bench ...}: the benchmark suite. */
@Command(name = "bench", description = "Measure Panastor's data path against a baseline run in the same invocation.",
        subcommands = BenchCommand.Local.class, mixinStandardHelpOptions = true)
final class BenchCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
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
