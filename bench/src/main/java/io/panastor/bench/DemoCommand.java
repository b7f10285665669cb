package io.panastor.bench;

import io.panastor.api.cli.BdevArgs;
import io.panastor.natives.Cpu;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code panastor demo}: the seed's experiment on one machine with nothing set up. Two pools
 * (on sparse files in a temporary directory, or on {@code --disk}s), a repl=1 volume (a nexus
 * over a replica in the first) and a repl=2 volume (a nexus over a replica in each), published
 * over NVMe/TCP on 127.0.0.1 by an engine in this process; 4 KiB random reads, writes and a
 * 50/50 mix at QD 32 through Panastor's initiator, and on the first pool's disk through io_uring
 * as the local baseline; then the seed's table with the seed's own figures beside it.
 *
 * <p>The local runs go first, before the pool exists (they write the disk over); then the
 * volumes are made, written whole once (reads of a thick replica's never-written clusters
 * would hit holes) and warmed up. Everything made is destroyed at the end, on failure, and on
 * Ctrl-C (a shutdown hook). Results on stdout, progress on stderr. Control path.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"The seed experiment on one machine: two pools, a repl=1 and a repl=2 volume published over "
                + "NVMe/TCP on 127.0.0.1 by an engine in this process, 4 KiB random read, write and 50/50 at QD 32 "
                + "through Panastor's initiator next to the first pool's disk through io_uring, in the seed's table "
                + "beside the seed's own figures. Everything it makes is removed at the end (and on Ctrl-C)."},
        exitCodeListHeading = "Exit status:%n",
        exitCodeList = {"0:every run succeeded", "1:a run failed, or the volumes could not be made",
                "2:bad options"})
final class DemoCommand implements Callable<Integer> {
    /** The seed's block size and the depth the demo runs at. */
    static final int IO_SIZE = 4096;
    static final int QD = 32;
    /** Largest pool file made in the temporary directory, and the share of its free space each may take. */
    static final long MAX_POOL_FILE = 4L << 30;
    static final long SHORT_POOL_FILE = 256L << 20;
    static final long MIN_POOL_FILE = 64L << 20;
    static final int FREE_SPACE_SHARE = 4;
    /**
     * What {@code --delay} puts in front of each replica: 400 µs a read or write and at most 8 in
     * service per channel, i.e. at most 20k IOPS a child — well below what the disk and the TCP
     * path do here, so the children, not the disk, set the pace, as two devices would.
     */
    static final DemoVolumes.Delay DELAY = new DemoVolumes.Delay(400, 400, 8);

    @Spec
    CommandSpec spec;

    @Option(names = "--disk", paramLabel = "DISK", description = "Put the two pools on these devices or files "
            + "(give it twice) instead of temporary files. They are written over: a disk holding data is refused "
            + "unless --overwrite.")
    List<String> disks = new ArrayList<>();

    @Option(names = "--overwrite", description = "Take --disk devices even if they hold data (a filesystem, a pool).")
    boolean overwrite;

    @Option(names = "--dir", description = "Where the temporary pool files go. Default: ${DEFAULT-VALUE}")
    Path dir = Path.of("/var/tmp");

    @Option(names = "--delay", description = "Make each volume's children delay bdevs over the replicas (equal "
            + "latency, a cap on IOs in service), so the two children on one disk behave as two devices.")
    boolean delay;

    @Option(names = "--keep", description = "Leave the volumes published when done and print how to reach them, "
            + "until Ctrl-C.")
    boolean keep;

    @Option(names = "--short", description = "The CI mode: small pools, 2 s runs, the whole table.")
    boolean shortMode;

    @Option(names = "--runtime", converter = Durations.Converter.class,
            description = "Seconds per measured run. Default: 10 (2 with --short)")
    Integer runtime;

    @Option(names = "--pool-size", converter = Sizes.Converter.class, description = "Size of each temporary pool "
            + "file. Default: a quarter of the directory's free space, at most 4 GiB (256 MiB with --short)")
    Long poolSize;

    @Override
    public Integer call() throws Exception {
        CommandLine cmd = spec.commandLine();
        Options.require(cmd, disks.isEmpty() || disks.size() == 2, "--disk", String.join(",", disks),
                "given twice (one disk for each pool) or not at all");
        int seconds = runtime != null ? runtime : shortMode ? 2 : 10;
        Options.require(cmd, seconds >= 1, "--runtime", seconds + "s", "at least 1s");
        int ramp = shortMode ? 0 : 2;
        int warmUp = shortMode ? 1 : 5;
        Progress progress = Progress.toStderr(true);
        Scratch scratch = new Scratch();
        Thread hook = new Thread(scratch::close, "demo-cleanup");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            List<String> disks = this.disks.isEmpty() ? scratch.files(dir, poolFileSize(cmd), progress)
                    : BdevArgs.resolve(this.disks);
            return run(disks, scratch, seconds, ramp, warmUp, progress);
        } finally {
            scratch.close();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // shutting down already: the hook runs close, which has run
            }
        }
    }

    private long poolFileSize(CommandLine cmd) throws IOException {
        Files.createDirectories(dir);
        long free = Files.getFileStore(dir).getUsableSpace();
        long size = poolSize != null ? poolSize : shortMode ? SHORT_POOL_FILE : Math.min(free / FREE_SPACE_SHARE,
                MAX_POOL_FILE);
        size = size / (1 << 20) * (1 << 20);
        Options.require(cmd, size >= MIN_POOL_FILE, "--pool-size", Sizes.format(size), "at least "
                + Sizes.format(MIN_POOL_FILE) + " (" + dir + " has " + Sizes.format(free) + " free)");
        Options.require(cmd, 2 * size <= free, "--pool-size", Sizes.format(size), "two of them must fit in the "
                + Sizes.format(free) + " free in " + dir);
        return size;
    }

    private int run(List<String> disks, Scratch scratch, int seconds, int ramp, int warmUp, Progress progress)
            throws InterruptedException {
        List<Integer> cores = Cpu.allowedCpus();
        DemoVolumes volumes = DemoVolumes.start(cores.getLast());
        scratch.volumes = volumes;
        if (!scratch.temporary) {
            try {
                volumes.checkDisk("demo-a", disks.get(0), overwrite);
                volumes.checkDisk("demo-b", disks.get(1), overwrite);
            } catch (RuntimeException e) {
                progress.note("demo: " + TargetBench.message(e));
                return BenchCommand.EXIT_FAILED;
            }
        }
        List<Workload> workloads = List.of(new Workload(Workload.Mode.RANDREAD, IO_SIZE, QD, 0, false),
                new Workload(Workload.Mode.RANDWRITE, IO_SIZE, QD, 0, false),
                new Workload(Workload.Mode.RANDRW, IO_SIZE, QD, 50, false));
        Workload warm = new Workload(Workload.Mode.RANDRW, IO_SIZE, QD, 50, false);
        boolean failed = false;
        double[][] iops = new double[workloads.size()][3];
        List<TargetBench.Outcome> details = new ArrayList<>();

        // Local first: these runs write the disk over, so they go before the pool is made on it.
        String local = disks.get(0);
        progress.note("demo: the local baseline, " + local + " through io_uring (" + warmUp
                + " s warm-up, not measured; a sparse file is written whole first)");
        new TargetBench(List.of(local), warm, 1, warmUp, 0, System.out, progress).run();
        for (int i = 0; i < workloads.size(); i++) {
            List<TargetBench.Outcome> o = new TargetBench(List.of(local), workloads.get(i), 1, seconds, ramp,
                    System.out, progress).run();
            failed |= o.getFirst().failed();
            iops[i][0] = value(o.getFirst());
            details.add(o.getFirst());
        }

        List<DemoVolumes.Volume> made;
        try {
            made = volumes.create(disks.get(0), disks.get(1), delay ? DELAY : null);
        } catch (RuntimeException e) {
            progress.note("demo: could not make the volumes: " + TargetBench.message(e));
            return BenchCommand.EXIT_FAILED;
        }
        List<String> targets = made.stream().map(DemoVolumes.Volume::uri).toList();
        for (DemoVolumes.Volume v : made) {
            progress.note("demo: " + v.label() + " volume " + v.uri() + " over " + String.join(", ", v.children()));
        }
        progress.note("demo: writing each volume whole once, then " + warmUp + " s of randrw QD 32 on each "
                + "(not measured)");
        List<TargetBench.Outcome> prep = new TargetBench(targets, warm, 1, warmUp, 0, System.out, progress)
                .prefill(true).run();
        for (TargetBench.Outcome o : prep) {
            if (o.failed()) {
                progress.note("demo: preparing " + o.target() + " failed: " + (o.failure() != null ? o.failure()
                        : o.totals().errors + " IO errors, " + o.totals().stuck + " stuck"));
                failed = true;
            }
        }
        TargetBench last = null;
        for (int i = 0; i < workloads.size(); i++) {
            last = new TargetBench(targets, workloads.get(i), 1, seconds, ramp, System.out, progress);
            List<TargetBench.Outcome> o = last.run();
            for (int v = 0; v < o.size(); v++) {
                failed |= o.get(v).failed();
                iops[i][v + 1] = value(o.get(v));
                details.add(o.get(v));
            }
        }

        System.out.println();
        System.out.printf("Panastor: 4 KiB random IO, QD %d, 1 job, %d s a run; IOPS. Seed: Mayastor 2020, Optane, "
                + "fio 4 KiB QD 64 x 8 jobs.%n", QD, seconds);
        DemoTable.table(iops).print(System.out);
        System.out.println();
        System.out.println(delay
                ? String.format("Both pools share one disk, but each child is a delay bdev (%d us a read, %d us a "
                        + "write, at most %d in service: %,d IOPS a child), so repl=2 reads can use both children and "
                        + "writes wait for both.", DELAY.readAvgUs(), DELAY.writeAvgUs(), DELAY.maxInflight(),
                        DELAY.capIops(DELAY.readAvgUs()))
                : "Both pools are on one disk here: repl=2 writes hit it twice and its reads cannot double "
                        + "(the seed had a device per replica); try --delay.");
        System.out.println();
        System.out.println("Each run (ratio: to local):");
        Table runs = last.table(List.of("workload"), false);
        double[] bases = new double[details.size()];
        List<String> names = List.of("read", "write", "50/50");
        for (int i = 0; i < workloads.size(); i++) {
            List<TargetBench.Outcome> row = List.of(details.get(i), details.get(workloads.size() + 2 * i),
                    details.get(workloads.size() + 2 * i + 1));
            double[] b = {iops[i][0], iops[i][0], iops[i][0]};
            last.addRows(runs, row, b, List.of(names.get(i)), false);
        }
        runs.print(System.out);
        if (keep && !failed) {
            System.out.println();
            System.out.println("The volumes stay published until Ctrl-C:");
            for (DemoVolumes.Volume v : made) {
                System.out.printf("  %s: %s%n    nvme connect -t tcp -a 127.0.0.1 -s %d -n %s%n    ./panastor bench "
                        + "--rw randread %s%n", v.label(), v.uri(), v.port(), v.nqn(), v.uri());
            }
            System.out.flush();
            Thread.currentThread().join();
        }
        return failed ? BenchCommand.EXIT_FAILED : 0;
    }

    /** A run's IOPS, NaN when it failed. */
    private static double value(TargetBench.Outcome o) {
        return o.failed() ? Double.NaN : o.iops();
    }

    /** What the demo made, taken down once: the volumes and their engine, then the temporary files. */
    private static final class Scratch {
        volatile DemoVolumes volumes;
        Path tempDir;
        boolean temporary;
        private boolean closed;

        /** Two sparse files of {@code size} in a new directory under {@code parent}. */
        List<String> files(Path parent, long size, Progress progress) throws IOException {
            tempDir = Files.createTempDirectory(parent, "panastor-demo-");
            temporary = true;
            List<String> files = new ArrayList<>();
            for (String n : List.of("pool-a.img", "pool-b.img")) {
                Path f = tempDir.resolve(n);
                try (RandomAccessFile raf = new RandomAccessFile(Files.createFile(f).toFile(), "rw")) {
                    raf.setLength(size);
                }
                files.add(f.toString());
            }
            progress.note("demo: two pool files of " + Sizes.format(size) + " in " + tempDir);
            return files;
        }

        synchronized void close() {
            if (closed) {
                return;
            }
            closed = true;
            if (volumes != null) {
                volumes.close();
            }
            if (tempDir != null) {
                try (Stream<Path> s = Files.walk(tempDir)) {
                    s.sorted(Comparator.reverseOrder()).forEach(p -> {
                        try {
                            Files.delete(p);
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    });
                } catch (IOException | UncheckedIOException e) {
                    System.err.println("demo: could not remove " + tempDir + ": " + e.getMessage());
                }
            }
        }
    }
}
