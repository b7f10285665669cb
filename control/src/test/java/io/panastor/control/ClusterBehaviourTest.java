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
        Volumes.Capacity cap = c.cp.volumes.capacity(3, false, Map.of());
        assertThat(cap.eligibleNodes()).isEqualTo(3);
        assertThat(cap.maximumVolumeSize()).isLessThanOrEqualTo(Cluster.POOL_BYTES - 8 * MiB).isGreaterThan(100 * MiB);
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
    void theGrpcApiPagesItsListsAndAnswersBadCallsWithTheirCodes() throws Exception {
        io.grpc.ManagedChannel ch = c.controlChannel();
        try {
            var volumes = io.panastor.api.control.v1.VolumesGrpc.newBlockingStub(ch);
            for (String n : List.of("page-a", "page-b", "page-c")) {
                volumes.createVolume(CreateVolumeRequest.newBuilder().setName(n).setSize(4 * MiB).build());
            }
            var first = volumes.listVolumes(io.panastor.api.control.v1.ListRequest.newBuilder().setPageSize(2).build());
            assertThat(first.getVolumesList()).extracting(x -> x.getSpec().getName()).containsExactly("page-a", "page-b");
            assertThat(first.getNextPageToken()).isNotEmpty();
            var second = volumes.listVolumes(io.panastor.api.control.v1.ListRequest.newBuilder().setPageSize(2)
                    .setPageToken(first.getNextPageToken()).build());
            assertThat(second.getVolumesList()).extracting(x -> x.getSpec().getName()).containsExactly("page-c");
            assertThat(second.getNextPageToken()).isEmpty();
            var nodes = io.panastor.api.control.v1.NodesGrpc.newBlockingStub(ch)
                    .listNodes(io.panastor.api.control.v1.ListRequest.newBuilder().setPageSize(1).build());
            assertThat(nodes.getNodesList()).extracting(io.panastor.api.control.v1.Node::getId).containsExactly("node-1");
            var pools = io.panastor.api.control.v1.DiskPoolsGrpc.newBlockingStub(ch)
                    .listDiskPools(io.panastor.api.control.v1.ListRequest.newBuilder().setNode("node-2").build());
            assertThat(pools.getPoolsList()).extracting(io.panastor.api.control.v1.DiskPool::getName)
                    .containsExactly("pool-2");
            var capacity = io.panastor.api.control.v1.CapacityGrpc.newBlockingStub(ch).getCapacity(
                    io.panastor.api.control.v1.GetCapacityRequest.newBuilder().setReplicas(2).build());
            assertThat(capacity.getEligibleNodes()).isEqualTo(3);
            assertThat(capacity.getMaximumVolumeSize()).isPositive().isLessThanOrEqualTo(Cluster.POOL_BYTES);

            assertCode(() -> volumes.createVolume(CreateVolumeRequest.newBuilder().setName("zero").build()),
                    Status.Code.INVALID_ARGUMENT, "size");
            assertCode(() -> volumes.createVolume(CreateVolumeRequest.newBuilder().setName("bad uuid").setSize(MiB)
                    .build()), Status.Code.INVALID_ARGUMENT, "name 'bad uuid'");
            assertCode(() -> volumes.createVolume(CreateVolumeRequest.newBuilder().setName("u").setUuid("nope").setSize(MiB)
                    .build()), Status.Code.INVALID_ARGUMENT, "uuid 'nope'");
            assertCode(() -> volumes.getVolume(io.panastor.api.control.v1.GetRequest.newBuilder().setName("nowhere")
                    .build()), Status.Code.NOT_FOUND, "volume nowhere does not exist");
            assertCode(() -> volumes.resizeVolume(io.panastor.api.control.v1.ResizeVolumeRequest.newBuilder()
                    .setName("page-a").setSize(MiB).build()), Status.Code.INVALID_ARGUMENT, "only grows");
            assertCode(() -> volumes.scaleVolume(io.panastor.api.control.v1.ScaleVolumeRequest.newBuilder()
                    .setName("page-a").setReplicas(0).build()), Status.Code.INVALID_ARGUMENT, "replicas 0");
            assertCode(() -> volumes.publishVolume(io.panastor.api.control.v1.PublishVolumeRequest.newBuilder()
                    .setName("page-a").addAllowedHosts("host").build()), Status.Code.INVALID_ARGUMENT, "not a host NQN");
            volumes.publishVolume(io.panastor.api.control.v1.PublishVolumeRequest.newBuilder().setName("page-a").build());
            String on = c.cp.volumes.require("page-a").getTargetNode();
            String other = on.equals("node-1") ? "node-2" : "node-1";
            assertCode(() -> volumes.publishVolume(io.panastor.api.control.v1.PublishVolumeRequest.newBuilder()
                    .setName("page-a").setNode(other).build()), Status.Code.FAILED_PRECONDITION, "unpublish it");
            assertCode(() -> io.panastor.api.control.v1.DiskPoolsGrpc.newBlockingStub(ch).createDiskPool(
                    io.panastor.api.control.v1.CreateDiskPoolRequest.newBuilder().setName("p").setNode("node-9")
                            .addDisks("/x").build()), Status.Code.NOT_FOUND, "node node-9 is not registered");
            assertCode(() -> io.panastor.api.control.v1.RegistrationGrpc.newBlockingStub(ch).heartbeat(
                    io.panastor.api.control.v1.HeartbeatRequest.newBuilder().setId("node-1").setInstanceUuid("old")
                            .build()), Status.Code.NOT_FOUND, "register it");
            for (String n : List.of("page-a", "page-b", "page-c")) {
                volumes.destroyVolume(io.panastor.api.control.v1.GetRequest.newBuilder().setName(n).build());
            }
            volumes.destroyVolume(io.panastor.api.control.v1.GetRequest.newBuilder().setName("page-a").build());
        } finally {
            ch.shutdownNow();
        }
    }

    static void assertCode(Runnable call, Status.Code code, String message) {
        assertThatThrownBy(call::run).isInstanceOfSatisfying(io.grpc.StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(code);
            assertThat(e.getStatus().getDescription()).contains(message);
        });
    }

    @Test
    void afterAnUncleanEndTheNexusStartsFromOneHealthyReplicaAndRebuildsTheOthers() throws Exception {
        Volume v = create("unclean", 2, Map.of());
        String uuid = v.getSpec().getUuid();
        String local = v.getState().getReplicas(0).getUuid();
        String target = v.getState().getReplicas(0).getNode();
        String remote = v.getState().getReplicas(1).getUuid();
        // What a nexus that died with writes in flight leaves: both children healthy, no clean shutdown.
        NexusHealthRecord died = NexusHealthRecord.newBuilder().setKey(uuid).setNode(target).setCleanShutdown(false)
                .addChildren(io.panastor.api.control.v1.ChildHealth.newBuilder().setUuid(local).setHealthy(true))
                .addChildren(io.panastor.api.control.v1.ChildHealth.newBuilder().setUuid(remote).setHealthy(true))
                .build();
        c.cp.config().store().put(Volumes.HEALTH_PREFIX + uuid, died.toByteArray());
        Volume p = c.cp.volumes.publish("unclean", target, List.of());
        assertThat(p.getState().getTargetNode()).isEqualTo(target);
        var nexus = NexusRpcGrpc.newBlockingStub(c.engine(target).channel);
        Await.until("the remote replica rebuilt from the local one", Duration.ofSeconds(60), () -> nexus
                .listRebuildHistory(io.panastor.api.v1.ListRebuildHistoryRequest.newBuilder().setUuid(uuid).build())
                .getHistoriesList().stream().flatMap(h -> h.getRecordsList().stream())
                .anyMatch(r -> r.getChildUri().contains(remote)
                        && r.getState() == io.panastor.api.v1.RebuildJobState.Completed));
        var history = nexus.listRebuildHistory(io.panastor.api.v1.ListRebuildHistoryRequest.newBuilder().setUuid(uuid)
                .build()).getHistories(0).getRecordsList();
        assertThat(history).singleElement().satisfies(r -> {
            assertThat(r.getChildUri()).contains(remote);
            assertThat(r.getSrcUri()).contains(local);
            assertThat(r.getIsPartial()).isFalse();
        });
        c.cp.volumes.destroy("unclean");
    }

    @Test
    void aDiskThatHoldsAPoolIsImported() throws Exception {
        Path disk = Cluster.sparseFile(c.dir.resolve("held.img"), 64 * MiB);
        var engine = io.panastor.api.v1.PoolRpcGrpc.newBlockingStub(c.engine("node-3").channel);
        String uuid = engine.createPool(io.panastor.api.v1.CreatePoolRequest.newBuilder().setName("held")
                .addDisks(disk.toString()).build()).getUuid();
        engine.exportPool(io.panastor.api.v1.ExportPoolRequest.newBuilder().setName("held").build());
        var p = c.cp.pools.create(io.panastor.api.control.v1.CreateDiskPoolRequest.newBuilder().setName("held")
                .setNode("node-3").addDisks(disk.toString()).build());
        assertThat(p.getStatus().getCrState()).isEqualTo(io.panastor.api.control.v1.CrState.CR_CREATED);
        assertThat(p.getStatus().getUuid()).as("imported, not made again").isEqualTo(uuid);
        assertThat(p.getStatus().getPoolStatus()).isEqualTo(PoolStatus.POOL_STATUS_ONLINE);
        c.cp.pools.delete("held", c.cp.volumes);
        assertThat(c.cp.pools.get("held")).isEmpty();
        assertThat(engine.listPools(io.panastor.api.v1.ListPoolOptions.getDefaultInstance()).getPoolsList())
                .noneMatch(x -> x.getName().equals("held"));
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
