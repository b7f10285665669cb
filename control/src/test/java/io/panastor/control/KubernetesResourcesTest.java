package io.panastor.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.panastor.api.control.v1.CreateVolumeRequest;
import io.panastor.api.control.v1.Event;
import io.panastor.api.control.v1.Volume;
import io.panastor.control.k8s.DiskPoolResource;
import io.panastor.control.k8s.VolumeResource;
import io.panastor.engine.Await;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * A control plane on the Kubernetes store as users meet it through kubectl (here a second
 * client of fabric8's mock API server): a DiskPool applied is created on its node; a volume's
 * resource shows its nexus and replicas; a new replica count on it is a scale; deleting it
 * destroys the volume; what the control plane did is Kubernetes events, shown by {@code volume get}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KubernetesResourcesTest {
    static final long MiB = 1 << 20;
    static final String NS = "panastor";
    Cluster c;
    Cluster.KubernetesStores k8s;
    KubernetesClient kubectl;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        k8s = new Cluster.KubernetesStores();
        c = new Cluster(dir, 3, CrashPoints.NONE, ControlPlane.Config.DEFAULT_REPLICA_WAIT, k8s);
        kubectl = k8s.api.client();
    }

    @AfterAll
    void stop() throws Exception {
        kubectl.close();
        c.close();
    }

    VolumeResource resource(String uuid) {
        return kubectl.resources(VolumeResource.class).inNamespace(NS).withName(uuid).get();
    }

    @Test
    void aDiskPoolAppliedWithKubectlIsCreatedOnItsNode() throws Exception {
        Path disk = Cluster.sparseFile(c.dir.resolve("applied.img"), Cluster.POOL_BYTES);
        DiskPoolResource d = new DiskPoolResource();
        d.setMetadata(new ObjectMetaBuilder().withName("applied").build());
        d.setSpec(new DiskPoolResource.Spec());
        d.getSpec().node = "node-2";
        d.getSpec().disks = List.of(disk.toString());
        kubectl.resources(DiskPoolResource.class).inNamespace(NS).resource(d).create();

        Await.until("the applied pool created and its status written", Duration.ofSeconds(60), () -> {
            DiskPoolResource now = kubectl.resources(DiskPoolResource.class).inNamespace(NS).withName("applied").get();
            return now.getStatus() != null && "Created".equals(now.getStatus().crState)
                    && "Online".equals(now.getStatus().poolStatus) && now.getStatus().capacity != null;
        });
        assertThat(c.cp.pools.require("applied").getSpec().getNode()).isEqualTo("node-2");
        assertThat(DiskPoolsOf.engine(c, "node-2")).contains("applied");

        kubectl.resources(DiskPoolResource.class).inNamespace(NS).withName("applied").delete();
        Await.until("the deleted pool destroyed on its engine", Duration.ofSeconds(60),
                () -> !DiskPoolsOf.engine(c, "node-2").contains("applied") && c.cp.pools.get("applied").isEmpty());
    }

    @Test
    void aVolumeIsItsResourceScaledAndDestroyedThroughIt() throws Exception {
        Volume v = c.cp.volumes.create(CreateVolumeRequest.newBuilder().setName("pvc-k8s").setSize(16 * MiB)
                .setReplicas(1).build());
        String uuid = v.getSpec().getUuid();
        Volume p = c.cp.volumes.publish("pvc-k8s", "", List.of());
        c.cp.reconcile();      // the observed status written to the resource
        VolumeResource r = resource(uuid);
        assertThat(r.getSpec().replicaCount).isEqualTo(1);
        assertThat(r.getSpec().requiredBytes).isEqualTo(16 * MiB);
        assertThat(r.getStatus().targetNode).isEqualTo(p.getState().getTargetNode());
        assertThat(r.getStatus().deviceUri).isEqualTo(p.getState().getUri());
        assertThat(r.getStatus().state).isEqualTo("Online");
        assertThat(r.getStatus().replicas).singleElement().satisfies(x -> {
            assertThat(x.node).isEqualTo(v.getState().getReplicas(0).getNode());
            assertThat(x.state).isEqualTo("Online");
        });
        String bdev = c.connect(p.getState().getUri());
        c.write(bdev, 0, 64, 11);

        // kubectl edit msv: two replicas. The control plane scales the volume; the new replica is rebuilt.
        r.getSpec().replicaCount = 2;
        kubectl.resource(r).inNamespace(NS).update();
        Await.until("scaled to two replicas, both online", Duration.ofSeconds(60), () -> {
            c.cp.reconcile();
            var now = c.cp.volumes.view(c.cp.volumes.require("pvc-k8s"));
            return now.getState().getReplicasCount() == 2
                    && now.getState().getReplicasList().stream().allMatch(x -> x.getState().equals("Online"));
        });
        assertThat(c.readsBack(bdev, 0, 64, 11)).isTrue();
        c.disconnect(bdev);

        List<Event> events = c.cp.volumes.described(c.cp.volumes.require("pvc-k8s")).getEventsList();
        assertThat(events).extracting(Event::getReason).contains("Created", "Published", "ScaleRequested");
        assertThat(kubectl.v1().events().inNamespace(NS).list().getItems())
                .anyMatch(e -> e.getInvolvedObject().getName().equals(uuid) && "Published".equals(e.getReason())
                        && "PanastorVolume".equals(e.getInvolvedObject().getKind()));

        // kubectl delete msv: the volume is destroyed, nothing left on the engines.
        kubectl.resources(VolumeResource.class).inNamespace(NS).withName(uuid).delete();
        Await.until("destroyed", Duration.ofSeconds(60), () -> c.cp.volumes.all().stream()
                .noneMatch(x -> x.getSpec().getUuid().equals(uuid)));
        assertThat(c.replicasOf(uuid)).isEmpty();
        assertThat(c.nexusesOf(uuid)).isEmpty();
    }

    /** The pools an engine holds, by name. */
    static final class DiskPoolsOf {
        static List<String> engine(Cluster c, String node) {
            return io.panastor.api.v1.PoolRpcGrpc.newBlockingStub(c.engine(node).channel)
                    .listPools(io.panastor.api.v1.ListPoolOptions.getDefaultInstance()).getPoolsList().stream()
                    .map(io.panastor.api.v1.Pool::getName).toList();
        }
    }
}
