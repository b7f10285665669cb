package io.panastor.engine.nvmf.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BdevException;
import io.panastor.engine.bdev.Bdevs;
import io.panastor.engine.nvmf.RemoteTarget;
import io.panastor.engine.nvmf.tgt.NvmfTarget;
import io.panastor.reactor.Reactors;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Attaching nvmf:// bdevs: asynchronous, bounded by connect_timeout_ms, never holding the registry. */
class NvmfAttachTest {
    static final String NQN = "nqn.2026-11.io.panastor:attach-test";
    Reactors targetReactors;
    Reactors hostReactors;
    Bdevs targetBdevs;
    Bdevs hostBdevs;
    NvmfTarget target;
    InetSocketAddress address;
    RemoteTarget fixture;

    @BeforeEach
    void start() {
        targetReactors = Reactors.start(List.of(0), false, 256);
        hostReactors = Reactors.start(List.of(0, 0), false, 256);
        fixture = new RemoteTarget(targetReactors, hostReactors, NQN, "SN-ATTACH", "malloc:///remote?size_mb=8&blk_size=4096");
        targetBdevs = fixture.targetBdevs;
        target = fixture.target;
        address = fixture.address;
        hostBdevs = fixture.hostBdevs;
    }

    @AfterEach
    void stop() {
        fixture.close();
    }

    /** A peer that accepts TCP connections and never says a word, until it is told to hang up. */
    static final class SilentPeer implements AutoCloseable {
        final ServerSocket server;
        final List<Socket> accepted = new java.util.concurrent.CopyOnWriteArrayList<>();
        final CountDownLatch firstAccepted = new CountDownLatch(1);

        SilentPeer() throws IOException {
            server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            Thread.ofPlatform().daemon(true).name("silent-peer").start(() -> {
                try {
                    while (true) {
                        accepted.add(server.accept());
                        firstAccepted.countDown();
                    }
                } catch (IOException e) {
                    // closed
                }
            });
        }

        int port() {
            return server.getLocalPort();
        }

        void hangUp() throws IOException {
            for (Socket s : accepted) {
                s.close();
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
            hangUp();
        }
    }

    @Test
    void aSilentPeerBlocksNoOtherBdevOperationAndLeavesNothingRegistered() throws Exception {
        try (SilentPeer peer = new SilentPeer()) {
            String silent = "nvmf://127.0.0.1:" + peer.port() + "/" + NQN + "?connect_timeout_ms=600000";
            CompletableFuture<Bdev> pending = hostBdevs.createAsync(silent);
            assertThat(peer.firstAccepted.await(60, TimeUnit.SECONDS)).isTrue();
            // While that attach waits on the network, every other registry operation goes on.
            Bdev m = hostBdevs.create("malloc:///local?size_mb=1");
            assertThat(hostBdevs.list()).containsExactly(m);
            Bdev remote = hostBdevs.create("nvmf://127.0.0.1:" + address.getPort() + "/" + NQN);
            assertThat(remote.blockSize()).isEqualTo(4096);
            hostBdevs.destroy(m.name()).join();
            // An identical create joins the attach under way rather than starting another.
            assertThat(hostBdevs.createAsync(silent)).isSameAs(pending);
            assertThat(pending).isNotDone();
            peer.hangUp();
            assertThatThrownBy(pending::join).isInstanceOf(CompletionException.class)
                    .hasCauseInstanceOf(BdevException.class).hasMessageContaining("cannot attach");
            assertThat(hostBdevs.list()).containsExactly(remote);
            assertThat(peer.accepted).hasSize(1);
        }
    }

    @Test
    void anAttachThatNeverCompletesFailsAtItsConnectTimeout() throws Exception {
        try (SilentPeer peer = new SilentPeer()) {
            assertThatThrownBy(() -> hostBdevs.create("nvmf://127.0.0.1:" + peer.port() + "/" + NQN
                    + "?connect_timeout_ms=300&io_timeout_ms=600000"))
                    .isInstanceOf(BdevException.class).hasMessageContaining("connect_timeout_ms=300");
            assertThat(hostBdevs.list()).isEmpty();
        }
    }

    @Test
    void anIcRespTrickledByteByByteFailsAtTheDeadlineNotPerRead() throws Exception {
        // Each byte restarts no timer: the deadline is for the whole association.
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            CountDownLatch done = new CountDownLatch(1);
            Thread.ofPlatform().daemon(true).start(() -> {
                try (Socket s = server.accept()) {
                    s.getInputStream().readNBytes(128);
                    OutputStream out = s.getOutputStream();
                    byte[] icresp = new byte[128];
                    icresp[0] = 0x01;
                    icresp[2] = (byte) 128;
                    icresp[4] = (byte) 128;
                    icresp[13] = 0x10;      // MAXH2CDATA 4096
                    // One byte every 50 ms — the trickle is what is tested — until the host gives up.
                    for (int i = 0; i < icresp.length; i++) {
                        out.write(icresp[i]);
                        out.flush();
                        if (done.await(50, TimeUnit.MILLISECONDS)) {
                            break;
                        }
                    }
                    done.await();
                } catch (IOException | InterruptedException e) {
                    // the host gave up
                }
            });
            try {
                assertThatThrownBy(() -> hostBdevs.create("nvmf://127.0.0.1:" + server.getLocalPort() + "/" + NQN
                        + "?connect_timeout_ms=1000"))
                        .isInstanceOf(BdevException.class).hasMessageContaining("connect_timeout_ms=1000");
            } finally {
                done.countDown();
            }
        }
    }

    @Test
    void concurrentIdenticalCreatesMakeOneController() {
        String uri = "nvmf://127.0.0.1:" + address.getPort() + "/" + NQN;
        CompletableFuture<Bdev> a = hostBdevs.createAsync(uri);
        CompletableFuture<Bdev> b = hostBdevs.createAsync(uri);
        assertThat(a.join()).isSameAs(b.join());
        assertThat(target.controllers()).hasSize(1);
        assertThat(hostBdevs.list()).hasSize(1);
    }
}
