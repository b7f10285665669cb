package io.panastor.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.panastor.engine.Engine;
import io.panastor.engine.ScratchReplica;
import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BdevUri;
import io.panastor.natives.BlockFile;
import io.panastor.reactor.Reactors;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * {@code panastor bench TARGET...}: one workload against each target in turn (an NVMe/TCP
 * subsystem through our initiator, a file or a device through io_uring), each with its
 * own ramp, then a table (or JSON) with every target's figures and its ratio to the first
 * target of the same round. With several rounds the whole list runs again and again — runs
 * of different targets alternate, so a slow spell of a shared machine hits them alike — and
 * a summary gives each target's figures over all its rounds and their ratio.
 *
 * <p>A run ends at its runtime: IOs a dead target holds (its initiator reconnecting) get
 * {@link #GRACE_NANOS} more, then the run ends without them and counts them as stuck. A
 * target that cannot be attached is a failed row, and the other targets still run. A read
 * workload first writes the whole target once when it verifies (so every read is checked)
 * or when the target is a sparse file (so reads hit data, not holes). Control path.
 */
final class TargetBench {
    /** How long a run waits past its runtime for IOs still in flight before it ends without them. */
    static final long GRACE_NANOS = TimeUnit.SECONDS.toNanos(3);
    /** Largest IO the pre-write uses (a whole number of the workload's IOs). */
    static final int FILL_IO_BYTES = 128 << 10;
    /** IOs in flight while pre-writing. */
    static final int FILL_DEPTH = 8;
    /** How often the waiting thread looks at the loads (and refreshes the progress line). */
    private static final long POLL_MILLIS = 50;
    private static final long PROGRESS_NANOS = TimeUnit.SECONDS.toNanos(1);

    /** Counts and latencies of one run, or of several added up. */
    static final class Totals {
        final Histogram latency = new Histogram(BdevLoad.MAX_TRACKED_NANOS, 3);
        long ios;
        long reads;
        long writes;
        long errors;
        long verifyFailures;
        long stuck;
        long checkedReads;
        long bytes;
        /** The slowest job's measured time. */
        long elapsedNanos;
        String firstFailure;
        String firstError;

        void add(BdevLoad.Result r, int ioSize) {
            add(r.latencyNanos(), r.ios(), r.reads(), r.writes(), r.errors(), r.verifyFailures(), r.stuck(),
                    r.checkedReads(), r.ios() * (long) ioSize, r.firstFailure(), r.firstError());
            elapsedNanos = Math.max(elapsedNanos, r.elapsedNanos());
        }

        void add(Totals t) {
            add(t.latency, t.ios, t.reads, t.writes, t.errors, t.verifyFailures, t.stuck, t.checkedReads, t.bytes,
                    t.firstFailure, t.firstError);
        }

        private void add(Histogram h, long ios, long reads, long writes, long errors, long verify, long stuck,
                         long checked, long bytes, String failure, String error) {
            latency.add(h);
            this.ios += ios;
            this.reads += reads;
            this.writes += writes;
            this.errors += errors;
            this.verifyFailures += verify;
            this.stuck += stuck;
            this.checkedReads += checked;
            this.bytes += bytes;
            firstFailure = firstFailure != null ? firstFailure : failure;
            firstError = firstError != null ? firstError : error;
        }
    }

    /**
     * One run's figures (round numbers start at 1; the summary's rows have round 0); {@code failure}
     * says why a target did not run at all (it could not be attached or written), else null.
     */
    record Outcome(String target, int round, Totals totals, double seconds, String failure) {
        double iops() {
            return seconds > 0 ? totals.ios / seconds : 0;
        }

        double mibPerSecond() {
            return seconds > 0 ? totals.bytes / seconds / (1 << 20) : 0;
        }

        /** Whether anything went wrong: a target not run, an IO failed or left hanging, a block read wrong. */
        boolean failed() {
            return failure != null || totals.errors > 0 || totals.stuck > 0 || totals.verifyFailures > 0;
        }
    }

    private final List<String> targets;
    private final Map<String, String> names = new HashMap<>();
    private final Workload workload;
    private final int jobs;
    private final int runtimeSeconds;
    private final int rampSeconds;
    private final PrintStream out;
    private final Progress progress;
    private long sizeBytes;
    private int rounds = 1;
    private boolean prefill;

    TargetBench(List<String> targets, Workload workload, int jobs, int runtimeSeconds, int rampSeconds,
                PrintStream out, Progress progress) {
        this.targets = targets;
        List<String> shortNames = TargetNames.shorten(targets);
        for (int i = 0; i < targets.size(); i++) {
            names.put(targets.get(i), shortNames.get(i));
        }
        this.workload = workload;
        this.jobs = jobs;
        this.runtimeSeconds = runtimeSeconds;
        this.rampSeconds = rampSeconds;
        this.out = out;
        this.progress = progress;
    }

    /** Runs the list of targets this many times, alternating. */
    TargetBench rounds(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("--rounds must be at least 1");
        }
        this.rounds = n;
        return this;
    }

    /**
     * Writes every target once before the workload first reads it, whatever it is: a volume over
     * thick replicas on a sparse file reads its never-written blocks from holes, which no disk serves.
     */
    TargetBench prefill(boolean on) {
        this.prefill = on;
        return this;
    }

    /** Stops each job after this many bytes as well (0 = runtime only). */
    TargetBench size(long bytes) {
        this.sizeBytes = bytes;
        return this;
    }

    List<Outcome> run() throws InterruptedException {
        List<Outcome> outcomes = new ArrayList<>();
        // Targets written once before their reads, with what the writing left for verification (or null).
        Map<String, long[]> filled = new HashMap<>();
        try (Engine engine = Engine.start(Reactors.builder().count(jobs))) {
            Reactors reactors = engine.reactors();
            for (int round = 1; round <= rounds; round++) {
                for (String target : targets) {
                    String where = names.get(target) + (rounds > 1 ? " (round " + round + "/" + rounds + ")" : "");
                    progress.show(where + ": attaching");
                    // A remote target's admin queue runs on a bench reactor; each run has its bdev afresh.
                    Bdev bdev;
                    ScratchReplica scratch = null;
                    try {
                        if (ScratchReplica.is(target)) {
                            scratch = ScratchReplica.open(engine, target);
                            bdev = scratch.bdev();
                        } else {
                            bdev = Engine.await(engine.createBdev(target));
                        }
                    } catch (RuntimeException e) {
                        String why = message(e);
                        progress.note("bench: " + why);
                        outcomes.add(new Outcome(target, round, new Totals(), 0, why));
                        continue;
                    }
                    try {
                        long[] generations = filled.get(target);
                        if (scratch != null && scratch.created()) {
                            filled.remove(target);
                        }
                        String fill = filled.containsKey(target) ? null : fillReason(target, bdev);
                        if (fill != null) {
                            progress.note("bench: " + fill);
                            generations = workload.verify() ? new long[BdevLoad.extents(bdev, workload.ioSize())] : null;
                            String failed = fill(reactors, bdev, generations, where);
                            if (failed != null) {
                                progress.note("bench: " + failed);
                                outcomes.add(new Outcome(target, round, new Totals(), 0, failed));
                                continue;
                            }
                            filled.put(target, generations);
                        }
                        if (rampSeconds > 0) {
                            Workload ramp = new Workload(workload.mode(), workload.ioSize(), workload.depth(),
                                    workload.readPercent(), false);
                            runJobs(reactors, bdev, ramp, rampSeconds, 0, null, where + ": warm-up");
                        }
                        Totals t = runJobs(reactors, bdev, workload, runtimeSeconds, sizeBytes, generations, where);
                        Outcome o = new Outcome(target, round, t, t.elapsedNanos / 1e9, null);
                        outcomes.add(o);
                        if (o.totals.stuck > 0) {
                            filled.remove(target);   // writes left hanging: what the extents hold is unknown
                        }
                    } finally {
                        progress.show(where + ": detaching");
                        if (scratch != null) {
                            scratch.close();        // exported: the next round finds what this one wrote
                        } else {
                            Engine.await(engine.destroyBdev(bdev.name()));
                        }
                    }
                }
            }
        } finally {
            progress.clear();
        }
        return outcomes;
    }

    /** The message of a failure, without the future's wrapping. */
    static String message(Throwable t) {
        while (t instanceof CompletionException && t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage() != null ? t.getMessage() : t.toString();
    }

    /**
     * Why this target must be written once before the workload reads it, or null: reads that
     * verify need written blocks to check, and reads of a sparse file's holes never reach its disk.
     */
    private String fillReason(String target, Bdev bdev) {
        if (workload.effectiveReadPercent() == 0) {
            return null;
        }
        if (prefill) {
            return "writing all of " + names.get(target) + " (" + Sizes.format(bdev.sizeBytes())
                    + ") once first, so that reads reach the disk";
        }
        if (ScratchReplica.is(target)) {
            return names.get(target) + " is a new replica: writing all of it (" + Sizes.format(bdev.sizeBytes())
                    + ") once first, so that reads reach the disk";
        }
        if (workload.verify() && workload.effectiveReadPercent() == 100) {
            return "--verify with --rw " + workload.mode().fioName() + ": writing all of " + names.get(target) + " ("
                    + Sizes.format(bdev.sizeBytes()) + ") once first, so that every read is checked";
        }
        Path file = fileOf(target);
        if (file != null && Files.isRegularFile(file)) {
            long allocated = BlockFile.allocatedBytes(file);
            if (allocated < bdev.sizeBytes()) {
                return file + " is sparse (" + Sizes.format(allocated) + " of " + Sizes.format(bdev.sizeBytes())
                        + " allocated): writing it once first, so that reads hit data rather than holes";
            }
        }
        return null;
    }

    /** The file behind a target, or null when it is not a file path or a file URI. */
    private static Path fileOf(String target) {
        try {
            BdevUri u = BdevUri.parse(target);
            return u.scheme().equals("uring") || u.scheme().equals("aio") ? Path.of(u.filePath()) : null;
        } catch (RuntimeException e) {
            return null;
        }
    }

    /**
     * Writes every extent of the bdev once, sequentially, stamped for verification; sets each
     * of the workload's extents in {@code generations} (when verifying) to what now is there.
     * Returns why it failed, or null.
     */
    private String fill(Reactors reactors, Bdev bdev, long[] generations, String where) throws InterruptedException {
        int perIo = Math.max(1, Math.min(FILL_IO_BYTES / workload.ioSize(), BdevLoad.extents(bdev, workload.ioSize())
                / FILL_DEPTH));
        int ioSize = perIo * workload.ioSize();
        int fillExtents = BdevLoad.extents(bdev, ioSize);
        Workload w = new Workload(Workload.Mode.WRITE, ioSize, Math.min(FILL_DEPTH, fillExtents), 0, true);
        long bytes = (long) fillExtents * ioSize;
        BdevLoad load = BdevLoad.start(bdev, reactors.get(0), w, Long.MAX_VALUE / 4, bytes);
        Totals t = await(List.of(load), Long.MAX_VALUE, ioSize, where + ": writing " + Sizes.format(bytes), bytes);
        if (t.errors > 0 || t.stuck > 0 || t.ios < fillExtents) {
            return "could not write " + bdev.name() + " before reading it: " + t.errors + " IO errors, " + t.stuck
                    + " IOs hanging" + (t.firstError != null ? "; first: " + t.firstError : "");
        }
        if (generations != null) {
            Arrays.fill(generations, 0, fillExtents * perIo, 1);
        }
        return null;
    }

    /** Each distinct target's figures over all its rounds, in the order the targets were given. */
    static List<Outcome> summary(List<Outcome> outcomes) {
        Map<String, List<Outcome>> byTarget = new LinkedHashMap<>();
        for (Outcome o : outcomes) {
            byTarget.computeIfAbsent(o.target(), k -> new ArrayList<>()).add(o);
        }
        List<Outcome> rows = new ArrayList<>();
        for (var e : byTarget.entrySet()) {
            Totals t = new Totals();
            double seconds = 0;
            String failure = null;
            for (Outcome o : e.getValue()) {
                t.add(o.totals());
                seconds += o.seconds();
                failure = failure != null ? failure : o.failure();
            }
            rows.add(new Outcome(e.getKey(), 0, t, seconds, failure));
        }
        return rows;
    }

    /** IOPS of the run each outcome is compared with: the first target's run in the same round. */
    static double[] bases(List<Outcome> outcomes) {
        double[] bases = new double[outcomes.size()];
        double base = 0;
        int round = -1;
        for (int i = 0; i < outcomes.size(); i++) {
            Outcome o = outcomes.get(i);
            if (o.round() != round) {
                round = o.round();
                base = o.iops();
            }
            bases[i] = base;
        }
        return bases;
    }

    private Totals runJobs(Reactors reactors, Bdev bdev, Workload w, int seconds, long bytes, long[] generations,
                             String label) throws InterruptedException {
        long duration = TimeUnit.SECONDS.toNanos(seconds);
        List<BdevLoad> loads = new ArrayList<>();
        for (int j = 0; j < jobs; j++) {
            loads.add(BdevLoad.start(bdev, reactors.get(j), w, duration, bytes, generations));
        }
        return await(loads, System.nanoTime() + duration + GRACE_NANOS, w.ioSize(), label, 0);
    }

    /**
     * Waits for the loads to end, showing where they are; ends them at {@code hardDeadline}
     * (IOs that did not come back are stuck), or sooner when {@code fillBytes} > 0 and no IO
     * completed for {@link #GRACE_NANOS}.
     */
    private Totals await(List<BdevLoad> loads, long hardDeadline, int ioSize, String label, long fillBytes)
            throws InterruptedException {
        long start = System.nanoTime();
        long lastIos = 0;
        long lastShown = start;
        long lastChange = start;
        long lastCount = 0;
        while (!loads.stream().allMatch(l -> l.result().isDone())) {
            Thread.sleep(POLL_MILLIS);
            long now = System.nanoTime();
            long total = loads.stream().mapToLong(BdevLoad::ios).sum();
            if (total != lastCount) {
                lastCount = total;
                lastChange = now;
            }
            if (now - hardDeadline > 0 || (fillBytes > 0 && now - lastChange > GRACE_NANOS)) {
                loads.forEach(BdevLoad::stop);
                break;
            }
            if (now - lastShown >= PROGRESS_NANOS) {
                String at = fillBytes > 0 ? String.format("%d%%", total * ioSize * 100 / fillBytes)
                        : String.format("%.0f s", (now - start) / 1e9);
                progress.show(String.format("%s: %s, %.0f IOPS", label, at, (total - lastIos) * 1e9 / (now - lastShown)));
                lastIos = total;
                lastShown = now;
            }
        }
        Totals t = new Totals();
        for (BdevLoad l : loads) {
            t.add(l.result().join(), ioSize);
        }
        return t;
    }

    // ---------------------------------------------------------------- output

    /** The figures' columns, after the target (and round) columns. */
    private static final List<String> FIGURES = List.of("IOPS", "MiB/s", "ratio", "mean us", "p50 us", "p99 us",
            "p99.9 us", "max us", "errors");

    /** A table for this bench's rows, with {@code lead} columns before the target's. */
    Table table(List<String> lead, boolean withRound) {
        List<String> header = new ArrayList<>(lead);
        header.add("target");
        if (withRound) {
            header.add("round");
        }
        header.addAll(FIGURES);
        return new Table(header.size() - FIGURES.size(), header);
    }

    /** Adds a row per outcome (ratio to {@code bases}) to {@code table}, and notes for failures. */
    void addRows(Table table, List<Outcome> outcomes, double[] bases, List<String> lead, boolean withRound) {
        for (int i = 0; i < outcomes.size(); i++) {
            Outcome o = outcomes.get(i);
            Totals t = o.totals();
            Histogram h = t.latency;
            List<String> cells = new ArrayList<>(lead);
            String name = names.getOrDefault(o.target(), o.target());
            cells.add(name);
            if (withRound) {
                cells.add(o.round() > 0 ? Integer.toString(o.round()) : "all");
            }
            if (o.failure() != null && t.ios == 0) {
                cells.addAll(List.of("-", "-", "-", "-", "-", "-", "-", "-", "FAILED"));
            } else {
                cells.addAll(List.of(String.format("%.0f", o.iops()), String.format("%.1f", o.mibPerSecond()),
                        String.format("%.3f", bases[i] > 0 ? o.iops() / bases[i] : Double.NaN), us(h.getMean()),
                        us(h.getValueAtPercentile(50)), us(h.getValueAtPercentile(99)), us(h.getValueAtPercentile(99.9)),
                        us(h.getMaxValue()), Long.toString(t.errors + t.stuck + t.verifyFailures)));
            }
            table.row(cells);
            String which = name + (withRound && o.round() > 0 ? " round " + o.round() : "");
            if (o.round() == 0 && withRound) {
                continue;   // the rounds' own rows said it
            }
            if (o.failure() != null) {
                table.note("FAILED " + which + ": " + o.failure());
            }
            if (t.errors > 0 || t.stuck > 0) {
                table.note("IO FAILED " + which + ": " + t.errors + " IOs failed" + (t.stuck > 0 ? ", " + t.stuck
                        + " did not complete within " + TimeUnit.NANOSECONDS.toSeconds(GRACE_NANOS) + " s of the runtime's end"
                        : "") + (t.firstError != null ? "; first: " + t.firstError : ""));
            }
            if (t.verifyFailures > 0) {
                table.note("VERIFY FAILED " + which + ": " + t.verifyFailures + " blocks, first: " + t.firstFailure);
            }
        }
    }

    private static String us(double nanos) {
        return String.format("%.1f", nanos / 1e3);
    }

    /** The heading line of this bench's table. */
    String heading() {
        return String.format("%s, %s, QD %d x %d job(s), %d s%s", workload.mode().fioName(),
                Sizes.format(workload.ioSize()), workload.depth(), jobs, runtimeSeconds,
                rounds > 1 ? " per run, " + rounds + " rounds" : "");
    }

    void printTable(List<Outcome> outcomes) {
        long checked = outcomes.stream().mapToLong(o -> o.totals().checkedReads).sum();
        out.println(heading() + (workload.verify() ? ", " + checked + " reads verified" : ""));
        Table runs = table(List.of(), rounds > 1);
        addRows(runs, outcomes, bases(outcomes), List.of(), rounds > 1);
        runs.print(out);
        if (rounds > 1) {
            List<Outcome> summary = summary(outcomes);
            out.printf("over %d rounds:%n", rounds);
            double[] bases = new double[summary.size()];
            Arrays.fill(bases, summary.getFirst().iops());
            Table all = table(List.of(), false);
            addRows(all, summary, bases, List.of(), false);
            all.print(out);
        }
    }

    String json(List<Outcome> outcomes) throws Exception {
        ObjectMapper m = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = m.createObjectNode();
        ObjectNode w = root.putObject("workload");
        w.put("rw", workload.mode().fioName()).put("bs", workload.ioSize()).put("qd", workload.depth())
                .put("jobs", jobs).put("runtime_s", runtimeSeconds).put("ramp_s", rampSeconds)
                .put("rwmix_read", workload.effectiveReadPercent()).put("verify", workload.verify())
                .put("size_bytes", sizeBytes).put("rounds", rounds);
        putRows(root.putArray("targets"), outcomes, bases(outcomes));
        if (rounds > 1) {
            List<Outcome> summary = summary(outcomes);
            double[] bases = new double[summary.size()];
            Arrays.fill(bases, summary.getFirst().iops());
            putRows(root.putArray("summary"), summary, bases);
        }
        return m.writeValueAsString(root);
    }

    private static void putRows(ArrayNode arr, List<Outcome> outcomes, double[] bases) {
        for (int i = 0; i < outcomes.size(); i++) {
            Outcome o = outcomes.get(i);
            Totals t = o.totals();
            double base = bases[i];
            ObjectNode n = arr.addObject();
            Histogram h = t.latency;
            n.put("target", o.target());
            if (o.round() > 0) {
                n.put("round", o.round());
            }
            if (o.failure() != null) {
                n.put("failure", o.failure());
            }
            n.put("ios", t.ios).put("reads", t.reads).put("writes", t.writes)
                    .put("errors", t.errors).put("stuck", t.stuck).put("verify_failures", t.verifyFailures)
                    .put("verified_reads", t.checkedReads)
                    .put("seconds", o.seconds()).put("iops", o.iops()).put("mib_per_s", o.mibPerSecond())
                    .put("ratio_to_first", base > 0 ? o.iops() / base : 0);
            if (t.firstError != null) {
                n.put("first_error", t.firstError);
            }
            if (t.firstFailure != null) {
                n.put("first_verify_failure", t.firstFailure);
            }
            n.putObject("latency_us").put("mean", h.getMean() / 1e3).put("p50", h.getValueAtPercentile(50) / 1e3)
                    .put("p99", h.getValueAtPercentile(99) / 1e3).put("p99_9", h.getValueAtPercentile(99.9) / 1e3)
                    .put("max", h.getMaxValue() / 1e3);
        }
    }
}
