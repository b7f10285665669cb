package io.panastor.control;

import io.panastor.api.control.v1.Operation;
import io.panastor.api.control.v1.ReplicaRecord;
import io.panastor.api.control.v1.VolumeRecord;
import io.panastor.api.v1.Child;
import io.panastor.api.v1.ChildState;
import io.panastor.api.v1.Nexus;
import java.time.Duration;
import java.time.InstantSource;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The healing steps of the reconcile loop, each small: a volume whose nexus node is lost is
 * republished elsewhere (fenced first); a replica out of its nexus (faulted, or no child) that
 * is reachable again is brought back (a partial rebuild when the nexus kept its log); one out
 * for longer than the wait window is replaced on another node; what an online engine holds for
 * volumes the store does not know it for is collected. The window runs on the control plane's
 * clock from when a pass first saw the replica out.
 */
final class Healer {
    private static final Logger LOG = LoggerFactory.getLogger(Healer.class);

    private final Nodes nodes;
    private final Volumes volumes;
    private final InstantSource clock;
    private final Duration replicaWait;
    /** At most this many rebuilds at once in the cluster (0: no limit), as Mayastor's {@code --max-rebuilds}. */
    private final int maxRebuilds;
    /** Volumes told their rebuild waits for the limit, not told again until one of theirs starts. */
    private final Set<String> deferred = ConcurrentHashMap.newKeySet();
    /** Replica UUID to when a pass first saw it out of its nexus. */
    private final Map<String, Long> outSince = new ConcurrentHashMap<>();

    Healer(Nodes nodes, Volumes volumes, InstantSource clock, Duration replicaWait, int maxRebuilds) {
        this.nodes = nodes;
        this.volumes = volumes;
        this.clock = clock;
        this.replicaWait = replicaWait;
        this.maxRebuilds = maxRebuilds;
    }

    /** The rebuilds running now: children of the nexuses the snapshot sees that are out of sync (being rebuilt). */
    private int rebuildsRunning(Snapshot snap) {
        int n = 0;
        for (VolumeRecord rec : volumes.all()) {
            if (!rec.getTargetNode().isEmpty() && snap.reachable(rec.getTargetNode())) {
                Optional<Nexus> x = snap.nexus(rec.getTargetNode(), rec.getSpec().getUuid());
                if (x.isPresent()) {
                    n += (int) x.get().getChildrenList().stream()
                            .filter(c -> c.getState() == ChildState.CHILD_STATE_DEGRADED).count();
                }
            }
        }
        return n;
    }

    /** Whether one more rebuild may start; when not, the volume is told so once, not at every pass it waits. */
    private boolean mayRebuild(VolumeRecord rec, int running) {
        if (maxRebuilds <= 0 || running < maxRebuilds) {
            deferred.remove(rec.getSpec().getUuid());
            return true;
        }
        if (deferred.add(rec.getSpec().getUuid())) {
            volumes.event(rec, false, "RebuildDeferred", running + " rebuild(s) running, the cluster's limit "
                    + "(--max-rebuilds " + maxRebuilds + "): this volume's waits");
        }
        return false;
    }

    /**
     * One pass of every healing step, over what {@code snap} lists of the engines (each node listed once per pass);
     * the volumes it acted on, whose state the snapshot no longer shows.
     */
    Set<String> pass(Snapshot snap) {
        Set<String> touched = new HashSet<>();
        Set<String> stillOut = new HashSet<>();
        int rebuilding = maxRebuilds > 0 ? rebuildsRunning(snap) : 0;
        for (VolumeRecord rec : volumes.all()) {
            if (rec.getOperation() != Operation.OP_NONE || rec.getTargetNode().isEmpty()) {
                continue;
            }
            String uuid = rec.getSpec().getUuid();
            try {
                if (nodes.status(rec.getTargetNode()) == io.panastor.api.control.v1.NodeStatus.NODE_OFFLINE) {
                    touched.add(uuid);
                    volumes.republish(uuid);
                    continue;
                }
                if (!snap.reachable(rec.getTargetNode())) {
                    continue;
                }
                Optional<Nexus> nexus = snap.nexus(rec.getTargetNode(), uuid);
                if (nexus.isEmpty()) {
                    continue;       // the target's resync makes it again
                }
                if (rec.getReplicasList().stream().anyMatch(x -> !x.getRemoving() && out(nexus.get(), x)
                        && snap.replica(x.getNode(), x.getUuid()).isPresent())) {
                    // A replica out of the nexus is reachable again: back in (partial rebuild when it can be).
                    if (!mayRebuild(rec, rebuilding)) {
                        continue;
                    }
                    touched.add(uuid);
                    if (volumes.bringBack(uuid)) {
                        rebuilding++;
                        continue;
                    }
                }
                for (ReplicaRecord x : rec.getReplicasList()) {
                    if (x.getRemoving() || !out(nexus.get(), x)) {
                        continue;
                    }
                    stillOut.add(x.getUuid());
                    Long first = outSince.get(x.getUuid());
                    if (first == null) {
                        first = clock.millis();
                        outSince.put(x.getUuid(), first);
                        volumes.event(rec, true, "ReplicaOut", "replica " + x.getUuid() + " on node " + x.getNode()
                                + " is out of the nexus; replaced unless it is back within " + replicaWait);
                    }
                    if (clock.millis() - first >= replicaWait.toMillis()) {
                        touched.add(uuid);
                        if (mayRebuild(rec, rebuilding) && volumes.replace(uuid, x.getUuid())) {
                            outSince.remove(x.getUuid());
                            rebuilding++;
                        }
                        break;      // one replacement per volume and pass
                    }
                }
            } catch (ControlException e) {
                LOG.info("volume {}: not healed yet: {}", rec.getSpec().getName(), e.getMessage());
            }
        }
        outSince.keySet().retainAll(stillOut);
        for (var n : nodes.all()) {
            if (nodes.online(n.getId())) {
                try {
                    volumes.collectOrphans(n.getId());
                } catch (ControlException e) {
                    LOG.debug("node {}: orphans not collected: {}", n.getId(), e.getMessage());
                }
            }
        }
        return touched;
    }

    /** Whether the replica is out of the nexus's IO path: faulted, or not a child at all. */
    private static boolean out(Nexus n, ReplicaRecord x) {
        Optional<Child> c = n.getChildrenList().stream().filter(ch -> ch.getUri().contains(x.getUuid())).findFirst();
        return c.isEmpty() || c.get().getState() == ChildState.CHILD_STATE_FAULTED;
    }
}
