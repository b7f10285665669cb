package io.panastor.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs fio as the baseline and reads its JSON report. Control path. */
final class Fio {
    private Fio() {
    }

    /** What fio measured for one job. */
    record Result(double iops, double meanLatencyNanos, double p99LatencyNanos) {
    }

    /** The fio executable on PATH, or null. */
    static Path find() {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            Path p = Path.of(dir, "fio");
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    static List<String> command(Path fio, Path file, String rw, int blockSize, int depth, int runtimeSeconds,
                                int rampSeconds, int cpu) {
        List<String> cmd = new ArrayList<>(List.of(fio.toString(),
                "--name=baseline", "--filename=" + file, "--ioengine=io_uring", "--direct=1",
                "--rw=" + rw, "--bs=" + blockSize, "--iodepth=" + depth, "--numjobs=1",
                "--time_based", "--runtime=" + runtimeSeconds, "--ramp_time=" + rampSeconds,
                "--norandommap", "--randrepeat=0", "--output-format=json"));
        if (cpu >= 0) {
            cmd.add("--cpus_allowed=" + cpu);
        }
        return cmd;
    }

    static Result run(List<String> command, boolean write) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IOException("fio failed (exit " + p.exitValue() + "): " + String.join(" ", command));
        }
        return parse(new String(out, StandardCharsets.UTF_8), write);
    }

    /** Reads the first job of fio's {@code --output-format=json}; the read or write side. */
    static Result parse(String json, boolean write) throws IOException {
        // fio may print notes before the JSON document.
        int start = json.indexOf('{');
        if (start < 0) {
            throw new IOException("fio printed no JSON report");
        }
        JsonNode side = new ObjectMapper().readTree(json.substring(start)).path("jobs").path(0)
                .path(write ? "write" : "read");
        if (side.isMissingNode()) {
            throw new IOException("fio's report has no " + (write ? "write" : "read") + " results");
        }
        double iops = side.path("iops").asDouble();
        double mean = side.path("lat_ns").path("mean").asDouble();
        double p99 = side.path("clat_ns").path("percentile").path("99.000000").asDouble();
        return new Result(iops, mean, p99);
    }
}
