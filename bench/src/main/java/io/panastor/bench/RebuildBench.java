package io.panastor.bench;

import io.panastor.engine.Engine;
import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BlockPattern;
import io.panastor.engine.lvs.PoolSpec;
import io.panastor.engine.lvs.ReplicaInfo;
import io.panastor.engine.nexus.ChildAction;
import io.panastor.engine.nexus.ChildInfo;
import io.panastor.engine.nexus.NexusSpec;
import io.panastor.engine.rebuild.RebuildState;
import io.panastor.engine.rebuild.RebuildStats;
import io.panastor.reactor.Reactors;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code panastor bench rebuild}: what a rebuild costs and how fast it goes, measured side by
 * side in one engine (two reactors) over two thick replicas on two pools on scratch files
 * (O_DIRECT): the source's sequential read at the rebuild's own IO size and depth; a full
 * rebuild with no user IO; user random reads and writes on the nexus without a rebuild and
 * during one; and partial rebuilds after 1 % of the volume was written while the child was
 * offline (in segment-sized chunks, and as random 4 KiB blocks), against the full one. After
 * every rebuild both replicas are read back and compared; a difference fails the run (exit 1).
 */
@Command(name = "rebuild", mixinStandardHelpOptions = true,
        description = {"Measure rebuilds: full rate vs the source's sequential read, user IOPS during a rebuild vs "
                + "without, partial (1 %% written) vs full time. Two thick replicas on scratch files in --dir.",
                "Results to stdout, progress to stderr. Exit 1 if the children differ after a rebuild."})
final class RebuildBench implements Callable<Integer> {
    private static final int BLOCK = 4096;
    /** A load bounded by its size alone (an hour at most). */
    private static final long UNBOUNDED = 3_600_000_000_000L;

    @Option(names = "--size", converter = Sizes.Converter.class, description = "The volume's size. Default: 1 GiB")
    long size = 1L << 30;

    @Option(names = "--dir", description = "Where the two scratch pool files go (removed after). Default: ${DEFAULT-VALUE}")
    Path dir = Path.of("/var/tmp");

    @Option(names = "--duration", description = "Seconds of each user load. Default: ${DEFAULT-VALUE}")
    double duration = 3;

    @Option(names = "--segment", converter = Sizes.Converter.class, description = "Rebuild segment. Default: 128 KiB")
    long segment = io.panastor.engine.rebuild.RebuildJob.DEFAULT_SEGMENT_BYTES;

    @Option(names = "--tasks", description = "Segments a rebuild keeps in flight. Default: ${DEFAULT-VALUE}")
    int tasks = io.panastor.engine.rebuild.RebuildJob.DEFAULT_TASKS;

    @Option(names = "--depth", description = "The user load's queue depth. Default: ${DEFAULT-VALUE}")
    int depth = 16;

    @Option(names = "--memory", description = "Pools on RAM disks (malloc) instead of files: the rebuild's own cost, "
            + "with no disk shared by its reads and writes")
    boolean memory;

    @Spec
    CommandSpec spec;

    private final Progress progress = Progress.toStderr(false);
    private Engine engine;
    private String nexus;
    private String source;
    private String dest;
    private String destUri;
    private boolean differed;

    @Override
    public Integer call() throws Exception {
        Options.require(spec.commandLine(), size >= (16L << 20) && size % (1L << 20) == 0, "--size", size,
                "a whole number of MiB, at least 16 MiB");
        Options.require(spec.commandLine(), Long.bitCount(segment) == 1 && segment >= BLOCK, "--segment", segment,
                "a power of two, at least 4 KiB");
        Options.require(spec.commandLine(), tasks >= 1, "--tasks", tasks, "at least 1");
        Options.require(spec.commandLine(), duration > 0, "--duration", duration, "above 0");
        Path a = dir.resolve("panastor-rebuild-bench-a-" + ProcessHandle.current().pid() + ".img");
        Path b = dir.resolve("panastor-rebuild-bench-b-" + ProcessHandle.current().pid() + ".img");
        try {
            for (Path p : List.of(a, b)) {
                try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
                    f.setLength(size + (64L << 20));
                }
            }
            engine = Engine.start(Reactors.builder().count(2).pin(false));
            try {
                return run(a, b);
            } catch (RuntimeException e) {
                System.err.println("bench rebuild: " + e.getMessage());
                return BenchCommand.EXIT_FAILED;
            } finally {
                engine.close();
            }
        } finally {
            Files.deleteIfExists(a);
            Files.deleteIfExists(b);
        }
    }

    private int run(Path a, Path b) throws Exception {
        engine.rebuildSegments(segment, tasks);
        long disk = size + (64L << 20);
        String da = memory ? "malloc:///rb-da?size=" + disk + "&blk_size=4096" : "uring://" + a + "?blk_size=4096";
        String db = memory ? "malloc:///rb-db?size=" + disk + "&blk_size=4096" : "uring://" + b + "?blk_size=4096";
        Engine.await(engine.createPool(new PoolSpec("rb-a", null, da, 0, true)));
        Engine.await(engine.createPool(new PoolSpec("rb-b", null, db, 0, true)));
        ReplicaInfo ra = Engine.await(engine.createReplica("rb-a", "rb-src", null, size, false, null));
        ReplicaInfo rb = Engine.await(engine.createReplica("rb-b", "rb-dst", null, size, false, null));
        source = ra.bdevName();
        dest = rb.bdevName();
        destUri = "bdev:///" + dest;
        Bdev src = engine.bdevs().get(source);
        long ioSize = Math.min(segment, 1L << 20);
        int seqIo = (int) ioSize;

        progress.show("bench rebuild: filling the source (" + Sizes.format(size) + ")");
        BdevLoad.Result fill = BdevLoad.start(src, engine.reactors().get(0), new Workload(Workload.Mode.WRITE, seqIo,
                tasks, 0, false), UNBOUNDED, size).result().join();
        // The destination written once too, so that the rebuild does not pay for a scratch file's first
        // writes (extents being allocated), which a disk does not have: its write rate, the other bound.
        progress.show("bench rebuild: the destination's sequential write");
        BdevLoad.Result dfill = BdevLoad.start(engine.bdevs().get(dest), engine.reactors().get(0), new Workload(
                Workload.Mode.WRITE, seqIo, tasks, 0, false), UNBOUNDED, size).result().join();
        BdevLoad.Result dwrite = BdevLoad.start(engine.bdevs().get(dest), engine.reactors().get(0), new Workload(
                Workload.Mode.WRITE, seqIo, tasks, 0, false), UNBOUNDED, size).result().join();
        double writeRate = mibps(size, dwrite.elapsedNanos());
        progress.show("bench rebuild: the source's sequential read");
        BdevLoad.Result seq = BdevLoad.start(src, engine.reactors().get(0), new Workload(Workload.Mode.READ, seqIo,
                tasks, 100, false), UNBOUNDED, size).result().join();
        double seqRate = mibps(size, seq.elapsedNanos());
        if (fill.errors() + seq.errors() + dfill.errors() + dwrite.errors() > 0) {
            System.err.println("bench rebuild: IO failed on the source: " + fill.firstError() + " " + seq.firstError());
            return BenchCommand.EXIT_FAILED;
        }

        nexus = "rb-vol";
        Engine.await(engine.createNexus(new NexusSpec(nexus, UUID.randomUUID(), size, List.of("bdev:///" + source), null)));
        progress.show("bench rebuild: a full rebuild, no user IO");
        RebuildStats full = rebuild(() -> Engine.await(engine.addNexusChild(nexus, destUri, false)), null);
        double fullSeconds = seconds(full);
        // The same copy to a destination that costs nothing (a null bdev): what the source and the
        // rebuild's own pipeline allow, as when the destination is another node's disk.
        progress.show("bench rebuild: a full rebuild to a null destination");
        String nul = "null:///rb-null?size=" + size + "&blk_size=4096";
        Engine.await(engine.addNexusChild(nexus, nul, false));
        RebuildStats toNull = end(nul);
        Engine.await(engine.removeNexusChild(nexus, nul));

        Bdev vol = engine.bdevs().get(nexus);
        long loadNanos = (long) (Math.min(duration, Math.max(0.5, fullSeconds * 0.6)) * 1e9);
        List<String[]> loads = new ArrayList<>();
        for (Workload.Mode mode : new Workload.Mode[] {Workload.Mode.RANDREAD, Workload.Mode.RANDWRITE}) {
            progress.show("bench rebuild: " + mode.fioName() + " without a rebuild");
            BdevLoad.Result alone = BdevLoad.start(vol, engine.reactors().get(1),
                    new Workload(mode, BLOCK, depth, mode.reads ? 100 : 0, false), loadNanos).result().join();
            progress.show("bench rebuild: " + mode.fioName() + " during a full rebuild");
            Engine.await(engine.removeNexusChild(nexus, destUri));
            BdevLoad[] during = new BdevLoad[1];
            boolean[] stillRunning = new boolean[1];
            RebuildStats under = rebuild(() -> Engine.await(engine.addNexusChild(nexus, destUri, false)), () -> {
                during[0] = BdevLoad.start(vol, engine.reactors().get(1), new Workload(mode, BLOCK, depth,
                        mode.reads ? 100 : 0, false), loadNanos);
                BdevLoad.Result r = during[0].result().join();
                stillRunning[0] = child().rebuild() != null;
                return r;
            });
            BdevLoad.Result d = during[0].result().join();
            loads.add(new String[] {mode.fioName(), fmt(alone.iops()), fmt(d.iops()), ratio(d.iops() / alone.iops()),
                    String.format(Locale.ROOT, "%.0f", mibps(under.blocksDone() * BLOCK, nanos(under))),
                    stillRunning[0] ? "yes" : "no (ended first)"});
            if (alone.errors() + d.errors() > 0) {
                System.err.println("bench rebuild: user IO failed: " + alone.firstError() + " " + d.firstError());
                return BenchCommand.EXIT_FAILED;
            }
        }

        List<String[]> partials = new ArrayList<>();
        for (boolean chunks : new boolean[] {true, false}) {
            progress.show("bench rebuild: a partial rebuild after 1 % was written " + (chunks ? "in segments" : "at random"));
            Engine.await(engine.nexusChildOperation(nexus, destUri, ChildAction.OFFLINE));
            long written = writeOnePercent(chunks);
            RebuildStats p = rebuild(() -> Engine.await(engine.nexusChildOperation(nexus, destUri, ChildAction.ONLINE)),
                    null);
            if (p.kind() != io.panastor.engine.rebuild.RebuildKind.PARTIAL) {
                System.err.println("bench rebuild: the child came back with a " + p.kind() + " rebuild, not a partial one");
                return BenchCommand.EXIT_FAILED;
            }
            partials.add(new String[] {chunks ? "1 % in " + Sizes.format(segment) + " chunks" : "1 % as random 4 KiB",
                    Sizes.format(written), p.segmentsTotal() + " of " + size / segment,
                    String.format(Locale.ROOT, "%.3f", seconds(p)), ratio(seconds(p) / fullSeconds)});
        }
        progress.clear();

        Table t = new Table(1, List.of("measurement", "value", "ratio", "goal"));
        t.row(List.of("source sequential read (" + Sizes.format(ioSize) + " x" + tasks + ")",
                String.format(Locale.ROOT, "%.0f MiB/s", seqRate), "1.00", ""));
        t.row(List.of("destination sequential write (" + Sizes.format(ioSize) + " x" + tasks + ")",
                String.format(Locale.ROOT, "%.0f MiB/s", writeRate), ratio(writeRate / seqRate), ""));
        t.row(List.of("full rebuild, no user IO (" + Sizes.format(segment) + " x" + tasks + ")",
                String.format(Locale.ROOT, "%.0f MiB/s in %.2f s", mibps(size, nanos(full)), fullSeconds),
                ratio(mibps(size, nanos(full)) / seqRate), ">= 0.80"));
        t.row(List.of("full rebuild to a null destination",
                String.format(Locale.ROOT, "%.0f MiB/s in %.2f s", mibps(size, nanos(toNull)), seconds(toNull)),
                ratio(mibps(size, nanos(toNull)) / seqRate), ">= 0.80"));
        t.note("a rebuild reads the source and writes the destination; where both share one device (these scratch "
                + "files, or RAM), it is bound by 1/(1/read + 1/write): "
                + String.format(Locale.ROOT, "%.0f MiB/s here", 1 / (1 / seqRate + 1 / writeRate)));
        t.print(System.out);
        System.out.println();
        Table u = new Table(1, List.of("user load (4 KiB, QD" + depth + ")", "IOPS alone", "IOPS during rebuild",
                "ratio", "rebuild MiB/s under it", "rebuild still running at the end"));
        for (String[] r : loads) {
            u.row(List.of(r));
        }
        u.print(System.out);
        System.out.println();
        Table p = new Table(1, List.of("partial rebuild after", "written", "dirty segments", "seconds", "vs full"));
        for (String[] r : partials) {
            p.row(List.of(r));
        }
        p.note("goal: a partial rebuild after 1 % of the volume was written takes <= 0.05 of a full one");
        p.print(System.out);
        if (differed) {
            System.err.println("bench rebuild: the children differ after a rebuild");
            return BenchCommand.EXIT_FAILED;
        }
        return 0;
    }

    /** Writes 1 % of the volume through the nexus: whole segments, or single blocks, at random places. */
    private long writeOnePercent(boolean chunks) {
        Random rnd = new Random(chunks ? 1 : 2);
        long total = size / 100;
        long unit = chunks ? segment : BLOCK;
        long units = size / unit;
        BlockPattern pattern = new BlockPattern();
        long written = 0;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(unit, BLOCK);
            java.util.Set<Long> used = new java.util.HashSet<>();
            while (written < total) {
                long at = (long) (rnd.nextDouble() * units);
                if (!used.add(at)) {
                    continue;
                }
                long lba = at * unit / BLOCK;
                pattern.fill(buf, 0, BLOCK, lba, (int) (unit / BLOCK), 9 + written);
                if (!Engine.await(engine.write(nexus, lba, unit / BLOCK, buf)).ok()) {
                    throw new IllegalStateException("a write of the 1 % failed at block " + lba);
                }
                written += unit;
            }
        }
        return written;
    }

    /** The job {@code start} starts, run to its end (with {@code during} run beside it); checked byte-identical. */
    private RebuildStats rebuild(Runnable start, Callable<BdevLoad.Result> during) throws Exception {
        start.run();
        if (during != null) {
            during.call();
        }
        RebuildStats last = end(destUri);
        compare();
        return last;
    }

    /** The end of child {@code uri}'s rebuild, which must have completed. */
    private RebuildStats end(String uri) throws Exception {
        RebuildStats last = engine.rebuildEnd(nexus, uri).get(30, java.util.concurrent.TimeUnit.MINUTES);
        if (last.state() != RebuildState.COMPLETED) {
            throw new IllegalStateException("the rebuild of " + uri + " ended " + last.state() + ": " + last.failure());
        }
        return last;
    }

    private ChildInfo child() {
        return engine.nexus(nexus).orElseThrow().children().stream().filter(c -> c.uri().equals(destUri)).findFirst()
                .orElseThrow();
    }

    /** Reads both replicas whole and compares them. */
    private void compare() {
        long chunk = 1L << 20;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment x = arena.allocate(chunk, BLOCK);
            MemorySegment y = arena.allocate(chunk, BLOCK);
            for (long off = 0; off < size; off += chunk) {
                long lba = off / BLOCK;
                long n = chunk / BLOCK;
                if (!Engine.await(engine.read(source, lba, n, x)).ok() || !Engine.await(engine.read(dest, lba, n, y)).ok()) {
                    throw new IllegalStateException("a read of the replicas failed at block " + lba);
                }
                if (x.mismatch(y) != -1) {
                    System.err.println("bench rebuild: the replicas differ in the MiB at " + off);
                    differed = true;
                    return;
                }
            }
        }
    }

    private static long nanos(RebuildStats s) {
        return Duration.between(s.started(), s.ended()).toNanos();
    }

    private static double seconds(RebuildStats s) {
        return nanos(s) / 1e9;
    }

    private static double mibps(long bytes, long nanos) {
        return bytes / (double) (1 << 20) / (nanos / 1e9);
    }

    private static String fmt(double iops) {
        return String.format(Locale.ROOT, "%.0f", iops);
    }

    private static String ratio(double r) {
        return String.format(Locale.ROOT, "%.3f", r);
    }
}
