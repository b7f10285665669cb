package io.panastor.api.client;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The pool and replica commands against a running engine: tables, JSON, the share URI, exit codes. */
class PoolCliTest extends EngineCliTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final long MiB = 1L << 20;

    Path disk(String name, long bytes) throws Exception {
        Path p = state.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(bytes);
        }
        return p;
    }

    CliRun ok(String... args) {
        String[] all = new String[args.length + 2];
        System.arraycopy(args, 0, all, 0, args.length);
        all[args.length] = "--engine";
        all[args.length + 1] = engine;
        CliRun r = CliRun.of(all);
        assertThat(r.code()).as("%s: %s", String.join(" ", args), r.err()).isZero();
        return r;
    }

    JsonNode json(String... args) throws Exception {
        String[] all = new String[args.length + 2];
        System.arraycopy(args, 0, all, 0, args.length);
        all[args.length] = "-o";
        all[args.length + 1] = "json";
        return JSON.readTree(ok(all).out());
    }

    @Test
    void poolsAndReplicasFromAShell() throws Exception {
        Path d = disk("d0.img", 64 * MiB);
        CliRun create = ok("pool", "create", "p0", d.toString(), "--cluster-size", "1MiB");
        assertThat(create.lines().getFirst()).startsWith("NAME").contains("CAPACITY").contains("USED").contains("CLUSTER");
        assertThat(create.lines().get(1)).startsWith("p0").contains("online").contains("1MiB").contains(d.toString());

        JsonNode r0 = json("replica", "create", "r0", "--pool", "p0", "--size", "16MiB", "--thin", "--share");
        String uuid = r0.get("uuid").asText();
        assertThat(r0.get("thin").asBoolean()).isTrue();
        assertThat(r0.get("share").asText()).isEqualTo("NVMF");
        String uri = "nvmf://127.0.0.1:" + f.daemon.replicaAddress().getPort() + "/nqn.2019-05.io.openebs:" + uuid;
        assertThat(r0.get("uri").asText()).startsWith(uri);
        // The same command again is the same replica.
        assertThat(json("replica", "create", "r0", "--pool", "p0", "--size", "16MiB", "--thin", "--share")
                .get("uuid").asText()).isEqualTo(uuid);
        ok("replica", "create", "r1", "--pool", "p0", "--size", "4MiB");

        CliRun list = ok("replica", "list");
        assertThat(list.lines()).hasSize(3);
        assertThat(list.lines().get(1)).startsWith("r0").contains("16MiB").contains("true").contains(uri);
        assertThat(list.lines().get(2)).startsWith("r1").contains("4MiB").contains("false");
        assertThat(json("pool", "list", "p0").get("pools").get(0).get("committed").asLong()).isEqualTo(20 * MiB);

        ok("replica", "unshare", "r0");
        assertThat(json("replica", "list", "r0").get("replicas").get(0).get("share").asText()).isEqualTo("NONE");
        assertThat(ok("replica", "share", "r0").lines()).as("the URI on a line of its own").containsExactly(uri);
        assertThat(json("replica", "resize", "r0", "32MiB").get("size").asLong()).isEqualTo(32 * MiB);

        try (RandomAccessFile f = new RandomAccessFile(d.toFile(), "rw")) {
            f.setLength(128 * MiB);
        }
        JsonNode grown = json("pool", "grow", "p0");
        assertThat(grown.get("current_pool").get("capacity").asLong())
                .isGreaterThan(grown.get("previous_pool").get("capacity").asLong());

        // Refusals: exit 1 and one line naming the code.
        CliRun busy = CliRun.of("pool", "destroy", "p0", "--engine", engine);
        assertThat(busy.code()).isEqualTo(1);
        assertThat(busy.err().lines().toList()).singleElement().asString()
                .startsWith("panastor pool destroy: FAILED_PRECONDITION:").contains("replica");
        CliRun shrink = CliRun.of("replica", "resize", "r0", "1MiB", "--engine", engine);
        assertThat(shrink.code()).isEqualTo(1);
        assertThat(shrink.err()).contains("INVALID_ARGUMENT");
        CliRun badSize = CliRun.of("replica", "create", "r2", "--pool", "p0", "--size", "lots", "--engine", engine);
        assertThat(badSize.code()).as("a usage error").isEqualTo(2);
        assertThat(badSize.err()).contains("lots");

        ok("replica", "destroy", "r1");
        ok("pool", "export", "p0");
        assertThat(ok("pool", "list").lines()).hasSize(1);
        JsonNode imported = json("pool", "import", "p0", d.toString());
        assertThat(imported.get("name").asText()).isEqualTo("p0");
        assertThat(json("replica", "list").get("replicas")).hasSize(1);
        assertThat(json("replica", "list", "r0").get("replicas").get(0).get("uri").asText())
                .as("shared again at import").startsWith(uri);
        ok("pool", "destroy", "p0", "--force");
        assertThat(ok("pool", "list").lines()).hasSize(1);
        assertThat(ok("replica", "list").lines()).hasSize(1);
    }
}
