package io.panastor.control;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.panastor.api.control.v1.CreateVolumeRequest;
import io.panastor.api.control.v1.NexusHealthRecord;
import io.panastor.api.control.v1.NodeStatus;
import io.panastor.api.control.v1.PoolStatus;
import io.panastor.api.control.v1.Volume;
import io.panastor.api.control.v1.VolumeRecord;
import io.panastor.api.control.v1.VolumeReplica;
import io.panastor.api.v1.CreateReplicaRequest;
import io.panastor.api.v1.FaultNexusChildRequest;
import io.panastor.api.v1.FaultNexusChildResponse;
import io.panastor.api.v1.NexusRpcGrpc;
import io.panastor.api.v1.ReplicaRpcGrpc;
import io.panastor.engine.Await;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * What the control plane does with several engines: placement honouring cordons and labels
 * and saying what is short, child health kept by the control plane before a nexus answers, a
 * restarted engine made to match the store, and pools refused deletion while in use.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClusterBehaviourTest {
    static final long MiB = 1 << 20;
    Cluster c;
    final Gate gate = new Gate();

    /** Holds child-health writes at the control plane while armed. */
    static final class Gate implements CrashPoints {
        volatile CountDownLatch entered;
        volatile CountDownLatch release;

        void arm() {
            entered = new CountDownLatch(1);
            release = new CountDownLatch(1);
        }

        @Override
        public void reached(String step) {
            CountDownLatch r = release;
            if (step.equals("health.store.put") && r != null) {
                entered.countDown();
                try {
                    r.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        void open() {
            CountDownLatch r = release;
            release = null;
            r.countDown();
        }
    }

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        c = new Cluster(dir, 3, gate);
    }

    @AfterAll
    void stop() throws Exception {
        c.close();
    }

    Volume create(String name, int replicas, Map<String, String> selector) {
        return c.cp.volumes.create(CreateVolumeRequest.newBuilder().setName(name).setSize(8 * MiB).setReplicas(replicas)
                .putAllNodeSelector(selector).build());
    }

    @Test
    void placementHonoursCordonsAndLabelsAndSaysWhatIsShort() {
        c.cp.nodes.cordon("node-3", true);
        try {
            assertThatThrownBy(() -> create("cordoned", 3, Map.of()))
                    .isInstanceOfSatisfying(ControlException.class,
                            e -> assertThat(e.code()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED))
                    .hasMessageContaining("2 qualify").hasMessageContaining("node-3: cordoned");
            assertThat(c.cp.volumes.all()).noneMatch(v -> v.getSpec().getName().equals("cordoned"));
            Volume two = create("two-of-three", 2, Map.of());
            assertThat(two.getState().getReplicasList()).extracting(VolumeReplica::getNode)
                    .containsExactlyInAnyOrder("node-1", "node-2");
            // No nexus on a cordoned node either: asked for node-3, it goes where a replica is.
            c.cp.volumes.publish("two-of-three", "node-3", List.of());
            assertThat(c.cp.volumes.require("two-of-three").getTargetNode()).isIn("node-1", "node-2");
            c.cp.volumes.destroy("two-of-three");
        } finally {
            c.cp.nodes.cordon("node-3", false);
        }
        Volume three = create("uncordoned", 3, Map.of());
        assertThat(three.getState().getReplicasList()).hasSize(3);
        c.cp.volumes.destroy("uncordoned");

        Volume z2 = create("in-z2", 1, Map.of("zone", "z2"));
        assertThat(z2.getState().getReplicas(0).getNode()).isEqualTo("node-2");
        assertThatThrownBy(() -> create("z2-twice", 2, Map.of("zone", "z2")))
                .hasMessageContaining("node-1: labels do not match (zone=z2 wanted, zone=z1)");
        c.cp.volumes.destroy("in-z2");
        assertThatThrownBy(() -> c.cp.volumes.create(CreateVolumeRequest.newBuilder().setName("huge").setSize(1L << 40)
                .setReplicas(1).build())).hasMessageContaining("free, less than 1TiB");
    }

    @Test
    void aPoolHoldingReplicasIsNotDeletedAndTheSameCreateIsTheSameVolume() {
        Volume v = create("holds", 3, Map.of());
        assertThatThrownBy(() -> c.cp.pools.delete("pool-1", c.cp.volumes))
                .isInstanceOfSatisfying(ControlException.class,
                        e -> assertThat(e.code()).isEqualTo(Status.Code.FAILED_PRECONDITION))
                .hasMessageContaining("holds replicas of volume(s) [holds]");
        assertThatThrownBy(() -> c.cp.volumes.create(CreateVolumeRequest.newBuilder().setName("holds").setSize(16 * MiB)
                .setReplicas(3).build())).isInstanceOfSatisfying(ControlException.class,
                        e -> assertThat(e.code()).isEqualTo(Status.Code.ALREADY_EXISTS));
        assertThat(create("holds", 3, Map.of()).getSpec().getUuid()).isEqualTo(v.getSpec().getUuid());
        long[] cap = c.cp.volumes.capacity(3, false, Map.of());
        assertThat(cap[2]).isEqualTo(3);
        assertThat(cap[1]).isLessThanOrEqualTo(Cluster.POOL_BYTES - 8 * MiB).isGreaterThan(100 * MiB);
        c.cp.volumes.destroy("holds");
    }

    @Test
    void aNexusAnswersAChildFaultOnlyOnceTheControlPlaneHoldsTheNewHealth() throws Exception {
        Volume v = create("health", 2, Map.of());
        String uuid = v.getSpec().getUuid();
        Volume p = c.cp.volumes.publish("health", "node-1", List.of());
        VolumeReplica remote = p.getState().getReplicasList().stream().filter(r -> !r.getNode().equals("node-1"))
                .findFirst().orElseThrow();
        NexusHealthRecord before = c.cp.volumes.health(uuid).orElseThrow();
        assertThat(before.getChildrenList()).allMatch(ch -> ch.getHealthy());
        assertThat(before.getNode()).isEqualTo("node-1");

        gate.arm();
        CompletableFuture<FaultNexusChildResponse> fault = new CompletableFuture<>();
        NexusRpcGrpc.newStub(c.engine("node-1").channel).faultNexusChild(FaultNexusChildRequest.newBuilder()
                .setUuid(uuid).setUri(remote.getUri()).build(), new StreamObserver<>() {
                    @Override
                    public void onNext(FaultNexusChildResponse r) {
                        fault.complete(r);
                    }

                    @Override
                    public void onError(Throwable t) {
                        fault.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                    }
                });
        assertThat(gate.entered.await(60, TimeUnit.SECONDS)).as("the nexus wrote its child health").isTrue();
        // The control plane has not stored it yet: the nexus has not answered.
        assertThat(fault).isNotDone();
        assertThat(c.cp.volumes.health(uuid).orElseThrow().getChildrenList()).allMatch(ch -> ch.getHealthy());
        gate.open();
        fault.get(60, TimeUnit.SECONDS);
        NexusHealthRecord after = c.cp.volumes.health(uuid).orElseThrow();
        assertThat(after.getChildrenList()).filteredOn(ch -> ch.getUuid().equals(remote.getUuid())).singleElement()
                .satisfies(ch -> assertThat(ch.getHealthy()).isFalse());
        assertThat(after.getCleanShutdown()).isFalse();
        assertThat(c.cp.volumes.healthyReplicas(c.cp.volumes.require("health"))).doesNotContain(remote.getUuid());
        assertThat(c.cp.volumes.view(c.cp.volumes.require("health")).getState().getStatus())
                .isEqualTo(io.panastor.api.control.v1.VolumeStatus.VOLUME_DEGRADED);
        c.cp.volumes.destroy("health");
        assertThat(c.cp.volumes.health(uuid)).isEmpty();
    }

    @Test
    void aRestartedEngineIsMadeToMatchTheStore() throws Exception {
        Volume v = create("resync", 1, Map.of("zone", "z1"));
        assertThat(v.getState().getReplicasCount()).isEqualTo(1);
        String uuid = v.getSpec().getUuid();
        Volume p = c.cp.volumes.publish("resync", "node-1", List.of());
        String bdev = c.connect(p.getState().getUri());
        c.write(bdev, 0, 32, 11);
        c.write(bdev, 500, 32, 12);
        c.disconnect(bdev);
        // Something the store does not know: a replica made for a volume that does not exist.
        String orphan = UUID.randomUUID().toString();
        ReplicaRpcGrpc.newBlockingStub(c.engine("node-1").channel).createReplica(CreateReplicaRequest.newBuilder()
                .setUuid(orphan).setName(orphan).setPooluuid("pool-1").setSize(4 * MiB)
                .setEntityId(UUID.randomUUID().toString()).build());

        String before = c.cp.nodes.require("node-1").getInstanceUuid();
        c.engine("node-1").close();
        // Stopped, it deregistered: offline, and its pool is Unknown.
        assertThat(c.cp.nodes.status("node-1")).isEqualTo(NodeStatus.NODE_OFFLINE);
        assertThat(c.cp.pools.view(c.cp.pools.require("pool-1")).getStatus().getPoolStatus())
                .isEqualTo(PoolStatus.POOL_STATUS_UNKNOWN);
        assertThat(c.cp.volumes.view(c.cp.volumes.require("resync")).getState().getStatus())
                .isEqualTo(io.panastor.api.control.v1.VolumeStatus.VOLUME_UNKNOWN);

        c.addEngine(1);     // the same state directory, new ports, a new instance
        Await.until("node-1 resynchronised", Duration.ofSeconds(120), () -> {
            VolumeRecord r = c.cp.volumes.require("resync");
            return c.cp.nodes.online("node-1") && !c.nexusesOf(uuid).isEmpty()
                    && c.nexusesOf(uuid).getFirst().getDeviceUri().equals(r.getUri())
                    && c.replicas("node-1").stream().noneMatch(x -> x.getUuid().equals(orphan));
        });
        assertThat(c.cp.nodes.require("node-1").getInstanceUuid()).isNotEqualTo(before);
        assertThat(c.cp.pools.view(c.cp.pools.require("pool-1")).getStatus().getPoolStatus())
                .isEqualTo(PoolStatus.POOL_STATUS_ONLINE);
        VolumeRecord r = c.cp.volumes.require("resync");
        String again = c.connect(r.getUri());
        assertThat(c.readsBack(again, 0, 32, 11)).isTrue();
        assertThat(c.readsBack(again, 500, 32, 12)).isTrue();
        c.disconnect(again);
        c.cp.volumes.destroy("resync");
        assertThat(c.replicasOf(uuid)).isEmpty();
    }
}
