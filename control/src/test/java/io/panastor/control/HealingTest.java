package io.panastor.control;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.panastor.api.control.v1.CreateVolumeRequest;
import io.panastor.api.control.v1.GetNexusHealthRequest;
import io.panastor.api.control.v1.NexusHealthGrpc;
import io.panastor.api.control.v1.NexusHealthRecord;
import io.panastor.api.control.v1.NodeStatus;
import io.panastor.api.control.v1.PutNexusHealthRequest;
import io.panastor.api.control.v1.Volume;
import io.panastor.api.control.v1.VolumeRecord;
import io.panastor.api.control.v1.VolumeReplica;
import io.panastor.api.control.v1.VolumeStatus;
import io.panastor.api.v1.Replica;
import io.panastor.engine.Await;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Volumes heal without a person (the replica wait window 0 here, so a replica out is replaced
 * at the next pass): a replica whose engine stopped is replaced on another node and rebuilt,
 * and the stopped engine's copy is collected when it is back; a volume whose nexus node stopped
 * is republished on a node with a healthy replica, its replicas fenced to the new nexus node
 * first, its data intact, and the old node's replica put back in when it returns.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HealingTest {
    /** The control plane's store: its files here; custom resources in the KubernetesHealingTest subclass. */
    Cluster.Stores stores() {
        return Cluster.Stores.FILE;
    }

    static final long MiB = 1 << 20;
    Cluster c;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        c = new Cluster(dir, 4, CrashPoints.NONE, Duration.ZERO, stores());
    }

    @AfterAll
    void stop() throws Exception {
        c.close();
    }

    private Volume view(String name) {
        return c.cp.volumes.view(c.cp.volumes.require(name));
    }

    private void awaitOnline(String name, int replicas) {
        Await.until(name + " Online with " + replicas + " replicas", Duration.ofSeconds(120), () -> {
            c.cp.reconcile();
            Volume v = view(name);
            return v.getState().getStatus() == VolumeStatus.VOLUME_ONLINE && v.getState().getReplicasCount() == replicas
                    && v.getState().getReplicasList().stream().allMatch(r -> r.getState().equals("Online"));
        });
    }

    private Set<String> nodesOf(Volume v) {
        return v.getState().getReplicasList().stream().map(VolumeReplica::getNode).collect(Collectors.toSet());
    }

    @Test
    void aReplicaWhoseEngineStoppedIsReplacedAndRebuiltAndItsOldCopyCollected() throws Exception {
        Volume v = c.cp.volumes.create(CreateVolumeRequest.newBuilder().setName("replace").setSize(16 * MiB)
                .setReplicas(2).build());
        String uuid = v.getSpec().getUuid();
        String target = v.getState().getReplicas(0).getNode();
        VolumeReplica lost = v.getState().getReplicas(1);
        String uri = c.cp.volumes.publish("replace", target, List.of()).getState().getUri();
        String b = c.connect(uri);
        c.write(b, 0, 64, 1);
        c.write(b, 1000, 64, 2);

        c.engine(lost.getNode()).close();
        Await.until("the lost replica out of the nexus", Duration.ofSeconds(120), () -> view("replace").getState()
                .getReplicasList().stream().anyMatch(r -> r.getUuid().equals(lost.getUuid())
                        && !r.getState().equals("Online")));
        c.write(b, 2000, 64, 3);        // written while degraded: the replacement must have it too
        awaitOnline("replace", 2);
        Volume healed = view("replace");
        assertThat(healed.getState().getReplicasList()).extracting(VolumeReplica::getUuid).doesNotContain(lost.getUuid());
        assertThat(nodesOf(healed)).doesNotContain(lost.getNode()).contains(target).hasSize(2);
        assertThat(c.readsBack(b, 0, 64, 1) && c.readsBack(b, 1000, 64, 2) && c.readsBack(b, 2000, 64, 3)).isTrue();
        c.disconnect(b);
        assertThat(c.cp.volumes.described(c.cp.volumes.require("replace")).getEventsList())
                .extracting(io.panastor.api.control.v1.Event::getReason)
                .containsSubsequence("Created", "Published", "ReplicaOut", "ReplicaReplaced");

        // The new replica alone holds everything: the nexus's own replica taken out, it serves reads by itself.
        VolumeReplica added = healed.getState().getReplicasList().stream().filter(r -> !r.getNode().equals(target))
                .findFirst().orElseThrow();
        c.cp.volumes.unpublish("replace");
        c.cp.volumes.scale("replace", 1);       // one of the two stays; either must hold every write
        Volume one = view("replace");
        String kept = one.getState().getReplicas(0).getNode();
        String u2 = c.cp.volumes.publish("replace", kept, List.of()).getState().getUri();
        String b2 = c.connect(u2);
        assertThat(c.readsBack(b2, 0, 64, 1) && c.readsBack(b2, 1000, 64, 2) && c.readsBack(b2, 2000, 64, 3))
                .as("the one replica left (%s) holds every write", kept.equals(added.getNode()) ? "the new one"
                        : "the nexus node's").isTrue();
        c.disconnect(b2);

        // The stopped engine comes back: its copy, in no record now, is collected.
        int index = Integer.parseInt(lost.getNode().substring("node-".length()));
        c.addEngine(index);
        Await.until("the old copy collected", Duration.ofSeconds(120), () -> {
            c.cp.reconcile();
            return c.cp.nodes.online(lost.getNode())
                    && c.replicas(lost.getNode()).stream().noneMatch(r -> r.getUuid().equals(lost.getUuid()));
        });
        c.cp.volumes.destroy("replace");
        assertThat(c.replicasOf(uuid)).isEmpty();
    }

    @Test
    void aVolumeWhoseNexusNodeStoppedIsRepublishedFencedFirstWithItsDataIntact() throws Exception {
        Volume v = c.cp.volumes.create(CreateVolumeRequest.newBuilder().setName("move").setSize(16 * MiB)
                .setReplicas(3).build());
        String uuid = v.getSpec().getUuid();
        String old = v.getState().getReplicas(0).getNode();
        Volume p = c.cp.volumes.publish("move", old, List.of());
        String b = c.connect(p.getState().getUri());
        c.write(b, 0, 64, 7);
        c.write(b, 3000, 64, 8);
        c.disconnect(b);
        String oldHost = c.cp.nodes.require(old).getHostnqn();

        c.engine(old).close();
        assertThat(c.cp.nodes.status(old)).isEqualTo(NodeStatus.NODE_OFFLINE);
        c.cp.reconcile();
        VolumeRecord moved = c.cp.volumes.require("move");
        assertThat(moved.getTargetNode()).isNotEqualTo(old).isIn(nodesOf(v));
        assertThat(moved.getUri()).isNotEqualTo(p.getState().getUri()).startsWith("nvmf://");
        String hostNqn = c.cp.nodes.require(moved.getTargetNode()).getHostnqn();
        // Fenced: every replica it can reach admits the new nexus node alone (its own not shared at all).
        for (VolumeReplica r : v.getState().getReplicasList()) {
            if (r.getNode().equals(old)) {
                continue;
            }
            Replica on = c.replicas(r.getNode()).stream().filter(x -> x.getUuid().equals(r.getUuid())).findFirst()
                    .orElseThrow();
            if (r.getNode().equals(moved.getTargetNode())) {
                assertThat(on.getUri()).doesNotStartWith("nvmf://");
            } else {
                assertThat(on.getAllowedHostsList()).containsExactly(hostNqn).doesNotContain(oldHost);
            }
        }
        // Fenced at the store too: the old nexus can no longer change the child health the new one trusts.
        NexusHealthGrpc.NexusHealthBlockingStub health = NexusHealthGrpc.newBlockingStub(c.controlChannel());
        NexusHealthRecord trusted = health.getNexusHealth(GetNexusHealthRequest.newBuilder().setKey(uuid).build());
        assertThat(trusted.getNode()).isEqualTo(moved.getTargetNode());
        NexusHealthRecord stale = NexusHealthRecord.newBuilder().setKey(uuid).setNode(old).build();
        assertThatThrownBy(() -> health.putNexusHealth(PutNexusHealthRequest.newBuilder().setRecord(stale).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode())
                        .isEqualTo(Status.Code.FAILED_PRECONDITION));
        assertThatThrownBy(() -> health.deleteNexusHealth(GetNexusHealthRequest.newBuilder().setKey(uuid).setNode(old)
                .build())).isInstanceOf(StatusRuntimeException.class);
        assertThat(health.getNexusHealth(GetNexusHealthRequest.newBuilder().setKey(uuid).build())).isEqualTo(trusted);

        String b2 = c.connect(moved.getUri());
        assertThat(c.readsBack(b2, 0, 64, 7) && c.readsBack(b2, 3000, 64, 8)).isTrue();
        c.write(b2, 500, 64, 9);
        assertThat(view("move").getState().getStatus()).isEqualTo(VolumeStatus.VOLUME_DEGRADED);

        // The old nexus node comes back: its replica is put back into the nexus and rebuilt.
        assertThat(c.cp.volumes.described(c.cp.volumes.require("move")).getEventsList())
                .filteredOn(e -> e.getReason().equals("Republished")).singleElement()
                .satisfies(e -> assertThat(e.getMessage()).contains("nexus node " + old + " lost", moved.getTargetNode()));

        c.addEngine(Integer.parseInt(old.substring("node-".length())));
        awaitOnline("move", 3);
        assertThat(c.cp.volumes.require("move").getTargetNode()).isEqualTo(moved.getTargetNode());
        assertThat(c.nexuses(old)).noneMatch(n -> n.getUuid().equals(uuid));
        assertThat(c.readsBack(b2, 500, 64, 9) && c.readsBack(b2, 0, 64, 7)).isTrue();
        c.disconnect(b2);
        c.cp.volumes.destroy("move");
        assertThat(c.replicasOf(uuid)).isEmpty();
    }
}
