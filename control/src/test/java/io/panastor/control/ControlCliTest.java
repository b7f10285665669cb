package io.panastor.control;

import io.panastor.api.client.CliRun;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;

/** The node, diskpool and volume commands against a control plane, as a user types them. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ControlCliTest {
    Cluster c;
    String at;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        c = new Cluster(dir, 2);
        at = "127.0.0.1:" + c.cpPort;
    }

    @AfterAll
    void stop() throws Exception {
        c.close();
    }

    CliRun run(String... args) {
        String[] all = java.util.Arrays.copyOf(args, args.length + 2);
        all[args.length] = "--control-plane";
        all[args.length + 1] = at;
        return CliRun.of(all);
    }

    @Test
    void nodesAndPools() {
        CliRun nodes = run("node", "list");
        assertThat(nodes.code()).as(nodes.err()).isZero();
        assertThat(nodes.lines().getFirst()).startsWith("ID").contains("STATUS", "CORDONED");
        assertThat(nodes.out()).containsPattern("node-1 +Online +no").containsPattern("node-2 +Online +no");
        CliRun cordon = run("node", "cordon", "node-2", "-o", "json");
        assertThat(cordon.code()).isZero();
        assertThat(cordon.out()).contains("\"cordoned\": true", "\"status\": \"NODE_ONLINE\"");
        assertThat(run("node", "uncordon", "node-2").out()).containsPattern("node-2 +Online +no");
        CliRun drain = run("node", "drain", "node-2", "--replicas");
        assertThat(drain.code()).as(drain.err()).isZero();
        assertThat(drain.out()).containsPattern("node-2 +Online +yes");
        assertThat(run("node", "uncordon", "node-2").out()).containsPattern("node-2 +Online +no");
        CliRun missing = run("node", "cordon", "node-9");
        assertThat(missing.code()).isEqualTo(1);
        assertThat(missing.err()).contains("NOT_FOUND: node node-9 is not registered");

        CliRun pools = run("diskpool", "list", "-o", "yaml");
        assertThat(pools.code()).isZero();
        assertThat(pools.out()).contains("name: pool-1", "node: node-1", "cr_state: CR_CREATED",
                "pool_status: POOL_STATUS_ONLINE");
        assertThat(run("diskpool", "list").out()).containsPattern("pool-2 +node-2 +Created +Online");
        CliRun bad = run("diskpool", "create", "bad", "--node", "node-1", "/no/such/disk");
        assertThat(bad.code()).as(bad.out()).isEqualTo(1);
        assertThat(bad.err()).contains("diskpool create:");
        assertThat(run("diskpool", "list").out()).doesNotContain("bad");
        CliRun usage = run("diskpool", "create", "x", "/dev/null");
        assertThat(usage.code()).isEqualTo(2);
    }

    @Test
    void aVolumeThroughTheCli() {
        CliRun made = run("volume", "create", "cli-v", "--size", "8MiB", "--replicas", "2", "-o", "json");
        assertThat(made.code()).as(made.err()).isZero();
        assertThat(made.out()).contains("\"name\": \"cli-v\"", "\"replicas\": 2", "\"status\": \"VOLUME_ONLINE\"");
        CliRun pub = run("volume", "publish", "cli-v", "--node", "node-1");
        assertThat(pub.code()).as(pub.err()).isZero();
        assertThat(pub.out().strip()).startsWith("nvmf://127.0.0.1:").contains("nqn.2019-05.io.openebs:");
        CliRun get = run("volume", "get", "cli-v", "-o", "yaml");
        assertThat(get.out()).contains("target_node: node-1", "uri: " + pub.out().strip());
        assertThat(run("volume", "resize", "cli-v", "16MiB").out()).containsPattern("cli-v +Online +16MiB");
        assertThat(run("volume", "scale", "cli-v", "1").out()).containsPattern("cli-v +Online +16MiB +1 ");
        assertThat(run("volume", "list").out()).contains("cli-v");
        assertThat(run("volume", "unpublish", "cli-v").out()).containsPattern("cli-v +Online +16MiB +1 +no +- +-");
        // What the control plane did, oldest first, as kubectl describe shows events.
        assertThat(run("volume", "get", "cli-v").out()).containsPattern("(?s)EVENT +TYPE +REASON.*Normal +Created .*"
                + "Normal +Published +1 +nexus on node node-1.*Unpublished");
        assertThat(run("volume", "destroy", "cli-v").out()).contains("destroyed volume cli-v");
        CliRun gone = run("volume", "get", "cli-v");
        assertThat(gone.code()).isEqualTo(1);
        assertThat(gone.err()).contains("NOT_FOUND: volume cli-v does not exist");
        CliRun tooMany = run("volume", "create", "cli-w", "--size", "8MiB", "--replicas", "3");
        assertThat(tooMany.code()).isEqualTo(1);
        assertThat(tooMany.err()).contains("RESOURCE_EXHAUSTED", "2 qualify");
    }

    @Test
    void theBenchMakesPublishesAndDestroysItsVolumes() {
        CliRun b = run("volume", "bench", "--volumes", "3", "--replicas", "2", "--size", "4MiB");
        assertThat(b.code()).as(b.err()).isZero();
        assertThat(b.out()).containsPattern("create\\+publish +3 ").containsPattern("destroy +3 ");
        assertThat(c.cp.volumes.all()).noneMatch(v -> v.getSpec().getName().startsWith("bench-"));
    }

    @Test
    void theBenchUnpublishesBeforeDestroyingAndKeepsWhenAsked() {
        CliRun cycle = run("volume", "bench", "--volumes", "2", "--replicas", "2", "--size", "4MiB", "--unpublish");
        assertThat(cycle.code()).as(cycle.err()).isZero();
        assertThat(cycle.out()).containsPattern("(?m)^unpublish +2 ").containsPattern("(?m)^destroy +2 ");
        CliRun kept = run("volume", "bench", "--volumes", "3", "--replicas", "1", "--size", "4MiB", "--warmup", "0",
                "--publish", "1", "--keep");
        assertThat(kept.code()).as(kept.err()).isZero();
        assertThat(kept.out()).containsPattern("(?m)^create +3 ").containsPattern("(?m)^publish +1 ")
                .containsPattern("(?m)^destroy +0 ");
        var left = c.cp.volumes.all().stream().filter(v -> v.getSpec().getName().startsWith("bench-")).toList();
        assertThat(left).hasSize(3).filteredOn(v -> !v.getTargetNode().isEmpty()).hasSize(1);
        // The other tests share this control plane and look for no bench volume.
        left.forEach(v -> assertThat(run("volume", "destroy", v.getSpec().getName()).code()).isZero());
    }

    @Test
    void noControlPlaneIsExitThree() throws Exception {
        CliRun r = CliRun.of("node", "list", "--control-plane", "127.0.0.1:" + Cluster.freePort(), "--timeout", "5");
        assertThat(r.code()).isEqualTo(3);
        assertThat(r.err()).contains("no answer from a control plane");
    }
}
