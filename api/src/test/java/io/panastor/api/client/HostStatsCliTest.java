package io.panastor.api.client;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.panastor.engine.Engine;
import io.panastor.engine.bdev.BlockPattern;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import org.junit.jupiter.api.Test;

/** {@code stats}, {@code host ...} and {@code discover} as a person and a script use them. */
class HostStatsCliTest extends EngineCliTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void statsCountTheIoAndResetZeroesThem() throws Exception {
        assertThat(CliRun.of("bdev", "create", "malloc:///m0?size_mb=8&blk_size=4096", "--engine", engine).code()).isZero();
        Engine e = f.daemon.engine();
        try (Arena a = Arena.ofShared()) {
            MemorySegment buf = a.allocate(4096, 4096);
            new BlockPattern().fill(buf, 0, 4096, 0, 1, 1);
            for (int i = 0; i < 5; i++) {
                assertThat(Engine.await(e.write("m0", i, 1, buf)).ok()).isTrue();
            }
        }
        CliRun table = CliRun.of("stats", "--engine", engine);
        assertThat(table.code()).as(table.err()).isZero();
        assertThat(table.lines().get(0)).startsWith("NAME").contains("WRITES").contains("WRITE AVG us");
        assertThat(table.lines().get(1).split("\\s+")).startsWith("m0", "0", "0B", "5", "20KiB");

        CliRun json = CliRun.of("stats", "m0", "-o", "json", "--reset", "--engine", engine);
        assertThat(json.code()).as(json.err()).isZero();
        JsonNode s = JSON.readTree(json.out()).get("stats").get(0);
        assertThat(s.get("num_write_ops").asLong()).isEqualTo(5);
        assertThat(s.get("bytes_written").asLong()).isEqualTo(5 * 4096);
        JsonNode after = JSON.readTree(CliRun.of("stats", "m0", "-o", "json", "--engine", engine).out()).get("stats").get(0);
        assertThat(after.get("num_write_ops").asLong()).as("reset").isZero();

        CliRun missing = CliRun.of("stats", "nope", "--engine", engine);
        assertThat(missing.code()).isEqualTo(1);
        assertThat(missing.err()).startsWith("panastor stats: NOT_FOUND:").contains("nope");
    }

    @Test
    void hostInfoShowsVersionNodeAndReactors() throws Exception {
        CliRun info = CliRun.of("host", "info", "--engine", engine);
        assertThat(info.code()).as(info.err()).isZero();
        assertThat(info.out()).contains("node      test-node").contains("grpc      " + engine).contains("REACTOR");
        JsonNode j = JSON.readTree(CliRun.of("host", "info", "-o", "json", "--engine", engine).out());
        assertThat(j.get("node_name").asText()).isEqualTo("test-node");
        assertThat(j.get("reactors")).hasSize(1);
        assertThat(CliRun.of("host", "target", "--engine", engine).out()).contains("nqn.2014-08.org.nvmexpress.discovery");
        assertThat(CliRun.of("host", "controllers", "-o", "json", "--engine", engine).code()).isZero();
        assertThat(CliRun.of("host", "block-devices", "--all", "--engine", engine).code()).isZero();
    }

    @Test
    void discoverReadsAnyTargetsLogAndSaysWhenThereIsNone() throws Exception {
        assertThat(CliRun.of("bdev", "create", "malloc:///m0?size_mb=8", "--engine", engine).code()).isZero();
        assertThat(CliRun.of("bdev", "share", "m0", "--engine", engine).code()).isZero();
        String at = "127.0.0.1:" + f.daemon.replicaAddress().getPort();
        CliRun d = CliRun.of("discover", at, "-o", "json");
        assertThat(d.code()).as(d.err()).isZero();
        JsonNode entries = JSON.readTree(d.out());
        assertThat(entries).anySatisfy(n -> {
            assertThat(n.get("subnqn").asText()).isEqualTo("nqn.2019-05.io.openebs:m0");
            assertThat(n.get("traddr").asText()).isEqualTo("127.0.0.1");
            assertThat(n.get("trsvcid").asText()).isEqualTo(Integer.toString(f.daemon.replicaAddress().getPort()));
        });
        CliRun table = CliRun.of("discover", at);
        assertThat(table.lines().getFirst()).startsWith("SUBTYPE");
        assertThat(table.out()).contains("nqn.2019-05.io.openebs:m0");

        int closed;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closed = s.getLocalPort();
        }
        CliRun refused = CliRun.of("discover", "127.0.0.1:" + closed);
        assertThat(refused.code()).isEqualTo(3);
        assertThat(refused.err()).contains("127.0.0.1:" + closed);

        // An HTTP server is not an NVMe/TCP target, and is named as such.
        try (ServerSocket http = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Thread server = Thread.ofVirtual().start(() -> {
                try (Socket c = http.accept(); InputStream in = c.getInputStream(); OutputStream out = c.getOutputStream()) {
                    in.readNBytes(8);
                    out.write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".repeat(4).getBytes());
                    out.flush();
                    in.read();
                } catch (IOException ignored) {
                    // the client went away
                }
            });
            CliRun notNvme = CliRun.of("discover", "127.0.0.1:" + http.getLocalPort(), "--timeout", "20");
            assertThat(notNvme.code()).isEqualTo(1);
            assertThat(notNvme.err()).containsIgnoringCase("NVMe/TCP");
            server.join();
        }
    }
}
