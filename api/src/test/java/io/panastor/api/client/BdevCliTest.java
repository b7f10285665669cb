package io.panastor.api.client;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.InetAddress;
import java.net.ServerSocket;
import org.junit.jupiter.api.Test;

/** The bdev commands against a running engine: tables, JSON a script parses, exit codes and one-line errors. */
class BdevCliTest extends EngineCliTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String M0 = "malloc:///m0?size_mb=64&blk_size=4096";

    @Test
    void createListShareUnshareDestroyAsTablesAndJson() throws Exception {
        CliRun create = CliRun.of("bdev", "create", M0, "--engine", engine);
        assertThat(create.code()).as(create.err()).isZero();
        assertThat(create.lines().getFirst()).startsWith("NAME").contains("SIZE").contains("SHARE URI");
        assertThat(create.lines().get(1)).startsWith("m0").contains("64MiB").contains("4096");
        assertThat(create.err()).isEmpty();

        CliRun share = CliRun.of("bdev", "share", "m0", "--engine", engine,
                "--allow-host", "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-0000000000bb");
        assertThat(share.code()).as(share.err()).isZero();
        String uri = "nvmf://127.0.0.1:" + f.daemon.replicaAddress().getPort() + "/nqn.2019-05.io.openebs:m0";
        assertThat(share.lines()).as("the URI on a line of its own").containsExactly(uri);

        CliRun list = CliRun.of("bdev", "list", "-o", "json", "--engine", engine);
        assertThat(list.code()).as(list.err()).isZero();
        JsonNode bdevs = JSON.readTree(list.out()).get("bdevs");
        assertThat(bdevs).hasSize(1);
        assertThat(bdevs.get(0).get("name").asText()).isEqualTo("m0");
        assertThat(bdevs.get(0).get("num_blocks").asLong()).isEqualTo(64L * 1024 * 1024 / 4096);
        assertThat(bdevs.get(0).get("share_uri").asText()).isEqualTo(uri);

        assertThat(CliRun.of("bdev", "unshare", "m0", "--engine", engine).code()).isZero();
        JsonNode one = JSON.readTree(CliRun.of("bdev", "list", "m0", "-o", "json", "--engine", engine).out());
        assertThat(one.get("bdevs").get(0).get("share_uri").asText()).isEmpty();

        CliRun destroy = CliRun.of("bdev", "destroy", "m0", "--engine", engine);
        assertThat(destroy.code()).as(destroy.err()).isZero();
        assertThat(destroy.out()).isEmpty();
        assertThat(CliRun.of("bdev", "list", "--engine", engine).lines()).hasSize(1);   // the header alone
    }

    @Test
    void whatTheEngineRefusesExitsOneWithOneLineNamingIt() {
        CliRun r = CliRun.of("bdev", "destroy", "nope", "--engine", engine);
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).isEmpty();
        assertThat(r.err().lines().toList()).singleElement().asString()
                .startsWith("panastor bdev destroy: NOT_FOUND:").contains("nope");

        CliRun bad = CliRun.of("bdev", "create", "frob:///x", "--engine", engine);
        assertThat(bad.code()).isEqualTo(1);
        assertThat(bad.err().lines().toList()).singleElement().asString().contains("INVALID_ARGUMENT").contains("frob");
    }

    @Test
    void noEngineThereExitsThreeNamingTheAddress() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        CliRun r = CliRun.of("bdev", "list", "--engine", "127.0.0.1:" + port);
        assertThat(r.code()).isEqualTo(3);
        assertThat(r.err().lines().toList()).singleElement().asString()
                .contains("no answer from an engine at 127.0.0.1:" + port);
    }

    @Test
    void aBadOptionValueIsAUsageErrorNamingTheOptionAndTheValue() {
        CliRun r = CliRun.of("bdev", "list", "--engine", "localhost:http");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--engine").contains("localhost:http");
        CliRun o = CliRun.of("bdev", "list", "-o", "yaml", "--engine", engine);
        assertThat(o.code()).isEqualTo(2);
        assertThat(o.err()).contains("--output").contains("yaml");
    }
}
