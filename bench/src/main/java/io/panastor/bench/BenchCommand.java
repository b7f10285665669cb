package io.panastor.bench;

import io.panastor.api.cli.BdevArgs;
import io.panastor.engine.bdev.BdevUri;
import io.panastor.engine.nvmf.host.NvmfUri;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code panastor bench ...}: the load generator, and the benchmark suite's subcommands. */
@Command(name = "bench", mixinStandardHelpOptions = true, subcommands = {BenchCommand.Local.class, ConnectionsBench.class, PoolsBench.class, RebuildBench.class},
        description = {"Run one workload against each TARGET in turn and print their figures side by side, with "
                + "each target's ratio to the first.",
                "A TARGET is nvmf://host[:port]/nqn (through Panastor's initiator; port 4420 when none is given), "
                + "uring:///path, or a file or device path, relative or absolute (io_uring, O_DIRECT)."},
        exitCodeListHeading = "Exit status:%n",
        exitCodeList = {"0:every IO succeeded", "1:an IO failed or hung, or a target could not be attached",
                "2:bad options or no TARGET", "3:a block read back wrong (--verify)"})
final class BenchCommand implements Callable<Integer> {
    /** A run in which an IO failed or hung, or a target could not be attached. */
    static final int EXIT_FAILED = 1;
    /** A run that read a block back wrong. */
    static final int EXIT_VERIFY_FAILED = 3;

    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "TARGET", arity = "0..*")
    List<String> targets = new ArrayList<>();

    @Option(names = "--rw", converter = ModeConverter.class,
            description = "read, write, randread, randwrite, randrw, rw. Default: randread")
    Workload.Mode rw = Workload.Mode.RANDREAD;

    @Option(names = "--bs", converter = Sizes.Converter.class, description = "IO size, e.g. 4k, 128KiB. Default: 4k")
    long bs = 4096;

    @Option(names = "--qd", description = "IOs in flight per job, 1 to 1024. Default: ${DEFAULT-VALUE}")
    int qd = 32;

    @Option(names = "--jobs", description = "Reactors, each running the workload. Default: ${DEFAULT-VALUE}")
    int jobs = 1;

    @Option(names = "--runtime", converter = Durations.Converter.class,
            description = "Time per target, e.g. 10, 30s, 2m. Default: 10s")
    int runtime = 10;

    @Option(names = "--ramp", converter = Durations.Converter.class,
            description = "Warm-up per target, not measured (0 for none). Default: 2s")
    int ramp = 2;

    @Option(names = "--size", converter = Sizes.Converter.class,
            description = "Also stop each job after this many bytes, e.g. 1G, 512MiB (default: runtime only)")
    long sizeLimit;

    @Option(names = "--rounds", description = "Run the TARGET list this many times, alternating, and add a summary "
            + "over all rounds (for noisy machines). Default: ${DEFAULT-VALUE}")
    int rounds = 1;

    @Option(names = "--rwmix-read", description = "Percent reads for randrw and rw, 0 to 100. Default: ${DEFAULT-VALUE}")
    int rwmixRead = 50;

    @Option(names = "--verify", description = "Write checksummed, generation-stamped blocks and check every read "
            + "(read modes write the target once first; write-only modes are refused: they read nothing back).")
    boolean verify;

    @Option(names = "--prefill", description = "Write every TARGET whole once before reading it (a volume over "
            + "thick replicas on a sparse file reads holes until written; files that are sparse are filled anyway).")
    boolean prefill;

    @Option(names = {"-o", "--output"}, description = "table or json. Default: ${DEFAULT-VALUE}")
    Output output = Output.table;

    /** How results are printed. */
    enum Output {
        table, json
    }

    @Override
    public Integer call() throws Exception {
        check();
        boolean json = output == Output.json;
        Progress progress = Progress.toStderr(!json);
        TargetBench bench = new TargetBench(targets, new Workload(rw, (int) bs, qd, rwmixRead, verify), jobs, runtime,
                ramp, System.out, progress).size(sizeLimit).rounds(rounds).prefill(prefill);
        List<TargetBench.Outcome> outcomes = bench.run();
        if (json) {
            System.out.println(bench.json(outcomes));
        } else {
            bench.printTable(outcomes);
        }
        long failed = outcomes.stream().filter(TargetBench.Outcome::failed).count();
        if (failed == 0) {
            return 0;
        }
        progress.note("bench: " + failed + " of " + outcomes.size() + " runs failed (see "
                + (json ? "\"failure\", \"errors\", \"stuck\" and \"verify_failures\"" : "the notes under the table")
                + ")");
        return outcomes.stream().anyMatch(o -> o.totals().verifyFailures > 0) ? EXIT_VERIFY_FAILED : EXIT_FAILED;
    }

    /** Each option's value against its range, naming the option and the value that is wrong. */
    private void check() {
        if (targets.isEmpty()) {
            throw new ParameterException(spec.commandLine(), "no TARGET given: name one or more, e.g. "
                    + "nvmf://127.0.0.1:4420/nqn.2026-11.io.panastor:serve or /var/tmp/disk.img");
        }
        CommandLine cmd = spec.commandLine();
        targets = resolve(cmd, targets);
        Options.require(cmd, bs <= 1 << 20, "--bs", Sizes.format(bs), "at most 1 MiB");
        Options.require(cmd, qd >= 1 && qd <= 1024, "--qd", qd, "from 1 to 1024");
        int cores = io.panastor.natives.Cpu.allowedCpus().size();
        Options.require(cmd, jobs >= 1 && jobs <= cores, "--jobs", jobs, "from 1 to " + cores
                + " (the cores this process may use)");
        Options.require(cmd, runtime >= 1, "--runtime", runtime + "s", "at least 1s");
        Options.require(cmd, rounds >= 1, "--rounds", rounds, "at least 1");
        Options.require(cmd, rwmixRead >= 0 && rwmixRead <= 100, "--rwmix-read", rwmixRead, "from 0 to 100");
        if (verify && rw.readPercent(rwmixRead) == 0) {
            throw new ParameterException(spec.commandLine(), "--verify with --rw " + rw.fioName()
                    + (rw.reads ? " --rwmix-read 0" : "") + " would check nothing: it reads nothing back. Use --rw "
                    + "randrw or rw to write and read, or read/randread to check what a first pass writes");
        }
        if (verify && jobs > 1) {
            throw new ParameterException(spec.commandLine(), "--verify with --jobs " + jobs + ": jobs would overwrite "
                    + "each other's blocks and report them as stale; verify with --jobs 1");
        }
    }

    /**
     * The TARGETs as the engine takes them (relative paths made absolute), each checked before
     * anything runs, so that a typo in the third target does not wait for the first two.
     */
    static List<String> resolve(CommandLine cmd, List<String> targets) {
        List<String> resolved = BdevArgs.resolve(targets);
        for (String t : resolved) {
            try {
                BdevUri uri = BdevUri.parse(t);
                if (uri.scheme().startsWith("nvmf")) {
                    NvmfUri.of(uri);
                }
            } catch (RuntimeException e) {
                throw new ParameterException(cmd, "TARGET " + t + ": " + e.getMessage());
            }
        }
        return resolved;
    }

    /** {@code --rw} by fio's name. */
    static final class ModeConverter extends Options.Parsed<Workload.Mode> {
        @Override
        Workload.Mode parse(String value) {
            return Workload.Mode.parse(value);
        }
    }

    /** Options shared by {@code bench local} and {@code demo}. */
    static class LocalOptions {
        @Spec
        CommandSpec spec;

        @Option(names = "--file", description = "File to benchmark on (made and filled if missing). Default: ${DEFAULT-VALUE}")
        Path file = Path.of(".bench", "panastor-bench.img");

        @Option(names = "--size", converter = Sizes.Converter.class,
                description = "Size of the file, e.g. 256M, 1GiB. Default: ${DEFAULT-VALUE} bytes")
        long size = 1L << 30;

        @Option(names = "--runtime", converter = Durations.Converter.class,
                description = "Seconds per measured run. Default: ${DEFAULT-VALUE}")
        int runtime = 10;

        @Option(names = "--ramp", converter = Durations.Converter.class,
                description = "Seconds of warm-up before each run. Default: ${DEFAULT-VALUE}")
        int ramp = 2;

        @Option(names = "--idle-seconds", converter = Durations.Converter.class,
                description = "Seconds the idle engine is watched. Default: ${DEFAULT-VALUE}")
        int idleSeconds = 10;

        @Option(names = "--steady-seconds", converter = Durations.Converter.class,
                description = "Seconds of the allocation/GC run. Default: ${DEFAULT-VALUE}")
        int steadySeconds = 30;

        @Option(names = "--no-fio", description = "Skip the fio baseline.")
        boolean noFio;

        @Option(names = "--rounds", description = "Rounds per workload, alternating which side runs first. "
                + "Default: ${DEFAULT-VALUE}")
        int rounds = 2;

        @Option(names = "--qd", split = ",", description = "Queue depths to run. Default: ${DEFAULT-VALUE}")
        List<Integer> depths = List.of(1, 32);

        LocalBench.Config config() {
            CommandLine cmd = spec.commandLine();
            Options.require(cmd, runtime > 0, "--runtime", runtime, "at least 1");
            Options.require(cmd, ramp >= 0, "--ramp", ramp, "0 or more");
            Options.require(cmd, rounds > 0, "--rounds", rounds, "at least 1");
            Options.require(cmd, idleSeconds > 0, "--idle-seconds", idleSeconds, "at least 1");
            Options.require(cmd, steadySeconds > 0, "--steady-seconds", steadySeconds, "at least 1");
            Options.require(cmd, !depths.isEmpty(), "--qd", "(none)", "one or more depths");
            for (int d : depths) {
                Options.require(cmd, d >= 1 && d <= 1024, "--qd", d, "from 1 to 1024");
            }
            return new LocalBench.Config(file.toAbsolutePath(), size, 4096, runtime, ramp, idleSeconds,
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
