package io.panastor.engine.nvmf.host;

import static io.panastor.engine.Failures.failure;
import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.engine.Engine;
import io.panastor.engine.error.EngineException;
import io.panastor.engine.stats.DiscoveryEntry;
import io.panastor.reactor.Reactors;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

/** {@link Engine#discover}: the discovery log of a target, and the clear errors of addresses that are not one. */
class DiscoveryTest {
    static final String NQN_A = "nqn.2026-12.io.panastor:discovery-a";
    static final String NQN_B = "nqn.2026-12.io.panastor:discovery-b";
    static final String HOST = "nqn.2026-12.io.panastor:discovering-host";
    static final Duration TIMEOUT = Duration.ofSeconds(5);

    /** A new engine for each test, closed after it. */
    @AutoClose
    final Engine engine = Engine.start(Reactors.builder().count(1).pin(false));

    @Test
    void discoveryListsEachSubsystemTheHostMayUseAtEachListener() {
        engine.createSubsystem(NQN_A, "SN-A", "discovery", true, List.of()).join();
        engine.createSubsystem(NQN_B, "SN-B", "discovery", false, List.of(HOST)).join();
        engine.createSubsystem("nqn.2026-12.io.panastor:discovery-hidden", "SN-C", "discovery", false,
                List.of("nqn.2026-12.io.panastor:someone-else")).join();
        InetSocketAddress at = engine.addListener("127.0.0.1", 0).join();

        List<DiscoveryEntry> entries = engine.discover("127.0.0.1", at.getPort(), HOST, TIMEOUT).join();

        assertThat(entries).extracting(DiscoveryEntry::subnqn).containsExactlyInAnyOrder(NQN_A, NQN_B);
        assertThat(entries).allSatisfy(e -> {
            assertThat(e.trtype()).isEqualTo("tcp");
            assertThat(e.adrfam()).isEqualTo("ipv4");
            assertThat(e.subtype()).isEqualTo("nvme");
            assertThat(e.traddr()).isEqualTo("127.0.0.1");
            assertThat(e.trsvcid()).isEqualTo(Integer.toString(at.getPort()));
            assertThat(e.portId()).isPositive();
            assertThat(e.cntlid()).isEqualTo(0xFFFF);
        });
        // The discovery controller was disconnected: only connections of later discoveries remain.
        engine.discover("127.0.0.1", at.getPort(), null, TIMEOUT).join();
        io.panastor.engine.Await.until("the discovery connections close", Duration.ofSeconds(5),
                () -> engine.targetConnections().join().isEmpty());
    }

    @Test
    void aLogLargerThanOneGetLogPageIsReadInPieces() {
        int subsystems = Discovery.LOG_CHUNK_BYTES / 1024 + 3;
        for (int i = 0; i < subsystems; i++) {
            engine.createSubsystem(NQN_A + i, "SN" + i, "discovery", true, List.of()).join();
        }
        InetSocketAddress at = engine.addListener("127.0.0.1", 0).join();
        InetSocketAddress second = engine.addListener("127.0.0.1", 0).join();

        List<DiscoveryEntry> entries = engine.discover("127.0.0.1", at.getPort(), HOST, TIMEOUT).join();

        assertThat(entries).hasSize(2 * subsystems);
        assertThat(entries).extracting(DiscoveryEntry::trsvcid).containsOnly(Integer.toString(at.getPort()),
                Integer.toString(second.getPort()));
    }

    @Test
    void aRefusedAddressIsUnavailableAndNamed() throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        EngineException e = failure(engine.discover("127.0.0.1", port, HOST, TIMEOUT), EngineException.Reason.UNAVAILABLE);
        assertThat(e.getMessage()).contains("127.0.0.1:" + port).contains("ECONNREFUSED");
    }

    @Test
    void aPeerThatDoesNotSpeakNvmeTcpSaysSo() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            Thread.ofPlatform().daemon(true).name("garbage-peer").start(() -> {
                try (Socket s = server.accept(); OutputStream out = s.getOutputStream()) {
                    s.getInputStream().read(new byte[128]);
                    out.write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".repeat(4)
                            .getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    s.getInputStream().read();
                } catch (IOException ignored) {
                    // the engine hung up
                }
            });
            EngineException e = failure(engine.discover("127.0.0.1", server.getLocalPort(), HOST, TIMEOUT),
                    EngineException.Reason.IO_ERROR);
            assertThat(e.getMessage()).contains("127.0.0.1:" + server.getLocalPort()).contains("does not speak NVMe/TCP");
        }
    }

    @Test
    void aPeerThatNeverAnswersTimesOut() throws Exception {
        try (NvmfAttachTest.SilentPeer peer = new NvmfAttachTest.SilentPeer()) {
            EngineException e = failure(engine.discover("127.0.0.1", peer.port(), HOST, Duration.ofMillis(300)),
                    EngineException.Reason.UNAVAILABLE);
            assertThat(e.getMessage()).isEqualTo("no answer from 127.0.0.1:" + peer.port() + " within 0.3s");
        }
    }

    @Test
    void badArgumentsAreRefused() {
        failure(engine.discover("", 4420, HOST, TIMEOUT), EngineException.Reason.INVALID_ARGUMENT);
        failure(engine.discover("127.0.0.1", 0, HOST, TIMEOUT), EngineException.Reason.INVALID_ARGUMENT);
        failure(engine.discover("127.0.0.1", 4420, HOST, Duration.ZERO), EngineException.Reason.INVALID_ARGUMENT);
        // The discovery subsystem is discovered, not attached as a bdev.
        assertThat(failure(engine.createBdev("nvmf://127.0.0.1:4420/" + io.panastor.engine.nvmf.proto.NvmeOpcodes
                .DISCOVERY_NQN), EngineException.Reason.INVALID_ARGUMENT).getMessage()).contains("discover");
    }
}
