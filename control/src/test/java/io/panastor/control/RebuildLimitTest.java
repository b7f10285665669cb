package io.panastor.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.api.control.v1.CreateVolumeRequest;
import io.panastor.api.control.v1.Event;
import io.panastor.api.control.v1.ReplicaRecord;
import io.panastor.api.control.v1.Volume;
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

/**
 * The cluster-wide limit on rebuilds ({@code --max-rebuilds}): a node holding a replica of two
 * volumes dies; with a limit of one, a pass replaces one of them and tells the other it waits;
 * once the first rebuild is done the next pass replaces the second.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RebuildLimitTest {
    static final long MiB = 1 << 20;
    Cluster c;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        c = new Cluster(dir, 4, CrashPoints.NONE, Duration.ZERO);
        c.maxRebuilds = 1;
        c.restartControlPlane(CrashPoints.NONE);
    }

    @AfterAll
    void stop() throws Exception {
        c.close();
    }

    private boolean replacing(String name) {
        return c.cp.volumes.require(name).getReplicasList().stream().anyMatch(ReplicaRecord::getRemoving)
                || c.cp.volumes.require(name).getReplicasList().stream().noneMatch(x -> x.getNode().equals("node-2"));
    }

    @Test
    void oneRebuildAtATimeTheOtherVolumeWaitsItsTurn() throws Exception {
        for (String name : List.of("one", "two")) {
            c.cp.volumes.create(CreateVolumeRequest.newBuilder().setName(name).setSize(16 * MiB).setReplicas(2)
                    .addPreferredNodes("node-1").addPreferredNodes("node-2").build());
            Volume p = c.cp.volumes.publish(name, "node-1", List.of());
            String b = c.connect(p.getState().getUri());
            c.write(b, 0, 64, name.length());
            c.disconnect(b);
        }
        c.engine("node-2").close();
        for (String name : List.of("one", "two")) {
            // A write makes each nexus find its node-2 child gone and fault it.
            String b = c.connect(c.cp.volumes.require(name).getUri());
            c.write(b, 100, 64, 7);
            c.disconnect(b);
        }
        Await.until("both volumes' node-2 children faulted", Duration.ofSeconds(120), () ->
                List.of("one", "two").stream().allMatch(n -> c.nexuses("node-1").stream()
                        .filter(x -> x.getUuid().equals(c.cp.volumes.require(n).getSpec().getUuid()))
                        .anyMatch(x -> x.getChildrenList().stream().anyMatch(ch -> ch.getState()
                                == io.panastor.api.v1.ChildState.CHILD_STATE_FAULTED))));
        c.cp.reconcile();
        long replaced = List.of("one", "two").stream().filter(this::replacing).count();
        assertThat(replaced).as("replacements started in one pass with --max-rebuilds 1").isEqualTo(1);
        String waiting = replacing("one") ? "two" : "one";
        assertThat(c.cp.volumes.described(c.cp.volumes.require(waiting)).getEventsList()).extracting(Event::getReason)
                .contains("RebuildDeferred");

        Await.until("both replaced and online", Duration.ofSeconds(120), () -> {
            c.cp.reconcile();
            return List.of("one", "two").stream().allMatch(n -> {
                Volume v = c.cp.volumes.view(c.cp.volumes.require(n));
                return v.getState().getStatus() == VolumeStatus.VOLUME_ONLINE && v.getState().getReplicasCount() == 2
                        && v.getState().getReplicasList().stream().noneMatch(x -> x.getNode().equals("node-2"));
            });
        });
        for (String name : List.of("one", "two")) {
            Volume v = c.cp.volumes.view(c.cp.volumes.require(name));
            String b = c.connect(v.getState().getUri());
            assertThat(c.readsBack(b, 0, 64, name.length()) && c.readsBack(b, 100, 64, 7)).isTrue();
            c.disconnect(b);
        }
    }
}
