package io.panastor.control;

import io.panastor.api.control.v1.CreateVolumeRequest;
import io.panastor.api.control.v1.Operation;
import io.panastor.api.control.v1.ReplicaRecord;
import io.panastor.api.control.v1.Volume;
import io.panastor.api.control.v1.VolumeRecord;
import io.panastor.api.v1.Nexus;
import io.panastor.api.v1.Replica;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The control plane stopped at every step of create, publish and destroy in turn — as a kill -9
 * there would stop it: nothing after the step runs, the store stays as it is — and another
 * started on the same store: the operation completes (or a create is undone), no volume is lost,
 * and no engine holds a replica or nexus the store does not know.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ControlPlaneCrashTest {
    /** The control plane's store: its files here; custom resources in the KubernetesControlPlaneCrashTest subclass. */
    Cluster.Stores stores() {
        return Cluster.Stores.FILE;
    }

    static final long MiB = 1 << 20;
    Cluster c;

    /** What a kill -9 does to the call under way. */
    static final class Crash extends Error {
        Crash(String step) {
            super("crashed at " + step);
        }
    }

    /** Stops the test thread's operation at its {@code at}-th volume step; counts them. */
    static final class Crasher implements CrashPoints {
        final int at;
        final Thread owner = Thread.currentThread();
        final AtomicInteger reached = new AtomicInteger();
        final List<String> steps = new ArrayList<>();

        Crasher(int at) {
            this.at = at;
        }

        @Override
        public void reached(String step) {
            if (Thread.currentThread() != owner || !step.startsWith("volume.")) {
                return;
            }
            steps.add(step);
            if (reached.incrementAndGet() == at) {
                throw new Crash(step);
            }
        }
    }

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        c = new Cluster(dir, 3, new Crasher(Integer.MAX_VALUE), ControlPlane.Config.DEFAULT_REPLICA_WAIT, stores());
    }

    @AfterAll
    void stop() throws Exception {
        c.close();
    }

    /** How many volume steps {@code op} takes when nothing goes wrong. */
    private int stepsOf(Consumer<String> setUp, Consumer<String> op, String name) throws Exception {
        setUp.accept(name);
        Crasher count = new Crasher(Integer.MAX_VALUE);
        c.restartControlPlane(count);
        op.accept(name);
        c.restartControlPlane(new Crasher(Integer.MAX_VALUE));
        c.cp.volumes.destroy(name);
        assertThat(count.steps).isNotEmpty();
        return count.steps.size();
    }

    /** Runs {@code op} stopped at each of its steps in turn, restarts, reconciles and checks {@code after}. */
    private void crashEverywhere(Consumer<String> setUp, Consumer<String> op, Consumer<String> after, String what)
            throws Exception {
        int steps = stepsOf(setUp, op, what + "-count");
        for (int k = 1; k <= steps; k++) {
            String name = what + "-" + k;
            setUp.accept(name);
            Crasher crasher = new Crasher(k);
            c.restartControlPlane(crasher);
            assertThatThrownBy(() -> op.accept(name)).as("%s stopped at step %d", what, k).isInstanceOf(Crash.class);
            String step = crasher.steps.getLast();
            c.restartControlPlane(new Crasher(Integer.MAX_VALUE));
            c.cp.reconcile();
            try {
                after.accept(name);
                assertNoOrphans();
            } catch (AssertionError e) {
                throw new AssertionError(what + " stopped at step " + k + " (" + step + "): " + e.getMessage(), e);
            }
            c.cp.volumes.destroy(name);
            assertNoOrphans();
        }
    }

    private static void nothing(String name) {
    }

    private void create(String name) {
        c.cp.volumes.create(CreateVolumeRequest.newBuilder().setName(name).setSize(8 * MiB).setReplicas(2).build());
    }

    private void createAndPublish(String name) {
        create(name);
        c.cp.volumes.publish(name, "", List.of());
    }

    private Optional<VolumeRecord> record(String name) {
        return c.cp.volumes.all().stream().filter(r -> r.getSpec().getName().equals(name)).findFirst();
    }

    /** Every replica and nexus an engine holds for a volume is one the store has; every replica the store has exists. */
    private void assertNoOrphans() {
        Set<String> known = new HashSet<>();
        for (VolumeRecord r : c.cp.volumes.all()) {
            assertThat(r.getOperation()).as("volume %s", r.getSpec().getName()).isEqualTo(Operation.OP_NONE);
            for (ReplicaRecord x : r.getReplicasList()) {
                known.add(x.getUuid());
                assertThat(c.replicas(x.getNode())).as("replica %s of %s on %s", x.getUuid(), r.getSpec().getName(),
                        x.getNode()).anyMatch(p -> p.getUuid().equals(x.getUuid()));
            }
        }
        for (int i = 1; i <= c.engines.size(); i++) {
            String node = "node-" + i;
            for (Replica p : c.replicas(node)) {
                assertThat(known).as("replica %s on %s (volume %s) is in the store", p.getUuid(), node, p.getEntityId())
                        .contains(p.getUuid());
            }
            for (Nexus n : c.nexuses(node)) {
                assertThat(c.cp.volumes.all()).as("nexus %s on %s is a published volume's", n.getUuid(), node)
                        .anyMatch(r -> r.getSpec().getUuid().equals(n.getUuid()) && r.getTargetNode().equals(node));
            }
        }
    }

    @Test
    void aCreateStoppedAnywhereIsFinishedOrUndoneAndCanBeRetried() throws Exception {
        crashEverywhere(ControlPlaneCrashTest::nothing, this::create, name -> {
            Optional<VolumeRecord> r = record(name);
            r.ifPresent(x -> assertThat(c.replicasOf(x.getSpec().getUuid())).hasSize(2));
            // Asked again (as a CSI driver retries), it is there, whole.
            create(name);
            VolumeRecord v = record(name).orElseThrow();
            assertThat(v.getOperation()).isEqualTo(Operation.OP_NONE);
            assertThat(c.replicasOf(v.getSpec().getUuid())).hasSize(2);
        }, "create");
    }

    @Test
    void aPublishStoppedAnywhereIsFinished() throws Exception {
        crashEverywhere(this::create, name -> c.cp.volumes.publish(name, "", List.of()), name -> {
            VolumeRecord before = record(name).orElseThrow();
            if (before.getTargetNode().isEmpty()) {
                // Stopped before it began: nothing of it anywhere, and asked again it is done.
                assertThat(c.nexusesOf(before.getSpec().getUuid())).isEmpty();
                c.cp.volumes.publish(name, "", List.of());
            }
            VolumeRecord r = record(name).orElseThrow();
            assertThat(r.getTargetNode()).isNotEmpty();
            assertThat(r.getUri()).startsWith("nvmf://");
            assertThat(c.nexusesOf(r.getSpec().getUuid())).singleElement()
                    .satisfies(n -> assertThat(n.getDeviceUri()).isEqualTo(r.getUri()));
            String hostNqn = c.cp.nodes.require(r.getTargetNode()).getHostnqn();
            for (ReplicaRecord x : r.getReplicasList()) {
                if (!x.getNode().equals(r.getTargetNode())) {
                    assertThat(c.replicas(x.getNode())).filteredOn(p -> p.getUuid().equals(x.getUuid())).singleElement()
                            .satisfies(p -> assertThat(p.getAllowedHostsList()).containsExactly(hostNqn));
                }
            }
            // It serves: what is written reads back.
            String b = c.connect(r.getUri());
            try {
                c.write(b, 7, 8, 77);
                assertThat(c.readsBack(b, 7, 8, 77)).isTrue();
            } finally {
                c.disconnect(b);
            }
            Volume again = c.cp.volumes.publish(name, "", List.of());
            assertThat(again.getState().getUri()).isEqualTo(r.getUri());
        }, "publish");
    }

    @Test
    void aResizeAndAScaleStoppedAnywhereAreFinished() throws Exception {
        crashEverywhere(this::createAndPublish, name -> c.cp.volumes.resize(name, 16 * MiB), name -> {
            VolumeRecord r = record(name).orElseThrow();
            if (r.getSize() == 8 * MiB) {
                c.cp.volumes.resize(name, 16 * MiB);        // stopped before it began: asked again
                r = record(name).orElseThrow();
            }
            assertThat(r.getSize()).isEqualTo(16 * MiB);
            assertThat(c.replicasOf(r.getSpec().getUuid())).allSatisfy(x -> assertThat(x.getSize()).isEqualTo(16 * MiB));
            assertThat(c.nexusesOf(r.getSpec().getUuid())).singleElement()
                    .satisfies(n -> assertThat(n.getSize()).isEqualTo(16 * MiB));
        }, "resize");
        crashEverywhere(this::createAndPublish, name -> c.cp.volumes.scale(name, 3), name -> {
            if (record(name).orElseThrow().getReplicasCount() == 2) {
                c.cp.volumes.scale(name, 3);
            }
            VolumeRecord r = record(name).orElseThrow();
            assertThat(r.getReplicasList()).hasSize(3);
            assertThat(c.replicasOf(r.getSpec().getUuid())).hasSize(3);
            assertThat(c.nexusesOf(r.getSpec().getUuid()).getFirst().getChildrenList()).hasSize(3);
        }, "scale-up");
        crashEverywhere(name -> {
            createAndPublish(name);
            c.cp.volumes.scale(name, 3);
        }, name -> c.cp.volumes.scale(name, 2), name -> {
            if (record(name).orElseThrow().getReplicasCount() == 3) {
                c.cp.volumes.scale(name, 2);
            }
            VolumeRecord r = record(name).orElseThrow();
            assertThat(r.getReplicasList()).hasSize(2).noneMatch(ReplicaRecord::getRemoving);
            assertThat(c.replicasOf(r.getSpec().getUuid())).hasSize(2);
            assertThat(c.nexusesOf(r.getSpec().getUuid()).getFirst().getChildrenList()).hasSize(2);
        }, "scale-down");
    }

    @Test
    void aDestroyStoppedAnywhereIsFinished() throws Exception {
        crashEverywhere(this::createAndPublish, name -> c.cp.volumes.destroy(name), name -> {
            Optional<VolumeRecord> left = record(name);
            if (left.isPresent()) {
                // Stopped before it began: the volume is whole and published, and asked again it goes.
                assertThat(c.replicasOf(left.get().getSpec().getUuid())).hasSize(2);
                assertThat(c.nexusesOf(left.get().getSpec().getUuid())).hasSize(1);
                c.cp.volumes.destroy(name);
                assertThat(c.replicasOf(left.get().getSpec().getUuid())).isEmpty();
            }
            assertThat(record(name)).isEmpty();
        }, "destroy");
    }
}
