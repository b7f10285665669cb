package io.panastor.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.panastor.engine.Engine;
import io.panastor.engine.bdev.Bdev;
import io.panastor.reactor.Reactors;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * {@code panastor bench TARGET...}: one workload against each target in turn (an NVMe/TCP
 * subsystem through our initiator, a file or a device through io_uring), each with its
 * own ramp, then a table (or JSON) with every target's figures and its ratio to the first
 * target of the same round. With several rounds the whole list runs again and again — runs
 * of different targets alternate, so a slow spell of a shared machine hits them alike — and
 * a summary gives each target's figures over all its rounds and their ratio. Control path.
 */
final class TargetBench {
    /** One run's figures (round numbers start at 1; the summary's rows have round 0). */
    record Outcome(String target, int round, long ios, long reads, long writes, long errors, long verifyFailures,
                   double seconds, double iops, double mibPerSecond, Histogram latency, String firstFailure) {
    }

    private final List<String> targets;
    private final Workload workload;
    private final int jobs;
    private final int runtimeSeconds;
    private final int rampSeconds;
    private final PrintStream out;
    private final boolean progress;
    private long sizeBytes;
    private int rounds = 1;

    /** Runs the list of targets this many times, alternating. */
    TargetBench rounds(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("--rounds must be at least 1");
        }
        this.rounds = n;
        return this;
    }

    /** Stops each job after this many bytes as well (0 = runtime only). */
    TargetBench size(long bytes) {
        this.sizeBytes = bytes;
        return this;
    }

    TargetBench(List<String> targets, Workload workload, int jobs, int runtimeSeconds, int rampSeconds,
                PrintStream out, boolean progress) {
        this.targets = targets;
        this.workload = workload;
        this.jobs = jobs;
        this.runtimeSeconds = runtimeSeconds;
        this.rampSeconds = rampSeconds;
        this.out = out;
        this.progress = progress;
    }

    List<Outcome> run() throws InterruptedException {
        List<Outcome> outcomes = new ArrayList<>();
        try (Engine engine = Engine.start(Reactors.builder().count(jobs))) {
            Reactors reactors = engine.reactors();
            for (int round = 1; round <= rounds; round++) {
                for (String target : targets) {
                    // A remote target's admin queue runs on a bench reactor; each run has its bdev afresh.
                    Bdev bdev = Engine.await(engine.createBdev(target));
                    try {
                        if (rampSeconds > 0) {
                            runJobs(reactors, bdev, new Workload(workload.mode(), workload.ioSize(), workload.depth(),
                                    workload.readPercent(), false), rampSeconds, null, round);
                        }
                        outcomes.add(runJobs(reactors, bdev, workload, runtimeSeconds, target, round));
                    } finally {
                        Engine.await(engine.destroyBdev(bdev.name()));
                    }
                }
            }
        }
        return outcomes;
    }

    /** Each distinct target's figures over all its rounds, in the order the targets were given. */
    static List<Outcome> summary(List<Outcome> outcomes) {
        java.util.Map<String, List<Outcome>> byTarget = new java.util.LinkedHashMap<>();
        for (Outcome o : outcomes) {
            byTarget.computeIfAbsent(o.target(), k -> new ArrayList<>()).add(o);
        }
        List<Outcome> rows = new ArrayList<>();
        for (var e : byTarget.entrySet()) {
            Totals t = new Totals();
            double seconds = 0;
            double mib = 0;
            for (Outcome o : e.getValue()) {
                t.add(o.latency(), o.ios(), o.reads(), o.writes(), o.errors(), o.verifyFailures(), o.firstFailure());
                seconds += o.seconds();
                mib += o.mibPerSecond() * o.seconds();
            }
            rows.add(new Outcome(e.getKey(), 0, t.ios, t.reads, t.writes, t.errors, t.verify, seconds, t.ios / seconds,
                    mib / seconds, t.latency, t.first));
        }
        return rows;
    }

    /** Counts and latencies of several runs (or jobs) added up. */
    private static final class Totals {
        final Histogram latency = new Histogram(BdevLoad.MAX_TRACKED_NANOS, 3);
        long ios;
        long reads;
        long writes;
        long errors;
        long verify;
        String first;

        void add(Histogram h, long ios, long reads, long writes, long errors, long verify, String firstFailure) {
            latency.add(h);
            this.ios += ios;
            this.reads += reads;
            this.writes += writes;
            this.errors += errors;
            this.verify += verify;
            if (first == null) {
                first = firstFailure;
            }
        }
    }

    /** IOPS of the run each outcome is compared with: the first target's run in the same round. */
    private static double[] bases(List<Outcome> outcomes) {
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

    private Outcome runJobs(Reactors reactors, Bdev bdev, Workload w, int seconds, String label, int round)
            throws InterruptedException {
        List<BdevLoad> loads = new ArrayList<>();
        for (int j = 0; j < jobs; j++) {
            loads.add(BdevLoad.start(bdev, reactors.get(j), w, TimeUnit.SECONDS.toNanos(seconds),
                    label == null ? 0 : sizeBytes));
        }
        long start = System.nanoTime();
        long lastIos = 0;
        long lastTime = start;
        while (!loads.stream().allMatch(l -> l.result().isDone())) {
            Thread.sleep(progress && label != null ? 1000 : 50);
            if (progress && label != null) {
                long now = System.nanoTime();
                long total = loads.stream().mapToLong(BdevLoad::ios).sum();
                out.printf("\r%s: %.0f s, %.0f IOPS   ", label, (now - start) / 1e9,
                        (total - lastIos) * 1e9 / Math.max(1, now - lastTime));
                out.flush();
                lastIos = total;
                lastTime = now;
            }
        }
        if (progress && label != null) {
            out.print("\r" + " ".repeat(Math.min(120, label.length() + 40)) + "\r");
        }
        Totals t = new Totals();
        long elapsed = 0;
        for (BdevLoad l : loads) {
            BdevLoad.Result r = l.result().join();
            t.add(r.latencyNanos(), r.ios(), r.reads(), r.writes(), r.errors(), r.verifyFailures(), r.firstFailure());
            elapsed = Math.max(elapsed, r.elapsedNanos());
        }
        double secs = elapsed / 1e9;
        return new Outcome(label, round, t.ios, t.reads, t.writes, t.errors, t.verify, secs, t.ios / secs,
                t.ios * (double) w.ioSize() / secs / (1 << 20), t.latency, t.first);
    }

    void printTable(List<Outcome> outcomes) {
        out.printf("%s, %s, QD %d x %d job(s), %d s%s%s%n", workload.mode().fioName(), Sizes.format(workload.ioSize()),
                workload.depth(), jobs, runtimeSeconds, rounds > 1 ? " per run, " + rounds + " rounds" : "",
                workload.verify() ? ", verified" : "");
        printRows(outcomes, bases(outcomes));
        if (rounds > 1) {
            List<Outcome> summary = summary(outcomes);
            out.printf("over %d rounds:%n", rounds);
            double[] bases = new double[summary.size()];
            java.util.Arrays.fill(bases, summary.getFirst().iops());
            printRows(summary, bases);
        }
    }

    private void printRows(List<Outcome> outcomes, double[] bases) {
        out.printf("%-48s %11s %9s %7s %9s %9s %9s %9s %9s %8s%n", "target", "IOPS", "MiB/s", "ratio", "mean us",
                "p50 us", "p99 us", "p99.9 us", "max us", "errors");
        for (int i = 0; i < outcomes.size(); i++) {
            Outcome o = outcomes.get(i);
            double base = bases[i];
            Histogram h = o.latency();
            out.printf("%-48s %11.0f %9.1f %7.3f %9.1f %9.1f %9.1f %9.1f %9.1f %8d%n", shorten(o.target()), o.iops(),
                    o.mibPerSecond(), base > 0 ? o.iops() / base : Double.NaN, h.getMean() / 1e3,
                    h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(99) / 1e3,
                    h.getValueAtPercentile(99.9) / 1e3, h.getMaxValue() / 1e3, o.errors() + o.verifyFailures());
            if (o.verifyFailures() > 0) {
                out.printf("  VERIFY FAILED: %d blocks, first: %s%n", o.verifyFailures(), o.firstFailure());
            }
        }
    }

    private static String shorten(String s) {
        return s.length() <= 48 ? s : "..." + s.substring(s.length() - 45);
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
            java.util.Arrays.fill(bases, summary.getFirst().iops());
            putRows(root.putArray("summary"), summary, bases);
        }
        return m.writeValueAsString(root);
    }

    private static void putRows(ArrayNode arr, List<Outcome> outcomes, double[] bases) {
        for (int i = 0; i < outcomes.size(); i++) {
            Outcome o = outcomes.get(i);
            double base = bases[i];
            ObjectNode t = arr.addObject();
            Histogram h = o.latency();
            t.put("target", o.target());
            if (o.round() > 0) {
                t.put("round", o.round());
            }
            t.put("ios", o.ios()).put("reads", o.reads()).put("writes", o.writes())
                    .put("errors", o.errors()).put("verify_failures", o.verifyFailures())
                    .put("seconds", o.seconds()).put("iops", o.iops()).put("mib_per_s", o.mibPerSecond())
                    .put("ratio_to_first", base > 0 ? o.iops() / base : 0);
            if (o.firstFailure() != null) {
                t.put("first_verify_failure", o.firstFailure());
            }
            t.putObject("latency_us").put("mean", h.getMean() / 1e3).put("p50", h.getValueAtPercentile(50) / 1e3)
                    .put("p99", h.getValueAtPercentile(99) / 1e3).put("p99_9", h.getValueAtPercentile(99.9) / 1e3)
                    .put("max", h.getMaxValue() / 1e3);
        }
    }
}
