package io.panastor.control.k8s;

import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.panastor.api.control.v1.CrState;
import io.panastor.api.control.v1.DiskPoolSpec;
import io.panastor.api.control.v1.DiskPoolStatus;
import io.panastor.api.control.v1.Operation;
import io.panastor.api.control.v1.PoolRecord;
import io.panastor.api.control.v1.PoolStatus;
import io.panastor.api.control.v1.ReplicaRecord;
import io.panastor.api.control.v1.VolumeRecord;
import io.panastor.api.control.v1.VolumeReplica;
import io.panastor.api.control.v1.VolumeSpec;
import io.panastor.api.control.v1.VolumeState;
import io.panastor.api.control.v1.VolumeStatus;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The control plane's records as the custom resources users see, and back. A pool's spec is
 * what {@code kubectl apply} gives; a resource without a status is one the control plane has
 * not taken up yet (a DiskPool just applied: Creating; a volume applied, or whose create was cut
 * short between its two writes: Creating with no replica placed, which the reconcile loop places).
 */
final class Resources {
    private Resources() {
    }

    // ------------------------------------------------------------------ pools

    static DiskPoolResource pool(PoolRecord r) {
        DiskPoolResource d = new DiskPoolResource();
        d.setMetadata(new ObjectMeta());
        d.getMetadata().setName(r.getName());
        DiskPoolResource.Spec spec = new DiskPoolResource.Spec();
        spec.node = r.getSpec().getNode();
        spec.disks = new ArrayList<>(r.getSpec().getDisksList());
        if (r.getSpec().getTopologyCount() > 0) {
            spec.topology = new DiskPoolResource.Topology();
            spec.topology.labelled = new HashMap<>(r.getSpec().getTopologyMap());
        }
        d.setSpec(spec);
        DiskPoolResource.Status s = new DiskPoolResource.Status();
        s.crState = switch (r.getCrState()) {
            case CR_CREATED -> "Created";
            case CR_TERMINATING -> "Terminating";
            default -> "Creating";
        };
        if (!r.getUuid().isEmpty()) {
            s.uuid = r.getUuid();
        }
        if (r.hasObserved()) {
            DiskPoolStatus o = r.getObserved();
            s.poolStatus = word(o.getPoolStatus().name(), "POOL_STATUS_");
            s.capacity = o.getCapacity();
            s.used = o.getUsed();
            s.available = o.getAvailable();
            s.committed = o.getCommitted();
            s.replicas = o.getReplicas();
            if (!o.getError().isEmpty()) {
                s.message = o.getError();
            }
        }
        d.setStatus(s);
        return d;
    }

    static PoolRecord pool(DiskPoolResource d) {
        PoolRecord.Builder b = PoolRecord.newBuilder().setName(d.getMetadata().getName());
        DiskPoolSpec.Builder spec = DiskPoolSpec.newBuilder();
        if (d.getSpec() != null) {
            if (d.getSpec().node != null) {
                spec.setNode(d.getSpec().node);
            }
            if (d.getSpec().disks != null) {
                spec.addAllDisks(d.getSpec().disks);
            }
            if (d.getSpec().topology != null && d.getSpec().topology.labelled != null) {
                spec.putAllTopology(d.getSpec().topology.labelled);
            }
        }
        b.setSpec(spec);
        DiskPoolResource.Status s = d.getStatus();
        if (s == null || s.crState == null) {
            return b.setCrState(CrState.CR_CREATING).build();
        }
        b.setCrState(switch (s.crState) {
            case "Created" -> CrState.CR_CREATED;
            case "Terminating" -> CrState.CR_TERMINATING;
            default -> CrState.CR_CREATING;
        });
        if (s.uuid != null) {
            b.setUuid(s.uuid);
        }
        if (s.poolStatus != null) {
            DiskPoolStatus.Builder o = DiskPoolStatus.newBuilder().setCrState(b.getCrState()).setUuid(b.getUuid())
                    .setPoolStatus(enumOf(PoolStatus.class, "POOL_STATUS_", s.poolStatus, PoolStatus.POOL_STATUS_UNKNOWN))
                    .setCapacity(zero(s.capacity)).setUsed(zero(s.used)).setAvailable(zero(s.available))
                    .setCommitted(zero(s.committed)).setReplicas(s.replicas == null ? 0 : s.replicas);
            if (s.message != null) {
                o.setError(s.message);
            }
            b.setObserved(o);
        }
        return b.build();
    }

    // ------------------------------------------------------------------ volumes

    static VolumeResource volume(VolumeRecord r) {
        VolumeResource v = new VolumeResource();
        v.setMetadata(new ObjectMeta());
        v.getMetadata().setName(r.getSpec().getUuid());
        VolumeResource.Spec spec = new VolumeResource.Spec();
        VolumeSpec rs = r.getSpec();
        spec.name = rs.getName();
        spec.replicaCount = rs.getReplicas();
        spec.requiredBytes = rs.getSize();
        spec.thin = rs.getThin();
        spec.preferredNodes = rs.getPreferredNodesCount() == 0 ? null : new ArrayList<>(rs.getPreferredNodesList());
        spec.requiredNodes = rs.getRequiredNodesCount() == 0 ? null : new ArrayList<>(rs.getRequiredNodesList());
        spec.nodeSelector = rs.getNodeSelectorCount() == 0 ? null : new HashMap<>(rs.getNodeSelectorMap());
        spec.poolSelector = rs.getPoolSelectorCount() == 0 ? null : new HashMap<>(rs.getPoolSelectorMap());
        v.setSpec(spec);
        VolumeResource.Status s = new VolumeResource.Status();
        s.size = r.getSize();
        s.operation = r.getOperation() == Operation.OP_NONE ? null : word(r.getOperation().name(), "OP_");
        s.targetNode = r.getTargetNode().isEmpty() ? null : r.getTargetNode();
        s.deviceUri = r.getUri().isEmpty() ? null : r.getUri();
        s.allowedHosts = r.getAllowedHostsCount() == 0 ? null : new ArrayList<>(r.getAllowedHostsList());
        Map<String, VolumeReplica> seen = new HashMap<>();
        if (r.hasObserved()) {
            s.state = word(r.getObserved().getStatus().name(), "VOLUME_");
            r.getObserved().getReplicasList().forEach(x -> seen.put(x.getUuid(), x));
        }
        s.replicas = new ArrayList<>();
        for (ReplicaRecord x : r.getReplicasList()) {
            VolumeResource.Replica o = new VolumeResource.Replica();
            o.uuid = x.getUuid();
            o.node = x.getNode();
            o.pool = x.getPool();
            o.removing = x.getRemoving();
            VolumeReplica w = seen.get(x.getUuid());
            if (w != null) {
                o.state = w.getState();
                o.uri = w.getUri().isEmpty() ? null : w.getUri();
            }
            s.replicas.add(o);
        }
        v.setStatus(s);
        return v;
    }

    static VolumeRecord volume(VolumeResource v) {
        VolumeResource.Spec spec = v.getSpec() == null ? new VolumeResource.Spec() : v.getSpec();
        VolumeSpec.Builder rs = VolumeSpec.newBuilder().setUuid(v.getMetadata().getName())
                .setName(spec.name == null ? v.getMetadata().getName() : spec.name)
                .setReplicas(Math.max(1, spec.replicaCount)).setSize(spec.requiredBytes).setThin(spec.thin);
        if (spec.preferredNodes != null) {
            rs.addAllPreferredNodes(spec.preferredNodes);
        }
        if (spec.requiredNodes != null) {
            rs.addAllRequiredNodes(spec.requiredNodes);
        }
        if (spec.nodeSelector != null) {
            rs.putAllNodeSelector(spec.nodeSelector);
        }
        if (spec.poolSelector != null) {
            rs.putAllPoolSelector(spec.poolSelector);
        }
        VolumeRecord.Builder b = VolumeRecord.newBuilder().setSpec(rs);
        VolumeResource.Status s = v.getStatus();
        if (s == null || s.size == null) {
            return b.setOperation(Operation.OP_CREATING).setSize(spec.requiredBytes).build();
        }
        b.setSize(s.size);
        if (s.operation != null) {
            b.setOperation(enumOf(Operation.class, "OP_", s.operation, Operation.OP_NONE));
        } else if (s.size < spec.requiredBytes) {
            // A larger size in the spec than the replicas have: a resize asked (its status not written yet, or a
            // user's edit of the resource), finished by the reconcile loop.
            b.setOperation(Operation.OP_RESIZING);
        }
        if (s.targetNode != null) {
            b.setTargetNode(s.targetNode);
        }
        if (s.deviceUri != null) {
            b.setUri(s.deviceUri);
        }
        if (s.allowedHosts != null) {
            b.addAllAllowedHosts(s.allowedHosts);
        }
        VolumeState.Builder o = VolumeState.newBuilder();
        for (VolumeResource.Replica x : s.replicas == null ? List.<VolumeResource.Replica>of() : s.replicas) {
            b.addReplicas(ReplicaRecord.newBuilder().setUuid(x.uuid).setNode(x.node).setPool(x.pool)
                    .setRemoving(x.removing));
            if (x.state != null) {
                VolumeReplica.Builder w = VolumeReplica.newBuilder().setUuid(x.uuid).setNode(x.node).setPool(x.pool)
                        .setState(x.state);
                if (x.uri != null) {
                    w.setUri(x.uri);
                }
                o.addReplicas(w);
            }
        }
        if (s.state != null) {
            b.setObserved(o.setStatus(enumOf(VolumeStatus.class, "VOLUME_", s.state, VolumeStatus.VOLUME_UNKNOWN)));
        }
        return b.build();
    }

    // ------------------------------------------------------------------ words

    /** {@code POOL_STATUS_ONLINE} as {@code Online}, as Mayastor's resources spell their states. */
    static String word(String constant, String prefix) {
        String w = constant.substring(prefix.length()).toLowerCase(java.util.Locale.ROOT);
        return Character.toUpperCase(w.charAt(0)) + w.substring(1);
    }

    private static <E extends Enum<E>> E enumOf(Class<E> type, String prefix, String word, E otherwise) {
        try {
            return Enum.valueOf(type, prefix + word.toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            return otherwise;
        }
    }

    private static long zero(Long l) {
        return l == null ? 0 : l;
    }
}
