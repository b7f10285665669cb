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
}
