package io.panastor.bench;

import io.panastor.engine.Engine;
import io.panastor.engine.bdev.Bdev;
import io.panastor.natives.BlockFile;
import io.panastor.natives.BufferPool;
import io.panastor.natives.Cpu;
import io.panastor.reactor.Reactor;
import io.panastor.reactor.Reactors;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * The foundation's benchmark: 4 KiB random reads and writes at QD 1 and 32 through the
 * uring bdev on one reactor, each followed by fio's io_uring engine on the same file with
 * the same settings, pinned to the same core; then the CPU an idle two-reactor engine
 * burns, and the garbage collections and reactor allocations of a steady-state run.
 * Control path; prints as it goes.
 */
final class LocalBench {
    /** What to run. */
    record Config(Path file, long fileSize, int blockSize, int runtimeSeconds, int rampSeconds, int idleSeconds,
                  int steadySeconds, boolean withFio, List<Integer> depths, int rounds) {
    }

    /** One workload, measured by us and by fio. */
    record Row(String rw, int depth, double iops, double meanNanos, double p99Nanos, double fioIops,
               double fioMeanNanos, double fioP99Nanos) {
        double ratio() {
            return fioIops > 0 ? iops / fioIops : Double.NaN;
        }
    }

    /** Everything one invocation measured. */
    record Report(List<Row> rows, double idleReactorCorePercent, double idleProcessCorePercent,
                  long steadyGcs, long steadyAllocatedBytes, long steadyIos, double steadyIops) {
    }

    private final Config config;
    private final PrintStream out;

    LocalBench(Config config, PrintStream out) {
        this.config = config;
        this.out = out;
    }

    Report run() throws Exception {
        prepareFile();
        int cpu = Cpu.allowedCpus().getFirst();
        Path fio = config.withFio ? Fio.find() : null;
        out.printf("Panastor local benchmark: uring bdev on 1 reactor (core %d) vs fio io_uring --direct=1 on the same "
                        + "core%n  file %s (%s), %d B random IO, %d s per run after %d s ramp, mean of %d alternating "
                        + "rounds%n", cpu, config.file, Sizes.format(config.fileSize), config.blockSize,
                config.runtimeSeconds, config.rampSeconds, config.rounds);
        if (config.withFio && fio == null) {
            out.println("  fio is not installed (apt-get install fio): the baseline columns stay empty");
        }
        List<Row> rows = new ArrayList<>();
        long steadyGcs;
        long steadyAllocated;
        BdevLoad.Result steady;
        try (Engine engine = Engine.start(List.of(cpu))) {
            Reactors reactors = engine.reactors();
            Bdev bdev = Engine.await(engine.createBdev("uring://" + config.file));
            Reactor reactor = reactors.get(0);
            try {
                for (String rw : List.of("randread", "randwrite")) {
                    for (int depth : config.depths) {
                        boolean write = rw.equals("randwrite");
                        // Rounds alternate who goes first, so that drift in the device or the
                        // host favours neither side.
                        Side ours = new Side();
                        Side base = new Side();
                        for (int round = 0; round < config.rounds; round++) {
                            if (round % 2 == 0) {
                                ours.add(runOurs(bdev, reactor, write, depth));
                                base.add(runFio(fio, rw, write, depth, cpu));
                            } else {
                                base.add(runFio(fio, rw, write, depth, cpu));
                                ours.add(runOurs(bdev, reactor, write, depth));
                            }
                        }
                        rows.add(new Row(rw, depth, ours.iops / config.rounds, ours.mean / config.rounds,
                                ours.p99 / config.rounds, base.iops / config.rounds, base.mean / config.rounds,
                                base.p99 / config.rounds));
                        if (ours.errors > 0) {
                            out.printf("  %s QD %d: %d IO errors%n", rw, depth, ours.errors);
                        }
                    }
                }
                printTable(rows);
                // Steady state: does the IO path allocate or collect?
                measure(bdev, reactor, false, 32, config.rampSeconds);
                long gcBefore = gcCount();
                long allocBefore = allocatedBytes(reactor);
                steady = measure(bdev, reactor, false, 32, config.steadySeconds);
                steadyAllocated = allocatedBytes(reactor) - allocBefore;
                steadyGcs = gcCount() - gcBefore;
                out.printf("%nsteady state (randread QD 32, %d s, %.0f IOPS): %d garbage collections, reactor thread "
                                + "allocated %d bytes (%.3f B per IO)%n", config.steadySeconds, steady.iops(), steadyGcs,
                        steadyAllocated, steadyAllocated / (double) Math.max(1, steady.ios()));
            } finally {
                Engine.await(engine.destroyBdev(bdev.name()));
            }
        }
        double[] idle = measureIdle();
        out.printf("idle engine (2 reactors, %d s): reactor threads %.2f %% of one core, whole JVM %.2f %%%n",
                config.idleSeconds, idle[0], idle[1]);
        return new Report(rows, idle[0], idle[1], steadyGcs, steadyAllocated, steady.ios(), steady.iops());
    }

    /** Sums of one side's figures over the rounds. */
    private static final class Side {
        double iops;
        double mean;
        double p99;
        long errors;

        void add(Fio.Result r) {
            iops += r.iops();
            mean += r.meanLatencyNanos();
            p99 += r.p99LatencyNanos();
        }

        void add(BdevLoad.Result r) {
            iops += r.iops();
            mean += r.latencyNanos().getMean();
            p99 += r.latencyNanos().getValueAtPercentile(99);
            errors += r.errors();
        }
    }

    private BdevLoad.Result runOurs(Bdev bdev, Reactor reactor, boolean write, int depth) {
        measure(bdev, reactor, write, depth, config.rampSeconds);
        return measure(bdev, reactor, write, depth, config.runtimeSeconds);
    }

    private Fio.Result runFio(Path fio, String rw, boolean write, int depth, int cpu) throws Exception {
        if (fio == null) {
            return new Fio.Result(0, 0, 0);
        }
        return Fio.run(Fio.command(fio, config.file, rw, config.blockSize, depth, config.runtimeSeconds,
                config.rampSeconds, cpu), write);
    }

    private BdevLoad.Result measure(Bdev bdev, Reactor reactor, boolean write, int depth, int seconds) {
        return BdevLoad.run(bdev, reactor, write, depth, config.blockSize, TimeUnit.SECONDS.toNanos(seconds)).join();
    }

    private void printTable(List<Row> rows) {
        out.printf("%n%-10s %4s %14s %14s %7s %22s %22s%n", "workload", "QD", "Panastor IOPS", "fio IOPS", "ratio",
                "Panastor mean/p99 us", "fio mean/p99 us");
        for (Row r : rows) {
            out.printf("%-10s %4d %14.0f %14.0f %7.3f %10.1f / %9.1f %10.1f / %9.1f%n", r.rw, r.depth, r.iops,
                    r.fioIops, r.ratio(), r.meanNanos / 1e3, r.p99Nanos / 1e3, r.fioMeanNanos / 1e3,
                    r.fioP99Nanos / 1e3);
        }
    }

    /** {reactor threads' CPU, whole process CPU} as percent of one core while two reactors idle. */
    private double[] measureIdle() throws InterruptedException {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        try (Engine engine = Engine.start(Reactors.builder().count(2))) {
            Reactors reactors = engine.reactors();
            Thread.sleep(1000);
            long[] before = new long[reactors.size()];
            for (int i = 0; i < reactors.size(); i++) {
                before[i] = threads.getThreadCpuTime(reactors.get(i).thread().threadId());
            }
            long processBefore = os.getProcessCpuTime();
            long wallBefore = System.nanoTime();
            Thread.sleep(TimeUnit.SECONDS.toMillis(config.idleSeconds));
            long wall = System.nanoTime() - wallBefore;
            long reactorCpu = 0;
            for (int i = 0; i < reactors.size(); i++) {
                reactorCpu += threads.getThreadCpuTime(reactors.get(i).thread().threadId()) - before[i];
            }
            long processCpu = os.getProcessCpuTime() - processBefore;
            return new double[] {100.0 * reactorCpu / wall, 100.0 * processCpu / wall};
        }
    }

    private static long gcCount() {
        long n = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            n += Math.max(0, gc.getCollectionCount());
        }
        return n;
    }

    private static long allocatedBytes(Reactor reactor) {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        return threads.getThreadAllocatedBytes(reactor.thread().threadId());
    }

    /** Makes the file at its size and writes every block, so reads hit real data, not holes. */
    private void prepareFile() throws Exception {
        Path f = config.file;
        if (Files.isRegularFile(f) && Files.size(f) == config.fileSize) {
            return;
        }
        if (f.getParent() != null) {
            Files.createDirectories(f.getParent());
        }
        System.err.printf("preparing %s (%s of data)...%n", f, Sizes.format(config.fileSize));
        BlockFile.createFile(f, config.fileSize);
        long chunk = 4L << 20;
        try (BlockFile bf = BlockFile.open(f); Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(chunk, BufferPool.ALIGNMENT);
            Random rnd = new Random(7);
            for (long off = 0; off < config.fileSize; off += chunk) {
                long n = Math.min(chunk, config.fileSize - off);
                for (long i = 0; i < n; i += 8) {
                    buf.set(java.lang.foreign.ValueLayout.JAVA_LONG, i, rnd.nextLong());
                }
                bf.pwrite(buf.asSlice(0, n), off);
            }
            bf.fdatasync();
        }
    }
}
