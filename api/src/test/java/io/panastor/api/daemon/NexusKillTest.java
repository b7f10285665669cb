package io.panastor.api.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.panastor.engine.Engine;
import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BlockPattern;
import io.panastor.engine.nexus.FileHealthStore;
import io.panastor.engine.nexus.HealthRecord;
import io.panastor.natives.Cpu;
import io.panastor.reactor.Reactors;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A nexus as an operator runs one, and the engine under it killed with SIGKILL: two replicas
 * in two pools, a nexus over them published to this JVM's initiator, writes acknowledged, one
 * child faulted, more writes, kill -9. Restarted on the same state directory, the engine has
 * its pools and replicas back and no nexus (its owner recreates that), and the child health
 * the nexus persisted says which replica is fresh: that one holds every acknowledged write.
 * And kill -9 in the middle of a rebuild: the nexus made again does not take the half-copied
 * child as healthy; it rebuilds it, after which it holds every write.
 */
class NexusKillTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final int BLOCK = EngineKillTest.BLOCK;
    static final int BLOCKS = EngineKillTest.BLOCKS;
    static final long STRIDE = EngineKillTest.STRIDE;

    @TempDir
    Path dir;
    Engine host;
    Arena arena;
    EngineProcess engine;

    @BeforeEach
    void start() {
        host = Engine.start(Reactors.builder().count(1).pin(false));
        arena = Arena.ofShared();
    }

    @AfterEach
    void stop() {
        if (engine != null) {
            engine.close();
        }
        host.close();
        arena.close();
    }

    Map<String, String> startEngine(String... more) throws Exception {
        String[] base = {"--grpc", "127.0.0.1:" + EngineProcess.freePort(),
                "--replica-listen", "127.0.0.1:" + EngineProcess.freePort(),
                "--nexus-listen", "127.0.0.1:" + EngineProcess.freePort(), "--metrics", "off",
                "--cores", "[" + Cpu.allowedCpus().getFirst() + "]", "--state-dir", dir.resolve("state").toString()};
        String[] all = java.util.Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, all, base.length, more.length);
        engine = EngineProcess.start(dir, all);
        Map<String, String> ready = engine.awaitReady();
        assertThat(ready).as("ready line; stderr: %s", engine.stderr()).isNotNull();
        return ready;
    }

    static String cli(Map<String, String> ready, String... args) {
        return EngineKillTest.cli(ready, args);
    }

    MemorySegment pattern(long lba, long seed) {
        MemorySegment s = arena.allocate((long) BLOCKS * BLOCK, BLOCK);
        new BlockPattern().fill(s, 0, BLOCK, lba, BLOCKS, seed);
        return s;
    }

    Bdev connect(String uri) {
        return Engine.await(host.createBdev(uri + "?io_timeout_ms=5000&connect_timeout_ms=5000&ctrlr_loss_timeout_ms=1000"));
    }

    boolean readsBack(Bdev b, long lba, long seed) {
        MemorySegment got = arena.allocate((long) BLOCKS * BLOCK, BLOCK);
        assertThat(Engine.await(host.read(b.name(), lba, BLOCKS, got)).ok()).isTrue();
        return got.mismatch(pattern(lba, seed)) == -1;
    }

    void kill() throws Exception {
        engine.signal("KILL");
        engine.awaitExit();
    }

    static JsonNode json(Map<String, String> ready, String... args) throws Exception {
        String[] all = java.util.Arrays.copyOf(args, args.length + 2);
        all[args.length] = "-o";
        all[args.length + 1] = "json";
        return JSON.readTree(cli(ready, all));
    }

    Path disk(String name) throws Exception {
        Path p = dir.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(64L << 20);
        }
        return p;
    }

    void write(Bdev b, int i, long seed) {
        long lba = i * STRIDE;
        assertThat(Engine.await(host.write(b.name(), lba, BLOCKS, pattern(lba, seed))).ok()).as("write %d", i).isTrue();
    }

    @Test
    void theFreshChildHoldsEveryAcknowledgedWriteAfterKillNine() throws Exception {
        Map<String, String> ready = startEngine();
        String[] uri = new String[2];
        String[] uuid = new String[2];
        for (int i = 0; i < 2; i++) {
            cli(ready, "pool", "create", "p" + i, "uring://" + disk("d" + i + ".img") + "?blk_size=4096",
                    "--cluster-size", "1MiB");
            JsonNode r = json(ready, "replica", "create", "r" + i, "--pool", "p" + i, "--size", "32MiB", "--thin");
            uri[i] = r.get("uri").asText();
            uuid[i] = r.get("uuid").asText();
        }
        JsonNode n = json(ready, "nexus", "create", "vol", "--size", "32MiB", uri[0], uri[1]);
        String volume = n.get("uuid").asText();
        String device = cli(ready, "nexus", "publish", "vol");
        assertThat(device).isEqualTo("nvmf://" + ready.get("nexus") + "/nqn.2019-05.io.openebs:" + volume);

        // Acknowledged writes on both children; then r1 faulted and more writes on r0 alone.
        Bdev b = connect(device);
        for (int i = 0; i < 8; i++) {
            write(b, i, 1);
        }
        assertThat(Engine.await(host.flush(b.name())).ok()).isTrue();
        JsonNode faulted = json(ready, "nexus", "fault-child", "vol", uri[1]);
        assertThat(faulted.get("state").asText()).isEqualTo("NEXUS_DEGRADED");
        for (int i = 8; i < 16; i++) {
            write(b, i, 2);
        }
        assertThat(Engine.await(host.flush(b.name())).ok()).isTrue();
        kill();
        try {
            Engine.await(host.destroyBdev(b.name()));
        } catch (RuntimeException gone) {
            // the controller may already be gone
        }

        ready = startEngine();
        HealthRecord health = new FileHealthStore(dir.resolve("state").resolve(EngineDaemon.NEXUS_HEALTH_DIR))
                .load(volume).orElseThrow();
        assertThat(health.cleanShutdown()).as("killed, not shut down").isFalse();
        assertThat(health.children()).extracting(HealthRecord.ChildHealth::uuid).containsExactly(uuid[0], uuid[1]);
        assertThat(health.children()).extracting(HealthRecord.ChildHealth::uri).containsExactly(uri[0], uri[1]);
        assertThat(health.children()).extracting(HealthRecord.ChildHealth::healthy).containsExactly(true, false);
        assertThat(cli(ready, "nexus", "list").lines()).as("not recreated: its owner does that").hasSize(1);
        JsonNode replicas = json(ready, "replica", "list").get("replicas");
        assertThat(replicas).extracting(r -> r.get("uuid").asText()).containsExactlyInAnyOrder(uuid[0], uuid[1]);

        // The fresh replica holds every acknowledged write; the faulted one only those before its fault.
        Bdev fresh = connect(cli(ready, "replica", "share", "r0"));
        for (int i = 0; i < 16; i++) {
            assertThat(readsBack(fresh, i * STRIDE, i < 8 ? 1 : 2)).as("write %d on the fresh replica", i).isTrue();
        }
        Engine.await(host.destroyBdev(fresh.name()));
        Bdev stale = connect(cli(ready, "replica", "share", "r1"));
        for (int i = 0; i < 8; i++) {
            assertThat(readsBack(stale, i * STRIDE, 1)).as("write %d before the fault", i).isTrue();
        }
        assertThat(readsBack(stale, 8 * STRIDE, 2)).as("a write after the fault").isFalse();
        Engine.await(host.destroyBdev(stale.name()));
        engine.signal("TERM");
        assertThat(engine.awaitExit()).isZero();
    }

    static JsonNode rebuildStats(Map<String, String> ready, String child) {
        try {
            return json(ready, "rebuild", "stats", "vol", child);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void aChildHalfRebuiltWhenTheEngineIsKilledIsRebuiltBeforeItIsHealthyAgain() throws Exception {
        // Segments of one block, one at a time, to a child whose writes take 2 ms: the rebuild is slow.
        String[] slow = {"--rebuild-segment", "4KiB", "--rebuild-tasks", "1"};
        Map<String, String> ready = startEngine(slow);
        String[] uri = new String[2];
        String[] uuid = new String[2];
        for (int i = 0; i < 2; i++) {
            cli(ready, "pool", "create", "p" + i, "uring://" + disk("d" + i + ".img") + "?blk_size=4096",
                    "--cluster-size", "1MiB");
            JsonNode r = json(ready, "replica", "create", "r" + i, "--pool", "p" + i, "--size", "32MiB");
            uri[i] = r.get("uri").asText();
            uuid[i] = r.get("uuid").asText();
        }
        JsonNode n = json(ready, "nexus", "create", "vol", "--size", "32MiB", uri[0]);
        String volume = n.get("uuid").asText();
        Bdev b = connect(cli(ready, "nexus", "publish", "vol"));
        for (int i = 0; i < 16; i++) {
            write(b, i, 3);
        }
        assertThat(Engine.await(host.flush(b.name())).ok()).isTrue();
        cli(ready, "bdev", "create", "delay:///slowr1?base=" + uuid[1] + "&write_avg_us=2000&write_p99_us=2000");
        String child = "bdev:///slowr1";
        cli(ready, "nexus", "add-child", "vol", child);
        Map<String, String> at = ready;
        io.panastor.engine.Await.until("the rebuild to have copied a segment", java.time.Duration.ofSeconds(60), () -> {
            JsonNode s = rebuildStats(at, child);
            return s.get("state").asText().equals("Rebuilding") && s.get("segments_done").asLong() > 0;
        });
        JsonNode st = rebuildStats(ready, child);
        assertThat(st.get("state").asText()).isEqualTo("Rebuilding");
        assertThat(st.get("progress").asInt()).isLessThan(100);
        kill();
        try {
            Engine.await(host.destroyBdev(b.name()));
        } catch (RuntimeException gone) {
            // the controller may already be gone
        }

        ready = startEngine(slow);
        HealthRecord health = new FileHealthStore(dir.resolve("state").resolve(EngineDaemon.NEXUS_HEALTH_DIR))
                .load(volume).orElseThrow();
        assertThat(health.cleanShutdown()).isFalse();
        assertThat(health.children()).extracting(HealthRecord.ChildHealth::uri).containsExactly(uri[0], child);
        assertThat(health.children()).extracting(HealthRecord.ChildHealth::healthy).containsExactly(true, false);
        // Made again by its owner over the same children (the delay over r1 made again, with no delay now: the
        // same device UUID): the half-copied child is not healthy until its rebuild completes.
        String again1 = "delay:///slowr1?base=" + uuid[1];
        cli(ready, "bdev", "create", again1);
        JsonNode again = json(ready, "nexus", "create", "vol", "--size", "32MiB", "--uuid", volume, uri[0], child);
        assertThat(again.get("state").asText()).isEqualTo("NEXUS_DEGRADED");
        JsonNode r1 = again.get("children").get(1);
        assertThat(r1.get("state").asText()).isEqualTo("CHILD_STATE_DEGRADED");
        assertThat(r1.get("state_reason").asText()).isEqualTo("CHILD_STATE_REASON_OUT_OF_SYNC");
        assertThat(r1.get("rebuild_progress").asInt()).isBetween(0, 99);
        // Followed to its end: exit 0 only if it completed.
        cli(ready, "rebuild", "stats", "vol", child, "--watch", "--interval", "20");
        assertThat(json(ready, "nexus", "list", "vol").get("nexus_list").get(0).get("state").asText())
                .isEqualTo("NEXUS_ONLINE");
        JsonNode history = json(ready, "rebuild", "history", "vol").get("histories").get(0).get("records");
        assertThat(history).hasSize(1);
        assertThat(history.get(0).get("child_uri").asText()).isEqualTo(child);
        assertThat(history.get(0).get("state").asText()).isEqualTo("Completed");
        assertThat(history.get(0).get("is_partial").asBoolean()).as("after a crash: a full rebuild").isFalse();

        // A clean restart: the nexus made again has both children healthy and its history.
        engine.signal("TERM");
        assertThat(engine.awaitExit()).isZero();
        ready = startEngine(slow);
        cli(ready, "bdev", "create", again1);
        JsonNode clean = json(ready, "nexus", "create", "vol", "--size", "32MiB", "--uuid", volume, uri[0], child);
        assertThat(clean.get("state").asText()).as("both recorded healthy: no rebuild").isEqualTo("NEXUS_ONLINE");
        assertThat(json(ready, "rebuild", "history", "vol").get("histories").get(0).get("records")).hasSize(1);
        cli(ready, "nexus", "destroy", "vol");
        cli(ready, "bdev", "destroy", "slowr1");
        Bdev rebuilt = connect(cli(ready, "replica", "share", "r1"));
        for (int i = 0; i < 16; i++) {
            assertThat(readsBack(rebuilt, i * STRIDE, 3)).as("write %d on the rebuilt replica", i).isTrue();
        }
        Engine.await(host.destroyBdev(rebuilt.name()));
        engine.signal("TERM");
        assertThat(engine.awaitExit()).isZero();
    }
}
