package io.panastor.control;

import io.panastor.api.control.v1.CreateVolumeRequest;
import io.panastor.api.control.v1.Volume;
import io.panastor.api.control.v1.VolumeRecord;
import io.panastor.api.control.v1.VolumeReplica;
import io.panastor.api.control.v1.VolumeStatus;
import io.panastor.engine.Await;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;

/** node drain: cordoned, its nexuses moved to other nodes and (when asked) its replicas rebuilt elsewhere, data intact. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DrainTest {
    /** The control plane's store: its files here; custom resources in the KubernetesDrainTest subclass. */
    Cluster.Stores stores() {
        return Cluster.Stores.FILE;
    }

    static final long MiB = 1 << 20;
    Cluster c;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        c = new Cluster(dir, 3, CrashPoints.NONE, ControlPlane.Config.DEFAULT_REPLICA_WAIT, stores());
    }

    @AfterAll
    void stop() throws Exception {
        c.close();
    }

    @Test
    void aDrainedNodeKeepsNoNexusAndNoReplica() {
        Volume v = c.cp.volumes.create(CreateVolumeRequest.newBuilder().setName("drained").setSize(16 * MiB)
                .setReplicas(2).build());
        String uuid = v.getSpec().getUuid();
        String node = v.getState().getReplicas(0).getNode();
        String uri = c.cp.volumes.publish("drained", node, List.of()).getState().getUri();
        String b = c.connect(uri);
        c.write(b, 0, 64, 21);
        c.write(b, 2500, 64, 22);
        c.disconnect(b);

        c.cp.volumes.drain(node, true);
        assertThat(c.cp.nodes.require(node).getCordoned()).isTrue();
        VolumeRecord r = c.cp.volumes.require("drained");
        assertThat(r.getTargetNode()).isNotEqualTo(node).isNotEmpty();
        assertThat(r.getReplicasList()).hasSize(2).noneMatch(x -> x.getNode().equals(node));
        assertThat(c.nexuses(node)).noneMatch(n -> n.getUuid().equals(uuid));
        assertThat(c.replicas(node)).noneMatch(x -> x.getEntityId().equals(uuid));
        Await.until("the moved replica rebuilt", Duration.ofSeconds(120), () -> {
            Volume now = c.cp.volumes.view(c.cp.volumes.require("drained"));
            return now.getState().getStatus() == VolumeStatus.VOLUME_ONLINE
                    && now.getState().getReplicasList().stream().map(VolumeReplica::getState).allMatch("Online"::equals);
        });
        String b2 = c.connect(r.getUri());
        assertThat(c.readsBack(b2, 0, 64, 21) && c.readsBack(b2, 2500, 64, 22)).isTrue();
        c.disconnect(b2);
        c.cp.nodes.cordon(node, false);
        c.cp.volumes.destroy("drained");
        assertThat(c.replicasOf(uuid)).isEmpty();
    }
}
