package io.panastor.control.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.panastor.api.control.v1.CrState;
import io.panastor.api.control.v1.DiskPoolSpec;
import io.panastor.api.control.v1.DiskPoolStatus;
import io.panastor.api.control.v1.NexusHealthRecord;
import io.panastor.api.control.v1.NodeRecord;
import io.panastor.api.control.v1.Operation;
import io.panastor.api.control.v1.PoolRecord;
import io.panastor.api.control.v1.PoolStatus;
import io.panastor.api.control.v1.ReplicaRecord;
import io.panastor.api.control.v1.VolumeRecord;
import io.panastor.api.control.v1.VolumeReplica;
import io.panastor.api.control.v1.VolumeSpec;
import io.panastor.api.control.v1.VolumeState;
import io.panastor.api.control.v1.VolumeStatus;
import io.panastor.control.store.Store;
import io.panastor.engine.Await;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The Kubernetes store against fabric8's mock API server in CRUD mode (see {@link MockApi}: no
 * real API server can be had on these machines): records round-trip through the resources users
 * see, writes are refused on a stale resourceVersion, changes made by others are reported —
 * also after the API server restarted and every watch ended.
 */
class KubernetesStoreTest {
    static final String NS = "panastor";
    MockApi api;
    KubernetesClient client;
    KubernetesClient user;
    KubernetesStore store;
    final List<Map.Entry<String, Optional<byte[]>>> reported = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws Exception {
        api = new MockApi();
        client = api.client();
        user = api.client();
        store = KubernetesStore.open(client, NS);
        store.watch((k, v) -> reported.add(Map.entry(k, v)));
    }

    @AfterEach
    void stop() {
        store.close();
        client.close();
        user.close();
        api.close();
    }

    static PoolRecord pool(String name) {
        return PoolRecord.newBuilder().setName(name).setSpec(DiskPoolSpec.newBuilder().setNode("node-1")
                .addDisks("/dev/sdb").putTopology("zone", "a")).setCrState(CrState.CR_CREATED).setUuid("u-" + name)
                .setObserved(DiskPoolStatus.newBuilder().setCrState(CrState.CR_CREATED).setUuid("u-" + name)
                        .setPoolStatus(PoolStatus.POOL_STATUS_ONLINE).setCapacity(1 << 30).setUsed(1 << 20)
                        .setAvailable((1 << 30) - (1 << 20)).setCommitted(1 << 20))
                .build();
    }

    static VolumeRecord volume(String uuid) {
        return VolumeRecord.newBuilder().setSpec(VolumeSpec.newBuilder().setUuid(uuid).setName("pvc-" + uuid.substring(0, 4))
                        .setSize(64 << 20).setReplicas(2).setThin(true).putNodeSelector("zone", "a")
                        .addPreferredNodes("node-1").addRequiredNodes("node-1").addRequiredNodes("node-2"))
                .addReplicas(ReplicaRecord.newBuilder().setUuid("r1").setNode("node-1").setPool("p1"))
                .addReplicas(ReplicaRecord.newBuilder().setUuid("r2").setNode("node-2").setPool("p2").setRemoving(true))
                .setTargetNode("node-1").setUri("nvmf://10.0.0.1:4421/nqn.2019-05.io.openebs:" + uuid)
                .addAllowedHosts("nqn.2019-05.io.openebs:node-name:node-9").setOperation(Operation.OP_PUBLISHING)
                .setSize(64 << 20)
                .setObserved(VolumeState.newBuilder().setStatus(VolumeStatus.VOLUME_DEGRADED)
                        .addReplicas(VolumeReplica.newBuilder().setUuid("r1").setNode("node-1").setPool("p1")
                                .setState("Online").setUri("bdev:///r1")))
                .build();
    }

    @Test
    void everyKindOfRecordRoundTripsAndOutlivesTheStoreThatWroteIt() throws Exception {
        String uuid = "0b6c8b8e-6a3f-4d43-9d55-1d2b7b1c0a01";
        NodeRecord node = NodeRecord.newBuilder().setId("Node_A").setGrpcEndpoint("10.0.0.1:10124").setInstanceUuid("i")
                .putLabels("zone", "a").build();
        NexusHealthRecord health = NexusHealthRecord.newBuilder().setKey(uuid).setNode("node-1").setCleanShutdown(true).build();
        store.put("pools/p1", pool("p1").toByteArray());
        store.put("volumes/" + uuid, volume(uuid).toByteArray());
        store.put("nodes/Node_A", node.toByteArray());
        store.put("health/" + uuid, health.toByteArray());
        store.put("other/x", new byte[] {1, 2, 3});

        try (KubernetesStore again = KubernetesStore.open(api.client(), NS)) {
            assertThat(PoolRecord.parseFrom(again.get("pools/p1").orElseThrow())).isEqualTo(pool("p1"));
            assertThat(VolumeRecord.parseFrom(again.get("volumes/" + uuid).orElseThrow())).isEqualTo(volume(uuid));
            assertThat(NodeRecord.parseFrom(again.get("nodes/Node_A").orElseThrow())).isEqualTo(node);
            assertThat(NexusHealthRecord.parseFrom(again.get("health/" + uuid).orElseThrow())).isEqualTo(health);
            assertThat(again.get("other/x")).hasValueSatisfying(b -> assertThat(b).containsExactly(1, 2, 3));
            assertThat(again.list("nodes/")).containsOnlyKeys("nodes/Node_A");
        }
        // What a user sees with kubectl: the DiskPool's spec and status, the volume's nexus and replicas.
        DiskPoolResource d = user.resources(DiskPoolResource.class).inNamespace(NS).withName("p1").get();
        assertThat(d.getSpec().node).isEqualTo("node-1");
        assertThat(d.getStatus().crState).isEqualTo("Created");
        assertThat(d.getStatus().poolStatus).isEqualTo("Online");
        assertThat(d.getStatus().capacity).isEqualTo(1L << 30);
        VolumeResource v = user.resources(VolumeResource.class).inNamespace(NS).withName(uuid).get();
        assertThat(v.getSpec().replicaCount).isEqualTo(2);
        assertThat(v.getSpec().requiredNodes).containsExactly("node-1", "node-2");
        assertThat(v.getStatus().targetNode).isEqualTo("node-1");
        assertThat(v.getStatus().deviceUri).startsWith("nvmf://");
        assertThat(v.getStatus().state).isEqualTo("Degraded");
        assertThat(v.getStatus().replicas).extracting(r -> r.node + "/" + r.pool + "/" + r.state)
                .containsExactly("node-1/p1/Online", "node-2/p2/null");

        store.delete("volumes/" + uuid);
        store.delete("volumes/" + uuid);        // deleting what is gone is fine
        assertThat(store.get("volumes/" + uuid)).isEmpty();
        assertThat(user.resources(VolumeResource.class).inNamespace(NS).withName(uuid).get()).isNull();
        assertThat(reported).as("the store's own writes are not reported").isEmpty();
    }

    @Test
    void aDiskPoolAppliedByAUserIsReportedAndReadsAsBeingCreated() {
        DiskPoolResource d = new DiskPoolResource();
        d.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName("applied").build());
        d.setSpec(new DiskPoolResource.Spec());
        d.getSpec().node = "node-2";
        d.getSpec().disks = List.of("aio:///dev/sdc");
        user.resources(DiskPoolResource.class).inNamespace(NS).resource(d).create();

        Await.until("the applied pool reported", Duration.ofSeconds(30), () -> !reported.isEmpty());
        assertThat(reported.getFirst().getKey()).isEqualTo("pools/applied");
        PoolRecord r = parse(reported.getFirst().getValue().orElseThrow());
        assertThat(r.getCrState()).isEqualTo(CrState.CR_CREATING);
        assertThat(r.getSpec().getNode()).isEqualTo("node-2");
        assertThat(r.getSpec().getDisksList()).containsExactly("aio:///dev/sdc");
        assertThat(store.list("pools/")).containsOnlyKeys("pools/applied");
    }

    @Test
    void aWriteOnAStaleResourceVersionIsRefusedAndTheNewVersionReported() throws Exception {
        store.put("pools/p1", pool("p1").toByteArray());
        // A store that does not watch holds what it read at start: resourceVersion N.
        try (KubernetesStore stale = KubernetesStore.openWithoutWatching(api.client(), NS)) {
            List<Map.Entry<String, Optional<byte[]>>> seen = new CopyOnWriteArrayList<>();
            stale.watch((k, v) -> seen.add(Map.entry(k, v)));
            // A user changes the resource: N+1.
            DiskPoolResource d = user.resources(DiskPoolResource.class).inNamespace(NS).withName("p1").get();
            d.getSpec().disks = List.of("/dev/sdy");
            user.resource(d).inNamespace(NS).update();

            // The stale store changes the spec as it knows it. A spec write carries the resourceVersion last seen;
            // the mock server checks it (not for writes of the status subresource, which a real API server also
            // checks: those are not what this test asserts on).
            PoolRecord next = pool("p1").toBuilder().setSpec(pool("p1").getSpec().toBuilder().putTopology("rack", "r7"))
                    .setObserved(pool("p1").getObserved().toBuilder().setUsed(2 << 20)).build();
            assertThatThrownBy(() -> stale.put("pools/p1", next.toByteArray())).isInstanceOf(Store.Conflict.class)
                    .hasMessageContaining("pools/p1");
            // The user's spec stands; the store read the new version and reported it.
            DiskPoolResource now = user.resources(DiskPoolResource.class).inNamespace(NS).withName("p1").get();
            assertThat(now.getSpec().disks).containsExactly("/dev/sdy");
            Await.until("the new version reported", Duration.ofSeconds(30), () -> !seen.isEmpty());
            assertThat(parse(seen.getFirst().getValue().orElseThrow()).getSpec().getDisksList()).containsExactly("/dev/sdy");
            assertThat(parse(stale.get("pools/p1").orElseThrow()).getSpec().getDisksList()).containsExactly("/dev/sdy");
            // Tried again on the version it now holds, the write goes through.
            stale.put("pools/p1", next.toByteArray());
            now = user.resources(DiskPoolResource.class).inNamespace(NS).withName("p1").get();
            assertThat(now.getSpec().disks).containsExactly("/dev/sdb");
            assertThat(now.getSpec().topology.labelled).containsEntry("rack", "r7");
            assertThat(now.getStatus().used).isEqualTo(2L << 20);
        }
    }

    @Test
    void changesMadeWhileTheApiServerRestartedAreReportedOnceTheWatchesResume() throws Exception {
        store.put("pools/p1", pool("p1").toByteArray());
        Await.until("watching", Duration.ofSeconds(30), store::watching);
        api.restart();      // every watch ends; the informers connect again and watch anew
        // A real API server replays what changed meanwhile from its watch cache (or answers 410, and the
        // informer lists again); the mock server does neither, so the changes are made once the watches are back.
        Await.until("the watches ended", Duration.ofSeconds(30), () -> !store.watching());
        Await.until("the watches resumed", Duration.ofSeconds(60), store::watching);
        DiskPoolResource d = new DiskPoolResource();
        d.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName("after").build());
        d.setSpec(new DiskPoolResource.Spec());
        d.getSpec().node = "node-3";
        d.getSpec().disks = List.of("/dev/sdd");
        try (KubernetesClient other = api.client()) {
            other.resources(DiskPoolResource.class).inNamespace(NS).resource(d).create();
            other.resources(DiskPoolResource.class).inNamespace(NS).withName("p1").delete();
        }
        Await.until("both changes reported", Duration.ofSeconds(60), () -> reported.stream()
                .anyMatch(e -> e.getKey().equals("pools/after")) && reported.stream()
                .anyMatch(e -> e.getKey().equals("pools/p1") && e.getValue().isEmpty()));
        assertThat(store.list("pools/")).containsOnlyKeys("pools/after");
        // And the store writes on through the restarted server.
        store.put("pools/p2", pool("p2").toByteArray());
        assertThat(user.resources(DiskPoolResource.class).inNamespace(NS).withName("p2").get()).isNotNull();
    }

    @Test
    void aNameKubernetesCannotTakeIsAClearErrorAndChangesNothing() {
        assertThatThrownBy(() -> store.put("pools/Pool_1", pool("Pool_1").toByteArray()))
                .hasMessageContaining("cannot name a Kubernetes resource");
        assertThat(store.list("pools/")).isEmpty();
        assertThat(KubernetesStore.configMapName("nodes/Node_A")).matches("[a-z0-9][-a-z0-9.]*[a-z0-9]")
                .isNotEqualTo(KubernetesStore.configMapName("nodes/node-a"));
    }

    static PoolRecord parse(byte[] b) {
        try {
            return PoolRecord.parseFrom(b);
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new AssertionError(e);
        }
    }
}
