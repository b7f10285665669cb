package io.panastor.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.Bdevs;
import io.panastor.reactor.Reactors;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * {@code panastor bench TARGET...}: one workload against each target in turn (an NVMe/TCP
 * subsystem through our initiator, a file or a device through io_uring), each with its
 * own ramp, then a table (or JSON) with every target's figures and its ratio to the first.
 * Control path.
 */
final class TargetBench {
    /** One target's figures. */
    record Outcome(String target, long ios, long reads, long writes, long errors, long verifyFailures,
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
        try (Reactors reactors = Reactors.start(jobs)) {
            for (String target : targets) {
                Bdevs bdevs = new Bdevs();
                try {
                    Bdev bdev = bdevs.create(target);
                    if (rampSeconds > 0) {
                        runJobs(reactors, bdev, new Workload(workload.mode(), workload.ioSize(), workload.depth(),
                                workload.readPercent(), false), rampSeconds, null);
                    }
                    outcomes.add(runJobs(reactors, bdev, workload, runtimeSeconds, target));
                } finally {
                    bdevs.destroyAll().join();
                }
            }
        }
        return outcomes;
    }

    private Outcome runJobs(Reactors reactors, Bdev bdev, Workload w, int seconds, String label)
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
        Histogram latency = new Histogram(BdevLoad.MAX_TRACKED_NANOS, 3);
        long ios = 0;
        long reads = 0;
        long writes = 0;
        long errors = 0;
        long verify = 0;
        long elapsed = 0;
        String first = null;
        for (BdevLoad l : loads) {
            BdevLoad.Result r = l.result().join();
            latency.add(r.latencyNanos());
            ios += r.ios();
            reads += r.reads();
            writes += r.writes();
            errors += r.errors();
            verify += r.verifyFailures();
            elapsed = Math.max(elapsed, r.elapsedNanos());
            if (first == null) {
                first = r.firstFailure();
            }
        }
        double secs = elapsed / 1e9;
        return new Outcome(label, ios, reads, writes, errors, verify, secs, ios / secs,
                ios * (double) w.ioSize() / secs / (1 << 20), latency, first);
    }

    void printTable(List<Outcome> outcomes) {
        out.printf("%s, %s, QD %d x %d job(s), %d s%s%n", workload.mode().fioName(), Sizes.format(workload.ioSize()),
                workload.depth(), jobs, runtimeSeconds, workload.verify() ? ", verified" : "");
        out.printf("%-48s %11s %9s %7s %9s %9s %9s %9s %9s %8s%n", "target", "IOPS", "MiB/s", "ratio", "mean us",
                "p50 us", "p99 us", "p99.9 us", "max us", "errors");
        double base = outcomes.isEmpty() ? 0 : outcomes.getFirst().iops();
        for (Outcome o : outcomes) {
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
                .put("size_bytes", sizeBytes);
        ArrayNode arr = root.putArray("targets");
        double base = outcomes.isEmpty() ? 0 : outcomes.getFirst().iops();
        for (Outcome o : outcomes) {
            ObjectNode t = arr.addObject();
            Histogram h = o.latency();
            t.put("target", o.target()).put("ios", o.ios()).put("reads", o.reads()).put("writes", o.writes())
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
        return m.writeValueAsString(root);
    }
}
