package io.panastor.control;

import io.grpc.Status;
import io.panastor.api.control.v1.CreateVolumeRequest;
import io.panastor.api.control.v1.Volume;
import io.panastor.api.control.v1.VolumeReplica;
import io.panastor.api.control.v1.VolumeStatus;
import io.panastor.api.v1.Replica;
import io.panastor.api.v1.ReplicaRpcGrpc;
import io.panastor.api.v1.ShareProtocol;
import io.panastor.api.v1.ShareReplicaRequest;
import io.panastor.api.v1.UnshareReplicaRequest;
import io.panastor.engine.Await;
import io.panastor.engine.Engine;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Volumes of 1, 2 and 3 replicas on three engines and one control plane, each through its whole
 * life: created on distinct nodes, published, written and read back through the initiator,
 * resized (the initiator sees the new size), scaled up (the new replica rebuilt: it holds what
 * was written) and down, unpublished and destroyed, leaving nothing on any engine or in the store.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class VolumeLifecycleTest {
    /** The control plane's store: its files here; custom resources in the KubernetesVolumeLifecycleTest subclass. */
    Cluster.Stores stores() {
        return Cluster.Stores.FILE;
    }

    static final long MiB = 1 << 20;
    Cluster c;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        c = new Cluster(dir, 4, CrashPoints.NONE, ControlPlane.Config.DEFAULT_REPLICA_WAIT, stores());
    }

    @AfterAll
    void stop() throws Exception {
        c.close();
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void aVolumeLivesAndDiesWithNothingLeftBehind(int replicas) throws Exception {
        String name = "life-" + replicas;
        Volume v = c.cp.volumes.create(CreateVolumeRequest.newBuilder().setName(name).setSize(16 * MiB)
                .setReplicas(replicas).build());
        String uuid = v.getSpec().getUuid();
        assertThat(v.getState().getStatus()).isEqualTo(VolumeStatus.VOLUME_ONLINE);
        assertThat(v.getState().getReplicasList()).hasSize(replicas);
        Set<String> nodes = new HashSet<>();
        v.getState().getReplicasList().forEach(r -> nodes.add(r.getNode()));
        assertThat(nodes).as("replicas on distinct nodes").hasSize(replicas);
        assertThat(c.replicasOf(uuid)).hasSize(replicas);
        // The same create again is the same volume.
        assertThat(c.cp.volumes.create(CreateVolumeRequest.newBuilder().setName(name).setSize(16 * MiB)
                .setReplicas(replicas).build()).getSpec().getUuid()).isEqualTo(uuid);

        String target = v.getState().getReplicas(0).getNode();
        Volume p = c.cp.volumes.publish(name, target, List.of());
        assertThat(p.getState().getTargetNode()).isEqualTo(target);
        assertThat(p.getState().getUri()).startsWith("nvmf://127.0.0.1:").endsWith("nqn.2019-05.io.openebs:" + uuid);
        assertThat(p.getState().getStatus()).isEqualTo(VolumeStatus.VOLUME_ONLINE);
        // Remote replicas are shared to the nexus node's host NQN alone; the local one is not shared.
        String hostNqn = c.cp.nodes.require(target).getHostnqn();
        for (VolumeReplica r : p.getState().getReplicasList()) {
            Replica on = c.replicas(r.getNode()).stream().filter(x -> x.getUuid().equals(r.getUuid())).findFirst()
                    .orElseThrow();
            if (r.getNode().equals(target)) {
                assertThat(r.getUri()).startsWith("bdev:///" + r.getUuid());
                assertThat(on.getUri()).doesNotStartWith("nvmf://");
            } else {
                assertThat(on.getAllowedHostsList()).containsExactly(hostNqn);
                assertThat(r.getUri()).startsWith("nvmf://").contains("hostnqn=" + hostNqn);
            }
        }

        String bdev = c.connect(p.getState().getUri());
        c.write(bdev, 0, 64, 1);
        long last = 16 * MiB / Cluster.BLOCK - 64;
        c.write(bdev, last, 64, 2);
        assertThat(c.readsBack(bdev, 0, 64, 1)).isTrue();
        assertThat(c.readsBack(bdev, last, 64, 2)).isTrue();

        // Resized: replicas, then the nexus; the initiator sees the new size and writes past the old end.
        Volume r = c.cp.volumes.resize(name, 32 * MiB);
        assertThat(r.getSpec().getSize()).isEqualTo(32 * MiB);
        assertThat(r.getState().getSize()).isEqualTo(32 * MiB);
        assertThat(c.nexusesOf(uuid)).singleElement().satisfies(n -> assertThat(n.getSize()).isEqualTo(32 * MiB));
        assertThat(c.rescannedBytes(bdev)).isEqualTo(32 * MiB);
        long end = 32 * MiB / Cluster.BLOCK - 64;
        c.write(bdev, end, 64, 3);
        assertThat(c.readsBack(bdev, end, 64, 3)).isTrue();
        assertThat(c.readsBack(bdev, 0, 64, 1)).isTrue();

        // Scaled up: a replica on another node, rebuilt from the others.
        Volume up = c.cp.volumes.scale(name, replicas + 1);
        assertThat(up.getState().getReplicasList()).hasSize(replicas + 1);
        Set<String> before = new HashSet<>();
        v.getState().getReplicasList().forEach(x -> before.add(x.getUuid()));
        VolumeReplica added = up.getState().getReplicasList().stream().filter(x -> !before.contains(x.getUuid()))
                .findFirst().orElseThrow();
        assertThat(nodes).doesNotContain(added.getNode());
        Await.until("the added replica rebuilt", Duration.ofSeconds(120), () -> c.cp.volumes.view(c.cp.volumes.require(name))
                .getState().getReplicasList().stream().allMatch(x -> x.getState().equals("Online")));
        assertThat(c.cp.volumes.view(c.cp.volumes.require(name)).getState().getStatus())
                .isEqualTo(VolumeStatus.VOLUME_ONLINE);
        c.write(bdev, 128, 16, 4);
        c.disconnect(bdev);

        // Unpublished: no nexus, no share; then the added replica alone holds everything written.
        Volume down = c.cp.volumes.unpublish(name);
        assertThat(down.getState().getTargetNode()).isEmpty();
        assertThat(c.nexusesOf(uuid)).isEmpty();
        assertThat(c.replicasOf(uuid)).allSatisfy(x -> assertThat(x.getUri()).doesNotStartWith("nvmf://"));
        assertThat(replicaHolds(added, List.of(new long[] {0, 64, 1}, new long[] {last, 64, 2},
                new long[] {end, 64, 3}, new long[] {128, 16, 4}))).isTrue();

        // Scaled down again: one replica fewer, on the engines too.
        Volume fewer = c.cp.volumes.scale(name, replicas);
        assertThat(fewer.getState().getReplicasList()).hasSize(replicas);
        assertThat(c.replicasOf(uuid)).hasSize(replicas);

        c.cp.volumes.destroy(name);
        assertThat(c.replicasOf(uuid)).isEmpty();
        assertThat(c.nexusesOf(uuid)).isEmpty();
        assertThat(c.cp.volumes.all()).noneMatch(x -> x.getSpec().getUuid().equals(uuid));
        assertThat(c.cp.volumes.health(uuid)).isEmpty();
        assertThat(c.cp.config().store().list("volumes/")).doesNotContainKey("volumes/" + uuid);
        // Destroying it again is done already.
        c.cp.volumes.destroy(name);
        assertThatCode(() -> c.cp.volumes.require(name), Status.Code.NOT_FOUND);
    }

    /** Shares the replica to the initiator, reads each {lba, blocks, seed} back, unshares it. */
    private boolean replicaHolds(VolumeReplica r, List<long[]> ranges) {
        var stub = ReplicaRpcGrpc.newBlockingStub(c.engine(r.getNode()).channel);
        String uri = stub.shareReplica(ShareReplicaRequest.newBuilder().setUuid(r.getUuid()).setShare(ShareProtocol.NVMF)
                .build()).getUri();
        String b = c.connect(uri);
        try {
            for (long[] x : ranges) {
                if (!c.readsBack(b, x[0], (int) x[1], x[2])) {
                    return false;
                }
            }
            return true;
        } finally {
            c.disconnect(b);
            stub.unshareReplica(UnshareReplicaRequest.newBuilder().setUuid(r.getUuid()).build());
        }
    }

    static void assertThatCode(Runnable r, Status.Code code) {
        try {
            r.run();
        } catch (ControlException e) {
            assertThat(e.code()).isEqualTo(code);
            return;
        }
        throw new AssertionError("expected " + code);
    }
}
