package io.panastor.api.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.api.grpc.DaemonFixture;
import io.panastor.engine.Engine;
import io.panastor.engine.bdev.BlockPattern;
import io.panastor.engine.lvs.PoolInfo;
import io.panastor.engine.lvs.PoolSpec;
import io.panastor.engine.lvs.ReplicaInfo;
import io.panastor.engine.nexus.NexusSpec;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code /metrics} scraped and parsed as Prometheus's text format; its counters move with IO. */
class MetricsTest {
    static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[^}]*\\})?\\s+(\\S+)$");

    @TempDir
    Path state;

    /** Every sample of the exposition, keyed {@code name{labels}}. */
    static Map<String, Double> scrape(int port) throws Exception {
        try (HttpClient http = HttpClient.newHttpClient()) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            Map<String, Double> samples = new HashMap<>();
            for (String line : r.body().lines().toList()) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                Matcher m = SAMPLE.matcher(line);
                assertThat(m.matches()).as("a sample line: %s", line).isTrue();
                samples.put(m.group(1) + (m.group(2) == null ? "" : m.group(2)), Double.parseDouble(m.group(3)));
            }
            return samples;
        }
    }

    @Test
    void countersMoveWithTheIoUnderMayastorsNames() throws Exception {
        try (DaemonFixture f = new DaemonFixture(state, true)) {
            Engine e = f.daemon.engine();
            Engine.await(e.createBdev("malloc:///m0?size_mb=8&blk_size=4096"));
            int port = f.daemon.metricsAddress().getPort();
            String m0 = "{name=\"m0\",node=\"test-node\"}";
            Map<String, Double> before = scrape(port);
            assertThat(before).containsEntry("bdev_num_write_ops" + m0, 0.0).containsEntry("bdev_bytes_written" + m0, 0.0);
            try (Arena a = Arena.ofShared()) {
                MemorySegment buf = a.allocate(8 * 4096, 4096);
                new BlockPattern().fill(buf, 0, 4096, 0, 8, 1);
                for (int i = 0; i < 3; i++) {
                    assertThat(Engine.await(e.write("m0", i * 8, 8, buf)).ok()).isTrue();
                }
                assertThat(Engine.await(e.read("m0", 0, 8, buf)).ok()).isTrue();
            }
            Map<String, Double> after = scrape(port);
            assertThat(after).containsEntry("bdev_num_write_ops" + m0, 3.0)
                    .containsEntry("bdev_bytes_written" + m0, 3.0 * 8 * 4096)
                    .containsEntry("bdev_num_read_ops" + m0, 1.0)
                    .containsEntry("bdev_bytes_read" + m0, 8.0 * 4096);
            assertThat(after.get("bdev_write_latency_us" + m0)).isPositive();
            assertThat(after.get("bdev_read_latency_us" + m0)).isPositive();
            assertThat(after.keySet()).anyMatch(k -> k.startsWith("panastor_reactor_busy_ratio{"));
            assertThat(after).containsKey("panastor_nvmf_connections{node=\"test-node\"}");
        }
    }

    @Test
    void poolsAndReplicasAreReportedUnderTheExportersNames() throws Exception {
        try (DaemonFixture f = new DaemonFixture(state, true)) {
            Engine e = f.daemon.engine();
            Path disk = state.resolve("d0.img");
            try (java.io.RandomAccessFile file = new java.io.RandomAccessFile(disk.toFile(), "rw")) {
                file.setLength(64L << 20);
            }
            PoolInfo p = Engine.await(e.createPool(new PoolSpec("p0", null, "uring://" + disk + "?blk_size=4096",
                    1L << 20, false)));
            ReplicaInfo r = Engine.await(e.createReplica("p0", "r0", null, 16L << 20, true, "pv-1"));
            Engine.await(e.createReplica("p0", "r1", null, 4L << 20, false, null));
            try (Arena a = Arena.ofShared()) {
                MemorySegment buf = a.allocate(8 * 4096, 4096);
                new BlockPattern().fill(buf, 0, 4096, 0, 8, 1);
                assertThat(Engine.await(e.write(r.bdevName(), 0, 8, buf)).ok()).isTrue();
                assertThat(Engine.await(e.write(r.bdevName(), 1024, 8, buf)).ok()).isTrue();
            }
            Map<String, Double> m = scrape(f.daemon.metricsAddress().getPort());
            String p0 = "{name=\"p0\",node=\"test-node\"}";
            assertThat(m).containsEntry("disk_pool_total_size_bytes" + p0, (double) p.capacityBytes())
                    .containsEntry("disk_pool_used_size_bytes" + p0, (double) (6L << 20))   // 2 thin clusters + 4 thick
                    .containsEntry("disk_pool_committed_size_bytes" + p0, (double) (20L << 20))
                    .containsEntry("disk_pool_status" + p0, 1.0);
            String r0 = "{name=\"r0\",node=\"test-node\",pool_id=\"p0\",pv_name=\"pv-1\"}";
            assertThat(m).containsEntry("replica_num_write_ops" + r0, 2.0)
                    .containsEntry("replica_bytes_written" + r0, 2.0 * 8 * 4096)
                    .containsEntry("replica_num_read_ops" + r0, 0.0);
        }
    }

    @Test
    void aVolumesIoIsReportedUnderItsPvName() throws Exception {
        try (DaemonFixture f = new DaemonFixture(state, true)) {
            Engine e = f.daemon.engine();
            java.util.UUID u = java.util.UUID.randomUUID();
            Engine.await(e.createNexus(new NexusSpec("vol", u, 8L << 20, java.util.List.of(
                    "malloc:///mc0?size_mb=8&blk_size=4096", "malloc:///mc1?size_mb=8&blk_size=4096"), null)));
            int port = f.daemon.metricsAddress().getPort();
            String vol = "{node=\"test-node\",pv_name=\"" + u + "\"}";
            assertThat(scrape(port)).containsEntry("volume_num_write_ops" + vol, 0.0);
            try (Arena a = Arena.ofShared()) {
                MemorySegment buf = a.allocate(8 * 4096, 4096);
                new BlockPattern().fill(buf, 0, 4096, 0, 8, 1);
                for (int i = 0; i < 3; i++) {
                    assertThat(Engine.await(e.write("vol", i * 8, 8, buf)).ok()).isTrue();
                }
                assertThat(Engine.await(e.read("vol", 0, 8, buf)).ok()).isTrue();
            }
            Map<String, Double> m = scrape(port);
            assertThat(m).containsEntry("volume_num_write_ops" + vol, 3.0)
                    .containsEntry("volume_bytes_written" + vol, 3.0 * 8 * 4096)
                    .containsEntry("volume_num_read_ops" + vol, 1.0)
                    .containsEntry("volume_bytes_read" + vol, 8.0 * 4096);
            assertThat(m.get("volume_write_latency_us" + vol)).isPositive();
            assertThat(m.get("volume_read_latency_us" + vol)).isPositive();
            // Each child took every write: its own bdev counters say so.
            assertThat(m).containsEntry("bdev_num_write_ops{name=\"mc1\",node=\"test-node\"}", 3.0);
        }
    }

    @Test
    void rebuildsAreCountedInBytesAndJobsByState() throws Exception {
        try (DaemonFixture f = new DaemonFixture(state, true,
                new EngineDaemon.RebuildOptions(4, java.time.Duration.ofMinutes(10), 4096, 1))) {
            Engine e = f.daemon.engine();
            int port = f.daemon.metricsAddress().getPort();
            String node = "{node=\"test-node\"}";
            Map<String, Double> m = scrape(port);
            assertThat(m).containsEntry("panastor_rebuild_bytes_total" + node, 0.0)
                    .containsEntry("panastor_rebuild_jobs{node=\"test-node\",state=\"running\"}", 0.0)
                    .containsEntry("panastor_rebuild_jobs_finished_total{node=\"test-node\",state=\"completed\"}", 0.0);
            Engine.await(e.createNexus(new NexusSpec("vol", java.util.UUID.randomUUID(), 8L << 20, java.util.List.of(
                    "malloc:///rm0?size_mb=8&blk_size=4096"), null)));
            Engine.await(e.addNexusChild("vol", "malloc:///rm1?size_mb=8&blk_size=4096", false));
            Engine.await(e.rebuildEnd("vol", "malloc:///rm1?size_mb=8&blk_size=4096"));
            m = scrape(port);
            assertThat(m).containsEntry("panastor_rebuild_bytes_total" + node, 8.0 * (1 << 20))
                    .containsEntry("panastor_rebuild_jobs_finished_total{node=\"test-node\",state=\"completed\"}", 1.0);
            // A job held paused, behind a slow source.
            Engine.await(e.createBdev("malloc:///rsb?size_mb=8&blk_size=4096"));
            Engine.await(e.createBdev("delay:///rs?base=rsb&read_avg_us=3000&read_p99_us=3000"));
            Engine.await(e.createNexus(new NexusSpec("slow", java.util.UUID.randomUUID(), 8L << 20,
                    java.util.List.of("bdev:///rs"), null)));
            Engine.await(e.addNexusChild("slow", "malloc:///rs1?size_mb=8&blk_size=4096", false));
            // Paused once the call answers (the queued-then-running job may take a moment to start).
            io.panastor.engine.Await.until("the job to run", java.time.Duration.ofSeconds(60), () -> e.rebuildJobs()
                    .stream().anyMatch(j -> j.state() == io.panastor.engine.rebuild.RebuildState.RUNNING));
            Engine.await(e.pauseRebuild("slow", "malloc:///rs1?size_mb=8&blk_size=4096"));
            assertThat(scrape(port)).containsEntry("panastor_rebuild_jobs{node=\"test-node\",state=\"paused\"}", 1.0)
                    .containsEntry("panastor_rebuild_jobs{node=\"test-node\",state=\"running\"}", 0.0);
            Engine.await(e.stopRebuild("slow", "malloc:///rs1?size_mb=8&blk_size=4096"));
            assertThat(scrape(port))
                    .containsEntry("panastor_rebuild_jobs{node=\"test-node\",state=\"paused\"}", 0.0)
                    .containsEntry("panastor_rebuild_jobs_finished_total{node=\"test-node\",state=\"stopped\"}", 1.0);
        }
    }
}
