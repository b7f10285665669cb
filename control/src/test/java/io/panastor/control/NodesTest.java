package io.panastor.control;

import io.panastor.api.control.v1.HeartbeatRequest;
import io.panastor.api.control.v1.NodeStatus;
import io.panastor.api.control.v1.RegisterRequest;
import io.panastor.control.store.FileStore;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Registration, heartbeats, the node timeout on a clock the test moves, cordons, restarts. */
class NodesTest {
    @TempDir
    Path dir;
    final AtomicLong now = new AtomicLong(1_000_000);
    final InstantSource clock = () -> Instant.ofEpochMilli(now.get());

    static RegisterRequest reg(String id, String instance) {
        return RegisterRequest.newBuilder().setId(id).setGrpcEndpoint("127.0.0.1:10124").setInstanceUuid(instance)
                .setHostnqn("nqn.2019-05.io.openebs:node-name:" + id).putLabels("zone", "a").build();
    }

    @Test
    void aNodeIsOfflineOnceItMissesHeartbeatsForTheTimeoutAndBackWhenOneArrives() throws Exception {
        Nodes n = new Nodes(new FileStore(dir), clock, Duration.ofSeconds(10));
        List<String> restarted = new ArrayList<>();
        n.onNewInstance(restarted::add);
        assertThat(n.status("a")).isEqualTo(NodeStatus.NODE_UNKNOWN);
        n.register(reg("a", "i1"));
        assertThat(n.status("a")).isEqualTo(NodeStatus.NODE_ONLINE);
        now.addAndGet(10_000);
        assertThat(n.status("a")).isEqualTo(NodeStatus.NODE_ONLINE);
        now.addAndGet(1);
        assertThat(n.status("a")).isEqualTo(NodeStatus.NODE_OFFLINE);
        n.heartbeat(HeartbeatRequest.newBuilder().setId("a").setInstanceUuid("i1").build());
        assertThat(n.status("a")).isEqualTo(NodeStatus.NODE_ONLINE);
        // A heartbeat from an instance it does not know is NOT_FOUND: the engine registers again.
        assertThatThrownBy(() -> n.heartbeat(HeartbeatRequest.newBuilder().setId("a").setInstanceUuid("i2").build()))
                .isInstanceOfSatisfying(ControlException.class,
                        e -> assertThat(e.code()).isEqualTo(io.grpc.Status.Code.NOT_FOUND));
        n.register(reg("a", "i1"));
        assertThat(restarted).containsExactly("a");
        n.register(reg("a", "i2"));
        assertThat(restarted).containsExactly("a", "a");
        n.deregister("a", "i2");
        assertThat(n.status("a")).isEqualTo(NodeStatus.NODE_OFFLINE);
    }

    @Test
    void cordonsAndRegistrationsSurviveARestartButLivenessDoesNot() throws Exception {
        Nodes n = new Nodes(new FileStore(dir), clock, Duration.ofSeconds(10));
        n.register(reg("a", "i1"));
        n.cordon("a", true);
        Nodes again = new Nodes(new FileStore(dir), clock, Duration.ofSeconds(10));
        assertThat(again.require("a").getCordoned()).isTrue();
        assertThat(again.require("a").getLabelsMap()).containsEntry("zone", "a");
        assertThat(again.status("a")).isEqualTo(NodeStatus.NODE_UNKNOWN);
        again.heartbeat(HeartbeatRequest.newBuilder().setId("a").setInstanceUuid("i1").build());
        assertThat(again.status("a")).isEqualTo(NodeStatus.NODE_ONLINE);
        // Re-registering keeps the cordon.
        again.register(reg("a", "i3"));
        assertThat(again.require("a").getCordoned()).isTrue();
        again.cordon("a", false);
        assertThat(again.require("a").getCordoned()).isFalse();
    }

    @Test
    void badRegistrationsAreRefusedAndChangeNothing() throws Exception {
        Nodes n = new Nodes(new FileStore(dir), clock, Duration.ofSeconds(10));
        assertThatThrownBy(() -> n.register(reg("a b", "i"))).hasMessageContaining("id 'a b'");
        assertThatThrownBy(() -> n.register(reg("a", "i").toBuilder().setGrpcEndpoint("nowhere").build()))
                .hasMessageContaining("grpc_endpoint");
        assertThatThrownBy(() -> n.register(reg("a", ""))).hasMessageContaining("instance_uuid");
        assertThatThrownBy(() -> n.register(reg("a", "i").toBuilder().setHostnqn("host").build()))
                .hasMessageContaining("hostnqn");
        assertThat(n.all()).isEmpty();
        assertThatThrownBy(() -> n.cordon("zz", true)).hasMessageContaining("node zz is not registered");
    }

    /**
     * A node cut off by the network: its TCP connection stays up and silent, so only a deadline
     * ends a call to it. A listing (what each reconcile pass asks every online node) gives up
     * after the node timeout, not the 30 s a change may take, so one silent node cannot hold the
     * reconcile loop — and the republish of the volumes it served — for the call deadline.
     */
    @Test
    void aListingOfASilentNodeGivesUpAfterTheNodeTimeoutNotTheCallDeadline() throws Exception {
        java.net.InetAddress loopback = java.net.InetAddress.getLoopbackAddress();
        try (java.net.ServerSocket silent = new java.net.ServerSocket(0, 50, loopback)) {
            List<java.net.Socket> held = new ArrayList<>();
            Thread accept = Thread.ofVirtual().start(() -> {
                try {
                    while (true) {
                        held.add(silent.accept());     // read nothing, answer nothing, close nothing
                    }
                } catch (java.io.IOException closed) {
                    // the test is over
                }
            });
            Nodes n = new Nodes(new FileStore(dir), clock, Duration.ofSeconds(1));
            n.register(reg("a", "i1").toBuilder().setGrpcEndpoint("127.0.0.1:" + silent.getLocalPort()).build());
            long start = System.nanoTime();
            assertThatThrownBy(() -> n.engine("a").listReplicas()).isInstanceOfSatisfying(ControlException.class,
                    e -> assertThat(e.code()).isEqualTo(io.grpc.Status.Code.UNAVAILABLE));
            assertThatThrownBy(() -> n.engine("a").listNexuses()).isInstanceOf(ControlException.class);
            // Both together well within one call deadline: neither waited it out.
            assertThat(Duration.ofNanos(System.nanoTime() - start))
                    .isLessThan(Duration.ofSeconds(EngineClient.CALL_SECONDS));
            n.close();
            silent.close();
            accept.join();
            for (java.net.Socket s : held) {
                s.close();
            }
        }
    }
}
