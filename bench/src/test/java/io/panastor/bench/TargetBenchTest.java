package io.panastor.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.panastor.engine.bdev.Bdevs;
import io.panastor.engine.nvmf.tgt.NvmfTarget;
import io.panastor.reactor.Reactors;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.assertj.core.data.Percentage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class TargetBenchTest {
    static final String NQN = "nqn.2026-11.io.panastor:bench-test";
    Reactors targetReactors;
    Bdevs targetBdevs;
    NvmfTarget target;
    InetSocketAddress address;

    @BeforeEach
    void start() {
        targetReactors = Reactors.start(List.of(io.panastor.natives.Cpu.allowedCpus().getLast()), true, 256);
        targetBdevs = new Bdevs();
        targetBdevs.create("malloc:///served?size_mb=64&blk_size=4096");
        target = new NvmfTarget(targetReactors, targetBdevs);
        target.createSubsystem(NQN, "SN", "M", true, List.of());
        target.addNamespace(NQN, "served", 1);
        address = target.addListener("127.0.0.1", 0);
    }

    @AfterEach
    void stop() {
        target.close();
        targetBdevs.destroyAll().join();
        targetReactors.close();
    }

    private JsonNode runJson(List<String> targets, Workload w) throws Exception {
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        TargetBench b = new TargetBench(targets, w, 1, 1, 0, new PrintStream(sink), Progress.NONE);
        return new ObjectMapper().readTree(b.json(b.run()));
    }

    @Test
    void jsonFiguresAreConsistentForEveryTargetSideBySide() throws Exception {
        String nvmf = "nvmf://127.0.0.1:" + address.getPort() + "/" + NQN;
        JsonNode r = runJson(List.of("malloc:///local?size_mb=64&blk_size=4096", nvmf),
                new Workload(Workload.Mode.RANDRW, 16384, 8, 70, true));
        assertThat(r.path("workload").path("rw").asText()).isEqualTo("randrw");
        assertThat(r.path("targets")).hasSize(2);
        for (JsonNode t : r.path("targets")) {
            long ios = t.path("ios").asLong();
            assertThat(ios).isPositive();
            assertThat(t.path("reads").asLong() + t.path("writes").asLong()).isEqualTo(ios);
            assertThat(t.path("iops").asDouble() * t.path("seconds").asDouble())
                    .isCloseTo(ios, Percentage.withPercentage(0.5));
            assertThat(t.path("mib_per_s").asDouble() * (1 << 20) / 16384)
                    .isCloseTo(t.path("iops").asDouble(), Percentage.withPercentage(0.5));
            // 70 % reads, drawn at random per IO: how close the mix comes depends on how many IOs a
            // busy machine got through in the second, so the bound is six binomial deviations.
            double sigma = Math.sqrt(0.7 * 0.3 / ios);
            assertThat((double) t.path("reads").asLong() / ios).as("read share of %d IOs", ios)
                    .isBetween(0.7 - 6 * sigma, 0.7 + 6 * sigma);
            assertThat(t.path("errors").asLong()).isZero();
            assertThat(t.path("verify_failures").asLong()).isZero();
            JsonNode lat = t.path("latency_us");
            assertThat(lat.path("p50").asDouble()).isLessThanOrEqualTo(lat.path("p99").asDouble());
            assertThat(lat.path("p99").asDouble()).isLessThanOrEqualTo(lat.path("max").asDouble());
        }
        assertThat(r.path("targets").get(0).path("ratio_to_first").asDouble()).isEqualTo(1.0);
        assertThat(r.path("targets").get(1).path("target").asText()).isEqualTo(nvmf);
    }

    @Test
    void roundsAlternateTheTargetsAndTheSummaryAddsThemUp() throws Exception {
        String nvmf = "nvmf://127.0.0.1:" + address.getPort() + "/" + NQN;
        String local = "malloc:///local?size_mb=64&blk_size=4096";
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        TargetBench b = new TargetBench(List.of(local, nvmf), new Workload(Workload.Mode.RANDREAD, 4096, 8, 100, false),
                1, 1, 0, new PrintStream(sink), Progress.NONE).rounds(3);
        List<TargetBench.Outcome> runs = b.run();
        JsonNode r = new ObjectMapper().readTree(b.json(runs));
        JsonNode targets = r.path("targets");
        assertThat(targets).hasSize(6);
        for (int i = 0; i < 6; i++) {
            JsonNode t = targets.get(i);
            assertThat(t.path("target").asText()).isEqualTo(i % 2 == 0 ? local : nvmf);
            assertThat(t.path("round").asInt()).isEqualTo(1 + i / 2);
            // Each run is compared with the first target's run of its own round.
            double base = targets.get(i - i % 2).path("iops").asDouble();
            assertThat(t.path("ratio_to_first").asDouble()).isCloseTo(t.path("iops").asDouble() / base,
                    Percentage.withPercentage(0.01));
        }
        JsonNode summary = r.path("summary");
        assertThat(summary).hasSize(2);
        for (int k = 0; k < 2; k++) {
            JsonNode s = summary.get(k);
            long ios = 0;
            double seconds = 0;
            for (int i = k; i < 6; i += 2) {
                ios += targets.get(i).path("ios").asLong();
                seconds += targets.get(i).path("seconds").asDouble();
            }
            assertThat(s.path("target").asText()).isEqualTo(k == 0 ? local : nvmf);
            assertThat(s.path("ios").asLong()).isEqualTo(ios);
            assertThat(s.path("iops").asDouble()).isCloseTo(ios / seconds, Percentage.withPercentage(0.01));
        }
        assertThat(summary.get(1).path("ratio_to_first").asDouble()).isCloseTo(
                summary.get(1).path("iops").asDouble() / summary.get(0).path("iops").asDouble(),
                Percentage.withPercentage(0.01));
        b.printTable(runs);
        String table = sink.toString();
        assertThat(table).contains("3 rounds").contains("over 3 rounds:");
        // Every run's row says its round; the targets go by their short names, the JSON keeps them whole.
        List<String> lines = table.lines().toList();
        assertThat(lines.get(1)).matches("target +round +IOPS .*");
        String shortNvmf = "127.0.0.1:" + address.getPort() + "/...:bench-test";
        for (int i = 0; i < 6; i++) {
            assertThat(lines.get(2 + i)).startsWith(i % 2 == 0 ? "malloc:///local " : shortNvmf + " ")
                    .matches(".* " + (1 + i / 2) + " +[0-9]+ .*");
        }
        assertThat(table).doesNotContain("nqn.2026-11");
    }

    @Test
    void corruptedReadsAreReportedAsVerifyFailures() throws Exception {
        JsonNode r = runJson(List.of("corrupt:///bad?size_mb=16&every=50"),
                new Workload(Workload.Mode.RANDRW, 4096, 4, 50, true));
        JsonNode t = r.path("targets").get(0);
        assertThat(t.path("verify_failures").asLong()).isPositive();
        assertThat(t.path("first_verify_failure").asText()).contains("CORRUPT");
    }

    @Test
    void sequentialWriteThenReadBackVerifiesAcrossTheWire() throws Exception {
        String nvmf = "nvmf://127.0.0.1:" + address.getPort() + "/" + NQN + "?hdgst=1&ddgst=1";
        JsonNode r = runJson(List.of(nvmf), new Workload(Workload.Mode.RW, 131072, 4, 50, true));
        JsonNode t = r.path("targets").get(0);
        assertThat(t.path("writes").asLong()).isPositive();
        assertThat(t.path("reads").asLong()).isPositive();
        assertThat(t.path("verify_failures").asLong()).isZero();
        assertThat(t.path("errors").asLong()).isZero();
    }

    @Test
    void sizeLimitStopsEachJobAfterThatManyBytes() throws Exception {
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        TargetBench b = new TargetBench(List.of("malloc:///sized?size_mb=16&blk_size=4096"),
                new Workload(Workload.Mode.WRITE, 65536, 4, 0, false), 1, 60, 0, new PrintStream(sink), Progress.NONE)
                .size(8L << 20);
        JsonNode t = new ObjectMapper().readTree(b.json(b.run())).path("targets").get(0);
        assertThat(t.path("ios").asLong()).isEqualTo((8L << 20) / 65536);
        // It ended when its bytes were done, not at its 60 s runtime.
        assertThat(t.path("seconds").asDouble()).isLessThan(60);
    }

    @Test
    void aTargetThatDiesMidRunEndsTheRunAtItsRuntimeAndReportsTheFailedIos() throws Exception {
        String nvmf = "nvmf://127.0.0.1:" + address.getPort() + "/" + NQN;
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        TargetBench b = new TargetBench(List.of(nvmf), new Workload(Workload.Mode.RANDREAD, 4096, 8, 100, false), 1, 2,
                0, new PrintStream(sink), Progress.NONE);
        // The target goes away once IO is flowing; its initiator holds IO for ctrlr_loss_timeout_ms (30 s).
        Thread killer = Thread.ofVirtual().start(() -> {
            try {
                while (target.counters().connectionBytes() == 0 || targetBdevs.get("served") == null) {
                    Thread.sleep(10);
                }
                Thread.sleep(500);
            } catch (InterruptedException e) {
                return;
            }
            target.close();
        });
        List<TargetBench.Outcome> outcomes = b.run();
        killer.join();
        TargetBench.Outcome o = outcomes.getFirst();
        assertThat(o.failed()).isTrue();
        assertThat(o.totals().errors + o.totals().stuck).isPositive();
        // Its figures are those of its runtime, not of the 30 s the initiator would have held the IO.
        assertThat(o.seconds()).isLessThanOrEqualTo(2 + TimeUnit.NANOSECONDS.toSeconds(TargetBench.GRACE_NANOS));
        b.printTable(outcomes);
        assertThat(sink.toString()).containsPattern("IO FAILED 127.0.0.1:[0-9]+/...:bench-test: [0-9]+ IOs failed");
    }

    @Test
    void verifiedReadsOfAReadOnlyWorkloadCheckWhatAFirstPassWrote() throws Exception {
        ByteArrayOutputStream notes = new ByteArrayOutputStream();
        TargetBench b = new TargetBench(List.of("malloc:///ro?size_mb=8&blk_size=4096"),
                new Workload(Workload.Mode.RANDREAD, 8192, 4, 100, true), 1, 1, 0, new PrintStream(new ByteArrayOutputStream()),
                new Progress(new PrintStream(notes), false));
        JsonNode t = new ObjectMapper().readTree(b.json(b.run())).path("targets").get(0);
        assertThat(t.path("ios").asLong()).isPositive();
        assertThat(t.path("verified_reads").asLong()).as("every read was checked").isEqualTo(t.path("ios").asLong());
        assertThat(t.path("verify_failures").asLong()).isZero();
        assertThat(notes.toString()).contains("--verify with --rw randread: writing all of malloc:///ro (8 MiB) once first");

        // Corruption under a read-only workload is found, which it could not be without the first pass.
        b = new TargetBench(List.of("corrupt:///ro?size_mb=8&every=50"), new Workload(Workload.Mode.RANDREAD, 4096, 4,
                100, true), 1, 1, 0, new PrintStream(new ByteArrayOutputStream()), Progress.NONE);
        t = new ObjectMapper().readTree(b.json(b.run())).path("targets").get(0);
        assertThat(t.path("verify_failures").asLong()).isPositive();
    }

    @Test
    void aSparseFileIsWrittenOnceBeforeItIsRead() throws Exception {
        java.nio.file.Path dir = java.nio.file.Path.of("target", "sparse-test");
        java.nio.file.Files.createDirectories(dir);
        java.nio.file.Path file = dir.resolve("holes.img").toAbsolutePath();
        try (var f = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.WRITE, java.nio.file.StandardOpenOption.TRUNCATE_EXISTING)) {
            f.truncate(0);
            f.write(java.nio.ByteBuffer.allocate(1), (8L << 20) - 1);     // 8 MiB of holes
        }
        try {
            assertThat(io.panastor.natives.BlockFile.allocatedBytes(file)).isLessThan(8L << 20);
            ByteArrayOutputStream notes = new ByteArrayOutputStream();
            TargetBench b = new TargetBench(List.of(file.toString()), new Workload(Workload.Mode.RANDREAD, 4096, 4, 100,
                    false), 1, 1, 0, new PrintStream(new ByteArrayOutputStream()), new Progress(new PrintStream(notes), false));
            List<TargetBench.Outcome> outcomes = b.run();
            assertThat(outcomes.getFirst().failed()).isFalse();
            assertThat(notes.toString()).contains(file + " is sparse").contains("writing it once first");
            assertThat(io.panastor.natives.BlockFile.allocatedBytes(file)).isEqualTo(8L << 20);
        } finally {
            java.nio.file.Files.deleteIfExists(file);
        }
    }

    @Test
    void workloadsThatDoNotFitAreRefused() {
        assertThatThrownBy(() -> Workload.Mode.parse("sideways")).hasMessageContaining("unknown --rw 'sideways'");
        assertThatThrownBy(() -> new TargetBench(List.of("malloc:///tiny?num_blocks=4&blk_size=4096"),
                new Workload(Workload.Mode.RANDREAD, 4096, 32, 0, false), 1, 1, 0, System.out, Progress.NONE).run())
                .hasMessageContaining("fewer than the queue depth 32");
    }
}
