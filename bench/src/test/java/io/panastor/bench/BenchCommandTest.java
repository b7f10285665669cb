package io.panastor.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.panastor.api.cli.Panastor;
import io.panastor.engine.bdev.Bdevs;
import io.panastor.engine.nvmf.tgt.NvmfTarget;
import io.panastor.reactor.Reactors;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code panastor bench} as a user runs it, in this process: exit status, what goes to stdout
 * and stderr, and messages that name what is wrong.
 */
class BenchCommandTest {
    /** What a command printed and returned. */
    record Run(int exit, String out, String err) {
    }

    /** Runs the CLI with System.out and System.err captured (the bench prints there, as a user sees it). */
    static synchronized Run run(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        StringWriter picocliErr = new StringWriter();
        int exit;
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            var cmd = Panastor.commandLine();
            cmd.setErr(new PrintWriter(picocliErr, true));
            cmd.setOut(new PrintWriter(new StringWriter(), true));
            exit = cmd.execute(args);
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        return new Run(exit, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8) + picocliErr);
    }

    @Test
    void noTargetIsAUsageErrorNotASuccess() {
        Run r = run("bench");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("no TARGET given").contains("Try 'panastor bench --help'");
        assertThat(r.out()).isEmpty();
    }

    @Test
    void aBadValueNamesItsOptionAndTheValue() {
        String ram = "malloc:///m?size_mb=8";
        record Case(List<String> args, String message) {
        }
        for (Case c : List.of(
                new Case(List.of("--bs", "lots"), "Invalid value for option '--bs': not a size: 'lots'"),
                new Case(List.of("--bs", "2M"), "--bs 2 MiB is out of range: at most 1 MiB"),
                new Case(List.of("--size", "1.5G"), "Invalid value for option '--size': not a size: '1.5G'"),
                new Case(List.of("--qd", "0"), "--qd 0 is out of range: from 1 to 1024"),
                new Case(List.of("--qd", "many"), "Invalid value for option '--qd': 'many' is not an int"),
                new Case(List.of("--runtime", "500ms"), "Invalid value for option '--runtime': not a duration: '500ms'"),
                new Case(List.of("--runtime", "0"), "--runtime 0s is out of range: at least 1s"),
                new Case(List.of("--rwmix-read", "101"), "--rwmix-read 101 is out of range: from 0 to 100"),
                new Case(List.of("--rw", "sideways"), "Invalid value for option '--rw': unknown --rw 'sideways'"),
                new Case(List.of("-o", "yaml"), "Invalid value for option '--output': expected one of [table, json]"
                        + " (case-insensitive) but was 'yaml'"),
                new Case(List.of("--jobs", "4096"), "--jobs 4096 is out of range: from 1 to"))) {
            List<String> args = new ArrayList<>(List.of("bench"));
            args.addAll(c.args());
            args.add(ram);
            Run r = run(args.toArray(String[]::new));
            assertThat(r.exit()).as("%s", c.args()).isEqualTo(2);
            assertThat(r.err()).as("%s", c.args()).contains(c.message());
        }
        // A malformed TARGET is refused before anything runs, naming it.
        Run r = run("bench", ram, "nvmf://127.0.0.1:4420/not-an-nqn");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("TARGET").contains("nvmf://127.0.0.1:4420/not-an-nqn")
                .contains("the path must be the subsystem NQN");
        assertThat(r.out()).isEmpty();
    }

    @Test
    void verifyThatWouldCheckNothingIsRefused() {
        Run r = run("bench", "--verify", "--rw", "randwrite", "malloc:///m?size_mb=8");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("--verify with --rw randwrite would check nothing");
        r = run("bench", "--verify", "--rw", "randrw", "--rwmix-read", "0", "malloc:///m?size_mb=8");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("--verify with --rw randrw --rwmix-read 0 would check nothing");
    }

    @Test
    void failedIosMakeTheExitStatusNonZeroAndAreReported() throws Exception {
        Run r = run("bench", "--runtime", "1", "--ramp", "0", "--qd", "4", "corrupt:///flaky?size_mb=8&every=1000000000&fail_every=97");
        assertThat(r.exit()).isEqualTo(BenchCommand.EXIT_FAILED);
        assertThat(r.out()).contains("IO FAILED corrupt:///flaky").contains("IO_ERROR (EIO)");
        assertThat(r.err()).contains("1 of 1 runs failed");

        r = run("bench", "--runtime", "1", "--ramp", "0", "--qd", "4", "-o", "json",
                "corrupt:///flaky?size_mb=8&every=1000000000&fail_every=97");
        assertThat(r.exit()).isEqualTo(BenchCommand.EXIT_FAILED);
        JsonNode t = new ObjectMapper().readTree(r.out()).path("targets").get(0);
        assertThat(t.path("errors").asLong()).isPositive();
        assertThat(t.path("first_error").asText()).contains("IO_ERROR");
        assertThat(r.out()).doesNotContain("\r");
    }

    @Test
    void aTargetThatCannotBeAttachedFailsTheRunAndTheOthersStillRun() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();    // closed again: nothing listens there
        }
        String absent = "nvmf://127.0.0.1:" + port + "/nqn.2026-11.io.panastor:absent";
        Run r = run("bench", "--runtime", "1", "--ramp", "0", "--qd", "4", "malloc:///m?size_mb=8", absent);
        assertThat(r.exit()).isEqualTo(BenchCommand.EXIT_FAILED);
        List<String> rows = r.out().lines().toList();
        assertThat(rows.get(2)).startsWith("malloc:///m ").doesNotContain("FAILED");
        assertThat(rows.get(3)).startsWith("127.0.0.1:" + port + "/...:absent").endsWith("FAILED");
        assertThat(r.out()).contains("cannot attach " + absent).contains("cannot reach 127.0.0.1:" + port);
        assertThat(r.err()).contains("cannot attach " + absent);
    }

    @Test
    void aListenerThatNeverAnswersFailsWithinTheConnectTimeoutNamingTheAddress() throws Exception {
        try (Peer silent = new Peer(null)) {
            String uri = "nvmf://127.0.0.1:" + silent.port() + "/nqn.2026-11.io.panastor:x?connect_timeout_ms=300";
            Run r = run("bench", "--runtime", "1", "--ramp", "0", uri);
            assertThat(r.exit()).isEqualTo(BenchCommand.EXIT_FAILED);
            assertThat(r.err()).contains("127.0.0.1:" + silent.port()
                    + " accepted the connection but sent no ICResp (is it an NVMe/TCP target?) within "
                    + "connect_timeout_ms=300");
        }
    }

    @Test
    void aPeerThatIsNotNvmeTcpIsCalledThat() throws Exception {
        byte[] http = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        try (Peer web = new Peer(http)) {
            String uri = "nvmf://127.0.0.1:" + web.port() + "/nqn.2026-11.io.panastor:x";
            Run r = run("bench", "--runtime", "1", "--ramp", "0", uri);
            assertThat(r.exit()).isEqualTo(BenchCommand.EXIT_FAILED);
            assertThat(r.err()).contains("not an NVMe/TCP target: its first bytes are \"HTTP/1.1\", not an ICResp");
            r = run("bench", "connections", "--count", "1", "--idle-seconds", "1", uri);
            assertThat(r.exit()).isEqualTo(1);
            assertThat(r.err()).contains("not an NVMe/TCP target at").contains("it answered \"HTTP/1.1\"")
                    .doesNotContain("PDU length");
        }
        try (Peer silent = new Peer(null)) {
            Run r = run("bench", "connections", "--count", "1", "--idle-seconds", "1",
                    "nvmf://127.0.0.1:" + silent.port() + "/nqn.2026-11.io.panastor:x?connect_timeout_ms=300");
            assertThat(r.exit()).isEqualTo(1);
            assertThat(r.err()).contains("127.0.0.1:" + silent.port() + " sent no answer within 300 ms");
        }
    }

    @Test
    void aRefusedConnectNamesTheNvmeStatus() {
        String nqn = "nqn.2026-11.io.panastor:only-for-others";
        try (Reactors reactors = Reactors.start(List.of(io.panastor.natives.Cpu.allowedCpus().getLast()), true, 256)) {
            Bdevs bdevs = new Bdevs();
            bdevs.create("malloc:///served?size_mb=8&blk_size=4096");
            NvmfTarget target = new NvmfTarget(reactors, bdevs);
            try {
                target.createSubsystem(nqn, "SN", "M", false, List.of("nqn.2026-11.io.panastor:someone-else"));
                target.addNamespace(nqn, "served", 1);
                InetSocketAddress at = target.addListener("127.0.0.1", 0);
                Run r = run("bench", "--runtime", "1", "--ramp", "0", "nvmf://127.0.0.1:" + at.getPort() + "/" + nqn);
                assertThat(r.exit()).isEqualTo(BenchCommand.EXIT_FAILED);
                assertThat(r.err()).contains("the target refused the admin connect to " + nqn)
                        .contains("CONNECT_INVALID_HOST (SCT 1, SC 0x84, DNR)");
            } finally {
                target.close();
                bdevs.destroyAll().join();
            }
        }
    }

    @Test
    void serveAndNvmfUrisShareTheStandardPort() {
        var serve = Panastor.commandLine().getSubcommands().get("serve").getCommandSpec();
        assertThat((String) serve.findOption("--listen").initialValue())
                .endsWith(":" + io.panastor.engine.nvmf.host.NvmfUri.DEFAULT_PORT);
        assertThat(io.panastor.engine.nvmf.host.NvmfUri.DEFAULT_PORT).isEqualTo(4420);
    }

    /** A TCP listener on 127.0.0.1 that accepts and then says nothing, or answers anything with {@code reply}. */
    static final class Peer implements AutoCloseable {
        private final ServerSocket server;
        private final List<Socket> accepted = new ArrayList<>();
        private final Thread thread;

        Peer(byte[] reply) throws IOException {
            server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            thread = Thread.ofVirtual().start(() -> {
                while (!server.isClosed()) {
                    try {
                        Socket s = server.accept();
                        synchronized (accepted) {
                            accepted.add(s);
                        }
                        if (reply != null) {
                            Thread.ofVirtual().start(() -> answer(s, reply));
                        }
                    } catch (IOException e) {
                        return;     // closed
                    }
                }
            });
        }

        private static void answer(Socket s, byte[] reply) {
            try {
                InputStream in = s.getInputStream();
                if (in.read() >= 0) {
                    s.getOutputStream().write(reply);
                    s.getOutputStream().flush();
                }
            } catch (IOException e) {
                // the client went away
            }
        }

        int port() {
            return server.getLocalPort();
        }

        @Override
        public void close() throws Exception {
            server.close();
            thread.join();
            synchronized (accepted) {
                for (Socket s : accepted) {
                    s.close();
                }
            }
        }
    }
}
