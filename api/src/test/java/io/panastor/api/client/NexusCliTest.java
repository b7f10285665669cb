package io.panastor.api.client;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The nexus commands against a running engine: each once, its table or JSON parsed; names resolved to UUIDs; exit codes. */
class NexusCliTest extends EngineCliTest {
    static final long MiB = 1L << 20;
    static final String M0 = "malloc:///cm0?size_mb=32&blk_size=4096";
    static final String M1 = "malloc:///cm1?size_mb=32&blk_size=4096";
    static final String M2 = "malloc:///cm2?size_mb=32&blk_size=4096";

    CliRun ok(String... args) {
        String[] all = new String[args.length + 2];
        System.arraycopy(args, 0, all, 0, args.length);
        all[args.length] = "--engine";
        all[args.length + 1] = engine;
        CliRun r = CliRun.of(all);
        assertThat(r.code()).as("%s: %s", String.join(" ", args), r.err()).isZero();
        return r;
    }

    CliRun refused(String... args) {
        String[] all = new String[args.length + 2];
        System.arraycopy(args, 0, all, 0, args.length);
        all[args.length] = "--engine";
        all[args.length + 1] = engine;
        CliRun r = CliRun.of(all);
        assertThat(r.code()).as("%s: %s", String.join(" ", args), r.err()).isEqualTo(1);
        assertThat(r.err().lines().toList()).hasSize(1);
        return r;
    }

    JsonNode json(String... args) throws Exception {
        String[] all = new String[args.length + 2];
        System.arraycopy(args, 0, all, 0, args.length);
        all[args.length] = "-o";
        all[args.length + 1] = "json";
        return PoolCliTest.JSON.readTree(ok(all).out());
    }

    /** The table's rows after the header, split on runs of two spaces or more. */
    static List<List<String>> rows(CliRun r) {
        return r.lines().stream().skip(1).map(l -> List.of(l.strip().split("\\s{2,}"))).toList();
    }

    JsonNode child(JsonNode nexus, String uri) {
        for (JsonNode c : nexus.get("children")) {
            if (c.get("uri").asText().equals(uri)) {
                return c;
            }
        }
        throw new AssertionError("no child " + uri + " in " + nexus);
    }

    @Test
    void everyNexusCommandFromAShell() throws Exception {
        // create: table, the UUID a new one.
        CliRun create = ok("nexus", "create", "vol", "--size", "16MiB", M0, M1);
        assertThat(create.lines().getFirst()).startsWith("NAME").contains("STATE").contains("SIZE")
                .contains("DEVICE URI").contains("UUID");
        List<List<String>> rows = rows(create);
        assertThat(rows.get(0).subList(0, 3)).containsExactly("vol", "ONLINE", "16MiB");
        String uuid = rows.get(0).get(3);
        assertThat(UUID.fromString(uuid).toString()).isEqualTo(uuid);
        assertThat(rows.get(1)).containsExactly(M0, "ONLINE");
        assertThat(rows.get(2)).containsExactly(M1, "ONLINE");
        // The same command again is the same nexus; --uuid is taken as given.
        assertThat(json("nexus", "create", "vol", "--size", "16MiB", M0, M1).get("uuid").asText()).isEqualTo(uuid);
        String u2 = UUID.randomUUID().toString();
        assertThat(json("nexus", "create", "vol2", "--size", "8MiB", "--uuid", u2, M2).get("uuid").asText())
                .isEqualTo(u2);

        // list: both, children beneath; by name; as JSON.
        CliRun list = ok("nexus", "list");
        assertThat(rows(list)).extracting(r -> r.getFirst()).containsExactly("vol", M0, M1, "vol2", M2);
        assertThat(rows(ok("nexus", "list", u2)).getFirst().getFirst()).isEqualTo("vol2");
        assertThat(json("nexus", "list", "vol").get("nexus_list")).hasSize(1);

        // publish by name: the device URI on a line of its own.
        String uri = "nvmf://127.0.0.1:" + f.daemon.nexusAddress().getPort() + "/nqn.2019-05.io.openebs:" + uuid;
        String host = "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-0000000000dd";
        assertThat(ok("nexus", "publish", "vol", "--allow-host", host).lines()).containsExactly(uri);
        JsonNode published = json("nexus", "list", "vol").get("nexus_list").get(0);
        assertThat(published.get("device_uri").asText()).isEqualTo(uri);
        assertThat(published.get("allowed_hosts").get(0).asText()).isEqualTo(host);
        assertThat(rows(ok("nexus", "list", "vol")).getFirst()).contains(uri);

        // Children: fault, online, offline (for now and for good), add, remove.
        JsonNode faulted = json("nexus", "fault-child", "vol", M1);
        assertThat(faulted.get("state").asText()).isEqualTo("NEXUS_DEGRADED");
        assertThat(child(faulted, M1).get("state").asText()).isEqualTo("CHILD_STATE_FAULTED");
        assertThat(child(faulted, M1).get("state_reason").asText()).isEqualTo("CHILD_STATE_REASON_BY_CLIENT");
        assertThat(rows(ok("nexus", "list", "vol"))).contains(List.of(M1, "FAULTED/BY_CLIENT"));
        // Online: rebuilt (in full: it was faulted by the client), then ONLINE again.
        ok("nexus", "online-child", "vol", M1);
        ok("rebuild", "stats", "vol", M1, "--watch", "--interval", "20");   // exit 0: it completed
        assertThat(rows(ok("nexus", "list", "vol"))).contains(List.of(M1, "ONLINE"));
        assertThat(rows(ok("rebuild", "history", "vol"))).anySatisfy(r -> assertThat(r).startsWith(M1, "full",
                "COMPLETED"));
        assertThat(child(json("nexus", "offline-child", "vol", M1), M1).get("state_reason").asText())
                .isEqualTo("CHILD_STATE_REASON_CLOSED");
        assertThat(child(json("nexus", "offline-child", "vol", M1, "--permanent"), M1).get("state_reason").asText())
                .isEqualTo("CHILD_STATE_REASON_BY_CLIENT");
        String m3 = "malloc:///cm3?size_mb=32&blk_size=4096";
        assertThat(child(json("nexus", "add-child", "vol", m3, "--norebuild"), m3).get("state").asText())
                .isEqualTo("CHILD_STATE_DEGRADED");
        JsonNode removed = json("nexus", "remove-child", "vol", m3);
        assertThat(removed.get("children")).hasSize(2);
        // The last healthy child stays: refused, exit 1, one line naming the code.
        assertThat(refused("nexus", "remove-child", "vol", M0).err())
                .startsWith("panastor nexus remove-child: FAILED_PRECONDITION:").contains("last healthy");

        // resize, by UUID this time.
        assertThat(json("nexus", "resize", uuid, "32MiB").get("size").asLong()).isEqualTo(32 * MiB);
        assertThat(refused("nexus", "resize", "vol", "8MiB").err()).contains("INVALID_ARGUMENT");

        // unpublish, shutdown, destroy.
        assertThat(json("nexus", "unpublish", "vol").get("device_uri").asText()).isEmpty();
        assertThat(rows(ok("nexus", "shutdown", "vol")).getFirst().get(1)).isEqualTo("SHUTDOWN");
        ok("nexus", "destroy", "vol");
        ok("nexus", "destroy", "vol");   // gone already: no error
        ok("nexus", "destroy", "vol2");
        assertThat(ok("nexus", "list").lines()).hasSize(1);

        // An unknown nexus: exit 1, NOT_FOUND; a usage error: exit 2.
        assertThat(refused("nexus", "publish", "nope").err()).contains("NOT_FOUND").contains("nope");
        CliRun usage = CliRun.of("nexus", "create", "x", "--size", "lots", M0, "--engine", engine);
        assertThat(usage.code()).isEqualTo(2);
        CliRun noChildren = CliRun.of("nexus", "create", "x", "--size", "8MiB", "--engine", engine);
        assertThat(noChildren.code()).isEqualTo(2);
    }
}
