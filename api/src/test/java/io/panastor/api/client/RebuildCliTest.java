package io.panastor.api.client;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.panastor.api.daemon.EngineDaemon;
import io.panastor.api.grpc.DaemonFixture;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The rebuild commands against a running engine: stats (table and JSON), pause, resume, stop,
 * start and history, and a nexus's list showing a child's progress. The rebuild's source is
 * slow (a delay bdev; segments of one block, one at a time), so it runs while the commands do;
 * faulting it hands the copy to a fast child.
 */
class RebuildCliTest extends NexusCliTest {
    static final String SLOW = "bdev:///slow";
    static final String FAST = "bdev:///fast";
    static final String NEW = "malloc:///new?size_mb=8&blk_size=4096";

    @BeforeEach
    @Override
    void startEngine() {
        f = new DaemonFixture(state, false, new EngineDaemon.RebuildOptions(4, Duration.ofMinutes(10), 4096, 1));
        engine = f.engineAddress();
    }

    @Override
    @Test
    void everyNexusCommandFromAShell() {
        // NexusCliTest's own; not again here.
    }

    private JsonNode stats() throws Exception {
        return json("rebuild", "stats", "vol", NEW);
    }

    private JsonNode awaitState(String state) throws Exception {
        io.panastor.engine.Await.until("the rebuild to be " + state, Duration.ofSeconds(60), () -> {
            try {
                return stats().get("state").asText().equals(state);
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
        return stats();
    }

    @Test
    void everyRebuildCommandFromAShell() throws Exception {
        ok("bdev", "create", "malloc:///slowbase?size_mb=8&blk_size=4096");
        ok("bdev", "create", "delay:///slow?base=slowbase&read_avg_us=3000&read_p99_us=3000");
        ok("bdev", "create", "malloc:///fast?size_mb=8&blk_size=4096");
        ok("nexus", "create", "vol", "--size", "8MiB", SLOW, FAST);
        ok("nexus", "add-child", "vol", NEW);

        awaitState("Rebuilding");
        List<List<String>> table = rows(ok("rebuild", "stats", "vol"));
        assertThat(table).hasSize(1);
        assertThat(table.getFirst().subList(0, 3)).containsExactly(NEW, "RUNNING", "full");
        assertThat(table.getFirst().get(3)).endsWith("%");
        assertThat(table.getFirst().getLast()).isEqualTo(SLOW);
        assertThat(rows(ok("nexus", "list", "vol"))).anySatisfy(r -> {
            assertThat(r.getFirst()).isEqualTo(NEW);
            assertThat(r.get(1)).matches("DEGRADED/OUT_OF_SYNC rebuilding \\d+%");
        });

        ok("rebuild", "pause", "vol", NEW);     // answers once the segment in flight has ended
        assertThat(stats().get("state").asText()).isEqualTo("Paused");
        assertThat(stats().get("tasks_active").asInt()).isZero();
        ok("rebuild", "resume", "vol", NEW);
        assertThat(stats().get("state").asText()).isEqualTo("Rebuilding");
        JsonNode stopped = json("rebuild", "stop", "vol", NEW);
        assertThat(child(stopped, NEW).get("rebuild_progress").asInt()).isEqualTo(-1);
        assertThat(refused("rebuild", "stats", "vol", NEW).err()).startsWith("panastor rebuild stats: NOT_FOUND:");
        assertThat(refused("rebuild", "start", "vol", FAST).err()).contains("FAILED_PRECONDITION").contains("nothing");

        // Started again, then its slow source faulted: --watch follows it to the end (one line per update off a terminal).
        ok("rebuild", "start", "vol", NEW);
        awaitState("Rebuilding");
        ok("nexus", "fault-child", "vol", SLOW);
        CliRun watched = ok("rebuild", "stats", "vol", NEW, "--watch", "--interval", "20");
        assertThat(watched.lines().getLast()).isEqualTo(NEW + " COMPLETED");
        // A poll may catch the job in its last state, COMPLETED with its figures, before the end line.
        assertThat(watched.lines().subList(0, watched.lines().size() - 1))
                .allSatisfy(l -> assertThat(l).matches(java.util.regex.Pattern.quote(NEW) + " (RUNNING|COMPLETED) full .*"));

        List<List<String>> history = rows(ok("rebuild", "history", "vol"));
        assertThat(history).extracting(r -> r.get(2)).containsExactly("STOPPED", "COMPLETED");
        assertThat(history.getLast().subList(0, 4)).containsExactly(NEW, "full", "COMPLETED", "2048/2048");
        JsonNode h = json("rebuild", "history", "vol", NEW).get("histories").get(0).get("records");
        assertThat(h).hasSize(2);
        assertThat(h.get(1).get("src_uri").asText()).isEqualTo(FAST);
        assertThat(rows(ok("rebuild", "history", "vol", FAST))).isEmpty();
        // Usage errors: exit 2; no such nexus: 1.
        assertThat(CliRun.of("rebuild", "stats", "vol", "--watch", "--engine", engine).code()).isEqualTo(2);
        assertThat(refused("rebuild", "history", "nope").err()).contains("NOT_FOUND");
    }
}
