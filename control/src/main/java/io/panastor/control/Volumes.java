package io.panastor.control;

import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.Status;
import io.panastor.api.control.v1.CreateVolumeRequest;
import io.panastor.api.control.v1.NexusHealthRecord;
import io.panastor.api.control.v1.NodeRecord;
import io.panastor.api.control.v1.Operation;
import io.panastor.api.control.v1.ReplicaRecord;
import io.panastor.api.control.v1.Volume;
import io.panastor.api.control.v1.VolumeRecord;
import io.panastor.api.control.v1.VolumeReplica;
import io.panastor.api.control.v1.VolumeSpec;
import io.panastor.api.control.v1.VolumeState;
import io.panastor.api.control.v1.VolumeStatus;
import io.panastor.api.v1.Child;
import io.panastor.api.v1.ChildState;
import io.panastor.api.v1.Nexus;
import io.panastor.api.v1.NexusState;
import io.panastor.api.v1.Replica;
import io.panastor.control.store.EventLog;
import io.panastor.control.store.Store;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Volumes: N replicas on pools of distinct nodes and, while published, a nexus over them on one
 * node. Each operation first persists what it is about to do (the volume record with its
 * operation, under {@code volumes/UUID}), then makes each change on the engines with calls that
 * can be repeated, then persists the result. So a control plane that crashed at any point finds
 * the operation in the store when it starts again and finishes it ({@link #resumeAll}); a create
 * that cannot be finished is undone as a destroy. Operations on one volume run one at a time.
 */
final class Volumes {
    private static final Logger LOG = LoggerFactory.getLogger(Volumes.class);
    static final String PREFIX = "volumes/";
    static final String HEALTH_PREFIX = "health/";
    static final long ALIGN = 4096;
    static final int MAX_REPLICAS = 8;

    private final Store store;
    private final Nodes nodes;
    private final Pools pools;
    private final CrashPoints crash;
    private final int thinLimitPercent;
    private final EventLog events;
    private final Map<String, VolumeRecord> records = new ConcurrentHashMap<>();
    private final Map<String, String> byName = new ConcurrentHashMap<>();
    private final Map<String, ReentrantLock> locks = new ConcurrentHashMap<>();
    private final Map<String, Object> guards = new ConcurrentHashMap<>();
    private final Object placementLock = new Object();

    Volumes(Store store, Nodes nodes, Pools pools, CrashPoints crash, int thinLimitPercent) throws IOException {
        this.store = store;
        this.events = store.events();
        this.nodes = nodes;
        this.pools = pools;
        this.crash = crash;
        this.thinLimitPercent = thinLimitPercent;
        for (byte[] v : store.list(PREFIX).values()) {
            VolumeRecord r = VolumeRecord.parseFrom(v);
            records.put(r.getSpec().getUuid(), r);
            byName.put(r.getSpec().getName(), r.getSpec().getUuid());
        }
    }

    // ------------------------------------------------------------------ records and locks

    private void persist(VolumeRecord r) {
        crash.reached("volume.store.put");
        synchronized (guard(r.getSpec().getUuid())) {
            try {
                store.put(PREFIX + r.getSpec().getUuid(), r.toByteArray());
            } catch (IOException e) {
                throw ControlException.store(e);
            }
            records.put(r.getSpec().getUuid(), r);
            byName.put(r.getSpec().getName(), r.getSpec().getUuid());
        }
    }

    /**
     * The monitor a volume's record change and a nexus's child-health write take (briefly, for the
     * store write alone), so a health write is checked against the nexus node the record names at
     * the instant it is stored.
     */
    private Object guard(String uuid) {
        return guards.computeIfAbsent(uuid, k -> new Object());
    }

    /**
     * Stores a nexus's child health unless the volume's nexus is no longer on {@code node}: once a
     * volume is republished, the old nexus — partitioned, or back after the move — cannot change the
     * health the new one trusts, so the write that faulted its children is never acknowledged.
     */
    void putHealth(NexusHealthRecord h) {
        synchronized (guard(h.getKey())) {
            fenced(h.getKey(), h.getNode());
            try {
                store.put(HEALTH_PREFIX + h.getKey(), h.toByteArray());
            } catch (IOException e) {
                throw ControlException.store(e);
            }
        }
    }

    void deleteHealth(String key, String node) {
        synchronized (guard(key)) {
            fenced(key, node);
            try {
                store.delete(HEALTH_PREFIX + key);
            } catch (IOException e) {
                throw ControlException.store(e);
            }
        }
    }

    private void fenced(String key, String node) {
        VolumeRecord r = records.get(key);
        if (r != null && !r.getTargetNode().isEmpty() && !node.isEmpty() && !r.getTargetNode().equals(node)) {
            throw new ControlException(Status.Code.FAILED_PRECONDITION, "volume " + key + " is published on "
                    + r.getTargetNode() + ", not on " + node + ": child health from a nexus on " + node + " is fenced");
        }
    }

    private void forget(VolumeRecord r) {
        crash.reached("volume.store.delete");
        try {
            store.delete(HEALTH_PREFIX + r.getSpec().getUuid());
            store.delete(PREFIX + r.getSpec().getUuid());
        } catch (IOException e) {
            throw ControlException.store(e);
        }
        records.remove(r.getSpec().getUuid());
        byName.remove(r.getSpec().getName(), r.getSpec().getUuid());
        events.forget("volume", r.getSpec().getUuid());
    }

    /** Records what the control plane did to a volume, for {@code volume get} (and Kubernetes events). */
    void event(VolumeRecord rec, boolean warning, String reason, String message) {
        events.record("volume", rec.getSpec().getUuid(), warning, reason, message);
    }

    /** The volume as {@link #view} shows it, with its events: what GetVolume answers. */
    Volume described(VolumeRecord rec) {
        return view(rec).toBuilder().addAllEvents(events.list("volume", rec.getSpec().getUuid())).build();
    }

    private ReentrantLock lock(String key) {
        ReentrantLock l = locks.computeIfAbsent(key, k -> new ReentrantLock());
        l.lock();
        return l;
    }

    /** The volume by name or UUID. */
    VolumeRecord require(String nameOrUuid) {
        if (nameOrUuid.isBlank()) {
            throw ControlException.invalid("name: give a volume's name or UUID");
        }
        VolumeRecord r = records.get(nameOrUuid);
        if (r == null) {
            String uuid = byName.get(nameOrUuid);
            r = uuid == null ? null : records.get(uuid);
        }
        if (r == null) {
            throw ControlException.notFound("volume " + nameOrUuid + " does not exist");
        }
        return r;
    }

    private VolumeRecord current(String uuid) {
        VolumeRecord r = records.get(uuid);
        if (r == null) {
            throw ControlException.notFound("volume " + uuid + " does not exist (it was destroyed)");
        }
        return r;
    }

    List<VolumeRecord> all() {
        List<VolumeRecord> l = new ArrayList<>(records.values());
        l.sort(java.util.Comparator.comparing((VolumeRecord r) -> r.getSpec().getName()));
        return l;
    }

    /** The volumes with a replica on {@code pool}. */
    List<String> usersOf(String pool) {
        List<String> l = new ArrayList<>();
        for (VolumeRecord r : records.values()) {
            if (r.getReplicasList().stream().anyMatch(x -> x.getPool().equals(pool))) {
                l.add(r.getSpec().getName());
            }
        }
        java.util.Collections.sort(l);
        return l;
    }

    /** Per pool, the sizes of the replicas placed on it: all, and the thick ones. */
    private Map<String, long[]> committed() {
        Map<String, long[]> m = new HashMap<>();
        for (VolumeRecord r : records.values()) {
            long size = Math.max(r.getSize(), r.getSpec().getSize());
            for (ReplicaRecord x : r.getReplicasList()) {
                long[] c = m.computeIfAbsent(x.getPool(), k -> new long[2]);
                c[0] += size;
                if (!r.getSpec().getThin()) {
                    c[1] += size;
                }
            }
        }
        return m;
    }

    private List<Placement.PoolView> place(VolumeSpec spec, int count, Set<String> exclude) {
        pools.refreshOnline();
        List<Placement.NodeView> nv = new ArrayList<>();
        for (NodeRecord n : nodes.all()) {
            nv.add(new Placement.NodeView(n.getId(), nodes.online(n.getId()), n.getCordoned(), n.getLabelsMap()));
        }
        return Placement.place(new Placement.Request(spec.getName(), spec.getSize(), count, spec.getThin(),
                spec.getNodeSelectorMap(), spec.getPoolSelectorMap(), exclude, thinLimitPercent,
                spec.getPreferredNodesList(), Set.copyOf(spec.getRequiredNodesList())),
                nv, pools.placementViews(committed()));
    }

    // ------------------------------------------------------------------ create

    Volume create(CreateVolumeRequest r) {
        if (!Nodes.ID.matcher(r.getName()).matches()) {
            throw ControlException.invalid("name '" + r.getName() + "': a volume name is letters, digits, '.', '_' "
                    + "or '-' (up to 253)");
        }
        if (r.getSize() == 0) {
            throw ControlException.invalid("size: give the volume's size in bytes (above 0)");
        }
        int count = r.getReplicas() == 0 ? 1 : r.getReplicas();
        if (count > MAX_REPLICAS) {
            throw ControlException.invalid("replicas " + count + ": at most " + MAX_REPLICAS);
        }
        String uuid = r.getUuid();
        if (!uuid.isEmpty()) {
            try {
                uuid = UUID.fromString(uuid).toString();
            } catch (IllegalArgumentException e) {
                throw ControlException.invalid("uuid '" + r.getUuid() + "' is not a UUID");
            }
        }
        long size = (r.getSize() + ALIGN - 1) / ALIGN * ALIGN;
        ReentrantLock nameLock = lock("name:" + r.getName());
        try {
            String existingUuid = byName.get(r.getName());
            if (existingUuid != null) {
                VolumeRecord e = records.get(existingUuid);
                VolumeSpec s = e.getSpec();
                boolean same = s.getSize() == size && s.getReplicas() == count && s.getThin() == r.getThin()
                        && s.getNodeSelectorMap().equals(r.getNodeSelectorMap())
                        && s.getPoolSelectorMap().equals(r.getPoolSelectorMap())
                        && s.getPreferredNodesList().equals(r.getPreferredNodesList())
                        && s.getRequiredNodesList().equals(r.getRequiredNodesList())
                        && (uuid.isEmpty() || uuid.equals(s.getUuid()));
                if (!same) {
                    throw new ControlException(Status.Code.ALREADY_EXISTS, "volume " + r.getName() + " exists ("
                            + s.getUuid() + ", " + human(s.getSize()) + ", " + s.getReplicas() + " replica(s)"
                            + (s.getThin() ? ", thin" : "") + ")");
                }
                finish(existingUuid);
                return view(current(existingUuid));
            }
            if (!uuid.isEmpty() && records.containsKey(uuid)) {
                throw new ControlException(Status.Code.ALREADY_EXISTS, "uuid " + uuid + " is volume "
                        + records.get(uuid).getSpec().getName() + "'s");
            }
            VolumeSpec spec = VolumeSpec.newBuilder().setUuid(uuid.isEmpty() ? UUID.randomUUID().toString() : uuid)
                    .setName(r.getName()).setSize(size).setReplicas(count).setThin(r.getThin())
                    .putAllNodeSelector(r.getNodeSelectorMap()).putAllPoolSelector(r.getPoolSelectorMap())
                    .addAllPreferredNodes(r.getPreferredNodesList()).addAllRequiredNodes(r.getRequiredNodesList()).build();
            VolumeRecord rec;
            synchronized (placementLock) {
                List<Placement.PoolView> chosen = place(spec, count, Set.of());
                VolumeRecord.Builder b = VolumeRecord.newBuilder().setSpec(spec).setOperation(Operation.OP_CREATING)
                        .setSize(size);
                for (Placement.PoolView p : chosen) {
                    b.addReplicas(ReplicaRecord.newBuilder().setUuid(UUID.randomUUID().toString()).setNode(p.node())
                            .setPool(p.name()));
                }
                rec = b.build();
                persist(rec);      // from here on the volume exists: a crash finishes or undoes it
            }
            finish(spec.getUuid());
            return view(current(spec.getUuid()));
        } finally {
            nameLock.unlock();
        }
    }

    private static String nodesOf(VolumeRecord rec) {
        return String.join(", ", rec.getReplicasList().stream().filter(x -> !x.getRemoving())
                .map(x -> x.getPool() + "@" + x.getNode()).toList());
    }

    /** A volume recorded with no replica placed yet (a resource a user applied): its replicas placed and persisted. */
    private VolumeRecord placeAll(VolumeRecord rec) {
        synchronized (placementLock) {
            VolumeRecord.Builder b = rec.toBuilder();
            for (Placement.PoolView p : place(rec.getSpec(), rec.getSpec().getReplicas(), Set.of())) {
                b.addReplicas(ReplicaRecord.newBuilder().setUuid(UUID.randomUUID().toString()).setNode(p.node())
                        .setPool(p.name()));
            }
            VolumeRecord placed = b.build();
            persist(placed);
            return placed;
        }
    }

    private static String human(long b) {
        return io.panastor.api.cli.Sizes.format(b);
    }

    private void createReplicas(VolumeRecord rec) {
        createReplicas(rec, false);
    }

    /** Creates every replica of the record (again: the same create is the same replica); skipping those on nodes away if asked. */
    private void createReplicas(VolumeRecord rec, boolean skipAway) {
        for (ReplicaRecord x : rec.getReplicasList()) {
            if (x.getRemoving() || skipAway && !nodes.online(x.getNode())) {
                continue;
            }
            EngineClient e = nodes.engine(x.getNode());
            crash.reached("volume.engine.create-replica");
            e.createReplica(x.getUuid(), x.getUuid(), x.getPool(), rec.getSize(), rec.getSpec().getThin(),
                    rec.getSpec().getUuid());
        }
    }

    // ------------------------------------------------------------------ the operations' steps

    /**
     * Runs the volume's pending operation to its end, under its lock: what a call does after it
     * persisted its intent, and what a restarted control plane does for every volume it finds
     * with an operation under way. A create that is refused for good is undone (as a destroy).
     */
    void finish(String uuid) {
        ReentrantLock l = lock(uuid);
        try {
            VolumeRecord rec = records.get(uuid);
            if (rec == null) {
                return;
            }
            switch (rec.getOperation()) {
                case OP_CREATING -> {
                    try {
                        if (rec.getReplicasCount() == 0) {
                            rec = placeAll(rec);
                        }
                        createReplicas(rec);
                    } catch (ControlException e) {
                        // Undone as a destroy; what cannot be destroyed now (a node away) the reconcile loop finishes.
                        LOG.warn("volume {}: create cannot finish ({}); undoing it", rec.getSpec().getName(),
                                e.getMessage());
                        event(rec, true, "CreateFailed", e.getMessage() + "; undone");
                        VolumeRecord undo = rec.toBuilder().setOperation(Operation.OP_DESTROYING).build();
                        persist(undo);
                        try {
                            destroySteps(undo);
                        } catch (ControlException again) {
                            e.addSuppressed(again);
                        }
                        throw e;
                    }
                    persist(rec.toBuilder().setOperation(Operation.OP_NONE).build());
                    event(rec, false, "Created", rec.getReplicasCount() + " replica(s) of " + human(rec.getSize())
                            + " on " + nodesOf(rec));
                }
                case OP_PUBLISHING -> publishSteps(rec);
                case OP_UNPUBLISHING -> unpublishSteps(rec);
                case OP_DESTROYING -> destroySteps(rec);
                case OP_RESIZING -> resizeSteps(rec);
                case OP_SCALING -> scaleSteps(rec);
                default -> {
                }
            }
        } finally {
            l.unlock();
        }
    }

    /** Finishes every operation the store holds as under way; for start-up and the reconcile loop. */
    void resumeAll() {
        for (VolumeRecord r : all()) {
            if (r.getOperation() != Operation.OP_NONE && involvedOnline(r)) {
                try {
                    finish(r.getSpec().getUuid());
                } catch (ControlException e) {
                    LOG.info("volume {}: {} not finished yet: {}", r.getSpec().getName(),
                            opName(r.getOperation()), e.getMessage());
                }
            }
        }
    }

    /** Whether every node the volume involves is online (a control plane just started waits for their heartbeats). */
    private boolean involvedOnline(VolumeRecord r) {
        if (!r.getTargetNode().isEmpty() && !nodes.online(r.getTargetNode())) {
            return false;
        }
        return r.getReplicasList().stream().allMatch(x -> x.getRemoving() || nodes.online(x.getNode()));
    }

    private String childUri(VolumeRecord rec, ReplicaRecord x, NodeRecord target) {
        if (x.getNode().equals(target.getId())) {
            return "bdev:///" + x.getUuid() + "?uuid=" + x.getUuid();
        }
        EngineClient e = nodes.engine(x.getNode());
        crash.reached("volume.engine.share-replica");
        String uri = e.shareReplica(x.getUuid(), List.of(target.getHostnqn()));
        return uri + (uri.contains("?") ? "&" : "?") + "hostnqn=" + target.getHostnqn();
    }

    /**
     * Makes the nexus on the target (if it is not there), with every replica that can be reached
     * as a child (adding those it lacks), and publishes it. After an unclean end of the last
     * nexus (the stored child health says so) the replicas it called healthy may still differ in
     * the writes that were in flight, none of them acknowledged: the nexus then starts from one of
     * them (the target's own when it is healthy) and the others are added, so they are rebuilt from it.
     */
    private void publishSteps(VolumeRecord rec) {
        String uuid = rec.getSpec().getUuid();
        NodeRecord target = nodes.require(rec.getTargetNode());
        EngineClient t = nodes.engine(target.getId());
        Optional<Nexus> existing = t.nexus(uuid);
        Set<String> local = new HashSet<>();
        t.listReplicas().forEach(r -> local.add(r.getUuid()));
        Map<String, String> uris = new java.util.LinkedHashMap<>();
        List<String> skipped = new ArrayList<>();
        String localReplica = null;
        for (ReplicaRecord x : rec.getReplicasList()) {
            if (x.getRemoving() || existing.isPresent() && childOf(existing.get(), x.getUuid()).isPresent()) {
                continue;
            }
            if (x.getNode().equals(target.getId())) {
                if (!local.contains(x.getUuid())) {
                    skipped.add(x.getNode() + " (replica " + x.getUuid() + " missing)");
                    continue;
                }
                crash.reached("volume.engine.unshare-replica");
                t.unshareReplica(x.getUuid());      // the nexus claims it: no host reaches it around the nexus
                localReplica = x.getUuid();
            }
            try {
                uris.put(x.getUuid(), childUri(rec, x, target));
            } catch (ControlException e) {
                if (e.code() != Status.Code.UNAVAILABLE && e.code() != Status.Code.NOT_FOUND) {
                    throw e;
                }
                skipped.add(x.getNode() + (e.code() == Status.Code.NOT_FOUND ? " (replica " + x.getUuid()
                        + " missing)" : ""));
            }
        }
        if (!skipped.isEmpty()) {
            LOG.warn("volume {}: published without the replicas on {}", rec.getSpec().getName(), skipped);
        }
        Map<String, String> toAdd = new java.util.LinkedHashMap<>(uris);
        if (existing.isEmpty()) {
            if (uris.isEmpty()) {
                throw ControlException.unavailable("volume " + rec.getSpec().getName() + ": no replica can be reached "
                        + "(" + String.join(", ", skipped) + ")");
            }
            List<String> first = new ArrayList<>(uris.values());
            Optional<NexusHealthRecord> h = health(uuid);
            if (h.isPresent() && !h.get().getCleanShutdown()) {
                List<String> healthy = new ArrayList<>();
                h.get().getChildrenList().stream().filter(c -> c.getHealthy() && uris.containsKey(c.getUuid()))
                        .forEach(c -> healthy.add(c.getUuid()));
                if (!healthy.isEmpty()) {
                    String from = healthy.contains(localReplica) ? localReplica : healthy.getFirst();
                    first = List.of(uris.get(from));
                    LOG.info("volume {}: its last nexus did not shut down cleanly; starting from replica {} and "
                            + "rebuilding the others from it", rec.getSpec().getName(), from);
                }
            }
            crash.reached("volume.engine.create-nexus");
            t.createNexus(uuid, rec.getSize(), first, uuid);
            toAdd.values().removeAll(first);
        }
        for (String uri : toAdd.values()) {
            crash.reached("volume.engine.add-child");
            t.addChild(uuid, uri);      // rebuilt from the healthy children
        }
        crash.reached("volume.engine.publish-nexus");
        Nexus n = t.publishNexus(uuid, rec.getAllowedHostsList());
        persist(rec.toBuilder().setUri(n.getDeviceUri()).setOperation(Operation.OP_NONE).build());
    }

    private void unpublishSteps(VolumeRecord rec) {
        String uuid = rec.getSpec().getUuid();
        if (!rec.getTargetNode().isEmpty()) {
            EngineClient t = nodes.engine(rec.getTargetNode());
            crash.reached("volume.engine.destroy-nexus");
            t.destroyNexus(uuid);
        }
        unshareAll(rec);
        persist(rec.toBuilder().clearTargetNode().clearUri().clearAllowedHosts().setOperation(Operation.OP_NONE).build());
    }

    /** Takes every replica's share down (best effort for nodes that are away: their resync does it). */
    private void unshareAll(VolumeRecord rec) {
        for (ReplicaRecord x : rec.getReplicasList()) {
            if (x.getNode().equals(rec.getTargetNode())) {
                continue;
            }
            try {
                EngineClient e = nodes.engine(x.getNode());
                crash.reached("volume.engine.unshare-replica");
                e.unshareReplica(x.getUuid());
            } catch (ControlException e) {
                if (e.code() != Status.Code.UNAVAILABLE) {
                    throw e;
                }
            }
        }
    }

    private void destroySteps(VolumeRecord rec) {
        String uuid = rec.getSpec().getUuid();
        if (!rec.getTargetNode().isEmpty()) {
            EngineClient t = nodes.engine(rec.getTargetNode());
            crash.reached("volume.engine.destroy-nexus");
            t.destroyNexus(uuid);
        }
        for (ReplicaRecord x : rec.getReplicasList()) {
            EngineClient e = nodes.engine(x.getNode());
            crash.reached("volume.engine.destroy-replica");
            e.destroyReplica(x.getUuid());
        }
        forget(rec);
    }

    private void resizeSteps(VolumeRecord rec) {
        long size = rec.getSpec().getSize();
        for (ReplicaRecord x : rec.getReplicasList()) {
            if (x.getRemoving()) {
                continue;
            }
            EngineClient e = nodes.engine(x.getNode());
            crash.reached("volume.engine.resize-replica");
            Optional<Replica> now = e.listReplicas().stream().filter(p -> p.getUuid().equals(x.getUuid())).findFirst();
            if (now.isEmpty()) {
                throw ControlException.precondition("volume " + rec.getSpec().getName() + ": replica " + x.getUuid()
                        + " is missing from pool " + x.getPool() + " on node " + x.getNode());
            }
            if (now.get().getSize() < size) {
                e.resizeReplica(x.getUuid(), size);
            }
        }
        if (!rec.getTargetNode().isEmpty()) {
            EngineClient t = nodes.engine(rec.getTargetNode());
            Optional<Nexus> n = t.nexus(rec.getSpec().getUuid());
            if (n.isPresent() && n.get().getSize() < size) {
                crash.reached("volume.engine.resize-nexus");
                t.resizeNexus(rec.getSpec().getUuid(), size);
            }
        }
        persist(rec.toBuilder().setSize(size).setOperation(Operation.OP_NONE).build());
    }

    private void scaleSteps(VolumeRecord rec) {
        String uuid = rec.getSpec().getUuid();
        createReplicas(rec, true);      // a new replica is placed on a node that is online; others exist already
        Optional<Nexus> nexus = Optional.empty();
        NodeRecord target = null;
        if (!rec.getTargetNode().isEmpty()) {
            target = nodes.require(rec.getTargetNode());
            nexus = nodes.engine(target.getId()).nexus(uuid);
        }
        if (nexus.isPresent()) {
            EngineClient t = nodes.engine(target.getId());
            for (ReplicaRecord x : rec.getReplicasList()) {
                Optional<Child> child = childOf(nexus.get(), x.getUuid());
                if (!x.getRemoving() && child.isEmpty() && nodes.online(x.getNode())) {
                    String uri = childUri(rec, x, target);
                    crash.reached("volume.engine.add-child");
                    t.addChild(uuid, uri);      // it is rebuilt from the healthy children
                } else if (x.getRemoving() && child.isPresent()) {
                    crash.reached("volume.engine.remove-child");
                    t.removeChild(uuid, child.get().getUri());
                }
            }
        }
        VolumeRecord.Builder b = rec.toBuilder().clearReplicas();
        for (ReplicaRecord x : rec.getReplicasList()) {
            if (x.getRemoving()) {
                try {
                    EngineClient e = nodes.engine(x.getNode());
                    crash.reached("volume.engine.destroy-replica");
                    e.destroyReplica(x.getUuid());
                } catch (ControlException e) {
                    if (e.code() != Status.Code.UNAVAILABLE) {
                        throw e;
                    }
                    // Its node is away: once the record no longer has it, that node's orphan collection destroys it.
                    LOG.info("volume {}: replica {} on node {} (away) is dropped; collected when the node is back",
                            rec.getSpec().getName(), x.getUuid(), x.getNode());
                }
            } else {
                b.addReplicas(x);
            }
        }
        persist(b.setOperation(Operation.OP_NONE).build());
    }

    private static Optional<Child> childOf(Nexus n, String replicaUuid) {
        return n.getChildrenList().stream().filter(c -> c.getUri().contains(replicaUuid)).findFirst();
    }

    // ------------------------------------------------------------------ publish, unpublish, destroy

    Volume publish(String name, String node, List<String> allowedHosts) {
        for (String h : allowedHosts) {
            if (!h.startsWith("nqn.")) {
                throw ControlException.invalid("allowed_hosts: '" + h + "' is not a host NQN");
            }
        }
        String uuid = require(name).getSpec().getUuid();
        ReentrantLock l = lock(uuid);
        try {
            finish(uuid);
            VolumeRecord rec = current(uuid);
            if (!rec.getTargetNode().isEmpty()) {
                if (!node.isEmpty() && !node.equals(rec.getTargetNode())) {
                    throw ControlException.precondition("volume " + rec.getSpec().getName() + " is published on node "
                            + rec.getTargetNode() + ": unpublish it before publishing it on " + node);
                }
                if (!rec.getAllowedHostsList().equals(allowedHosts)) {
                    rec = rec.toBuilder().clearAllowedHosts().addAllAllowedHosts(allowedHosts)
                            .setOperation(Operation.OP_PUBLISHING).build();
                    persist(rec);
                    publishSteps(rec);
                }
                return view(current(uuid));
            }
            String chosen = chooseTarget(rec, node);
            rec = rec.toBuilder().setTargetNode(chosen).clearAllowedHosts().addAllAllowedHosts(allowedHosts)
                    .setOperation(Operation.OP_PUBLISHING).build();
            persist(rec);
            publishSteps(rec);
            event(rec, false, "Published", "nexus on node " + chosen + ": " + current(uuid).getUri());
            return view(current(uuid));
        } finally {
            l.unlock();
        }
    }

    /** The replicas that hold every acknowledged write, as the nexus's persisted child health says (all, with none). */
    Set<String> healthyReplicas(VolumeRecord rec) {
        Set<String> all = new HashSet<>();
        rec.getReplicasList().forEach(x -> all.add(x.getUuid()));
        Optional<NexusHealthRecord> h = health(rec.getSpec().getUuid());
        if (h.isEmpty()) {
            return all;
        }
        Set<String> healthy = new HashSet<>();
        h.get().getChildrenList().stream().filter(c -> c.getHealthy()).forEach(c -> healthy.add(c.getUuid()));
        healthy.retainAll(all);
        return healthy;
    }

    Optional<NexusHealthRecord> health(String key) {
        try {
            Optional<byte[]> b = store.get(HEALTH_PREFIX + key);
            return b.isEmpty() ? Optional.empty() : Optional.of(NexusHealthRecord.parseFrom(b.get()));
        } catch (InvalidProtocolBufferException e) {
            throw new ControlException(Status.Code.INTERNAL, "child health of " + key + " does not parse", e);
        } catch (IOException e) {
            throw ControlException.store(e);
        }
    }

    /**
     * The node a nexus goes on: the requested one when it is online, not cordoned and holds a
     * healthy replica; else, of the eligible nodes holding a healthy replica (or of every
     * eligible node when none does), the one with the fewest nexuses.
     */
    private String chooseTarget(VolumeRecord rec, String requested) {
        Set<String> healthy = healthyReplicas(rec);
        Set<String> replicaNodes = new HashSet<>();
        for (ReplicaRecord x : rec.getReplicasList()) {
            if (healthy.contains(x.getUuid()) && !x.getRemoving()) {
                replicaNodes.add(x.getNode());
            }
        }
        if (!requested.isEmpty()) {
            NodeRecord n = nodes.require(requested);
            if (replicaNodes.contains(requested) && nodes.online(requested) && !n.getCordoned()) {
                return requested;
            }
        }
        Map<String, Integer> nexuses = new HashMap<>();
        for (VolumeRecord r : records.values()) {
            if (!r.getTargetNode().isEmpty()) {
                nexuses.merge(r.getTargetNode(), 1, Integer::sum);
            }
        }
        List<NodeRecord> eligible = nodes.all().stream().filter(n -> nodes.online(n.getId()) && !n.getCordoned()).toList();
        if (eligible.isEmpty()) {
            throw ControlException.unavailable("volume " + rec.getSpec().getName() + ": no node is online and "
                    + "uncordoned to publish it on");
        }
        List<NodeRecord> local = eligible.stream().filter(n -> replicaNodes.contains(n.getId())).toList();
        List<NodeRecord> from = local.isEmpty() ? eligible : local;
        return from.stream().min(java.util.Comparator.comparingInt((NodeRecord n) -> nexuses.getOrDefault(n.getId(), 0))
                .thenComparing(NodeRecord::getId)).orElseThrow().getId();
    }

    Volume unpublish(String name) {
        String uuid = require(name).getSpec().getUuid();
        ReentrantLock l = lock(uuid);
        try {
            finish(uuid);
            VolumeRecord rec = current(uuid);
            if (rec.getTargetNode().isEmpty()) {
                return view(rec);
            }
            rec = rec.toBuilder().setOperation(Operation.OP_UNPUBLISHING).build();
            persist(rec);
            unpublishSteps(rec);
            event(rec, false, "Unpublished", "nexus on node " + rec.getTargetNode() + " destroyed");
            return view(current(uuid));
        } finally {
            l.unlock();
        }
    }

    /** Destroys the volume: nexus, replicas, child health, record; a volume that is not there is done. */
    void destroy(String name) {
        VolumeRecord found;
        try {
            found = require(name);
        } catch (ControlException e) {
            if (e.code() == Status.Code.NOT_FOUND) {
                return;     // as Mayastor's: destroying what is gone succeeds
            }
            throw e;
        }
        String uuid = found.getSpec().getUuid();
        ReentrantLock l = lock(uuid);
        try {
            VolumeRecord rec = records.get(uuid);
            if (rec == null) {
                return;
            }
            if (rec.getOperation() != Operation.OP_DESTROYING) {
                rec = rec.toBuilder().setOperation(Operation.OP_DESTROYING).build();
                persist(rec);
            }
            destroySteps(rec);
        } finally {
            l.unlock();
        }
    }

    Volume resize(String name, long requested) {
        String uuid = require(name).getSpec().getUuid();
        ReentrantLock l = lock(uuid);
        try {
            finish(uuid);
            VolumeRecord rec = current(uuid);
            long size = (requested + ALIGN - 1) / ALIGN * ALIGN;
            if (size < rec.getSpec().getSize()) {
                throw ControlException.invalid("size " + requested + ": a volume only grows (it is "
                        + rec.getSpec().getSize() + " bytes)");
            }
            if (size == rec.getSpec().getSize()) {
                return view(rec);
            }
            synchronized (placementLock) {
                if (!rec.getSpec().getThin()) {
                    long more = size - rec.getSpec().getSize();
                    pools.refreshOnline();
                    Map<String, Placement.PoolView> pv = new HashMap<>();
                    pools.placementViews(committed()).forEach(p -> pv.put(p.name(), p));
                    for (ReplicaRecord x : rec.getReplicasList()) {
                        Placement.PoolView p = pv.get(x.getPool());
                        if (p == null || p.free() < more) {
                            throw new ControlException(Status.Code.RESOURCE_EXHAUSTED, "volume "
                                    + rec.getSpec().getName() + ": pool " + x.getPool() + " on node " + x.getNode()
                                    + " has " + human(p == null ? 0 : p.free()) + " free, less than the "
                                    + human(more) + " more its replica needs");
                        }
                    }
                }
                rec = rec.toBuilder().setSpec(rec.getSpec().toBuilder().setSize(size))
                        .setOperation(Operation.OP_RESIZING).build();
                persist(rec);
            }
            resizeSteps(rec);
            return view(current(uuid));
        } finally {
            l.unlock();
        }
    }

    Volume scale(String name, int count) {
        if (count < 1 || count > MAX_REPLICAS) {
            throw ControlException.invalid("replicas " + count + ": give 1 to " + MAX_REPLICAS);
        }
        String uuid = require(name).getSpec().getUuid();
        ReentrantLock l = lock(uuid);
        try {
            finish(uuid);
            VolumeRecord rec = current(uuid);
            int have = rec.getReplicasCount();
            if (count == have) {
                if (rec.getSpec().getReplicas() != count) {
                    persist(rec.toBuilder().setSpec(rec.getSpec().toBuilder().setReplicas(count)).build());
                }
                return view(current(uuid));
            }
            VolumeRecord.Builder b = rec.toBuilder().setSpec(rec.getSpec().toBuilder().setReplicas(count))
                    .setOperation(Operation.OP_SCALING);
            if (count > have) {
                synchronized (placementLock) {
                    Set<String> used = new HashSet<>();
                    rec.getReplicasList().forEach(x -> used.add(x.getNode()));
                    VolumeSpec spec = rec.getSpec().toBuilder().setSize(rec.getSize()).build();
                    for (Placement.PoolView p : place(spec, count - have, used)) {
                        b.addReplicas(ReplicaRecord.newBuilder().setUuid(UUID.randomUUID().toString()).setNode(p.node())
                                .setPool(p.name()));
                    }
                    rec = b.build();
                    persist(rec);
                }
            } else {
                Set<String> healthy = healthyReplicas(rec);
                String targetNode = rec.getTargetNode();
                List<ReplicaRecord> order = new ArrayList<>(rec.getReplicasList());
                // Take out first what holds the least: unhealthy replicas, then those off the nexus's node.
                order.sort(java.util.Comparator.comparing((ReplicaRecord x) -> healthy.contains(x.getUuid()))
                        .thenComparing(x -> x.getNode().equals(targetNode)));
                Set<String> out = new HashSet<>();
                for (int i = 0; i < have - count; i++) {
                    out.add(order.get(i).getUuid());
                }
                b.clearReplicas();
                for (ReplicaRecord x : rec.getReplicasList()) {
                    b.addReplicas(out.contains(x.getUuid()) ? x.toBuilder().setRemoving(true).build() : x);
                }
                rec = b.build();
                persist(rec);
            }
            scaleSteps(rec);
            return view(current(uuid));
        } finally {
            l.unlock();
        }
    }

    // ------------------------------------------------------------------ healing

    /**
     * Replaces replica {@code old} of volume {@code uuid}: a new one on another eligible node
     * (not one the volume uses, nor the old one's), added to the nexus when published (rebuilt
     * from the healthy children), the old one taken out and destroyed — or, its node being away,
     * dropped and collected when the node is back. The intent is persisted first, as for a scale.
     *
     * @return false when there was nothing to do (the volume busy or gone, the replica not its)
     */
    boolean replace(String uuid, String old) {
        ReentrantLock l = lock(uuid);
        try {
            VolumeRecord rec = records.get(uuid);
            if (rec == null || rec.getOperation() != Operation.OP_NONE
                    || rec.getReplicasList().stream().noneMatch(x -> x.getUuid().equals(old) && !x.getRemoving())) {
                return false;
            }
            synchronized (placementLock) {
                Set<String> used = new HashSet<>();
                rec.getReplicasList().forEach(x -> used.add(x.getNode()));
                VolumeSpec spec = rec.getSpec().toBuilder().setSize(rec.getSize()).build();
                Placement.PoolView p = place(spec, 1, used).getFirst();
                VolumeRecord.Builder b = rec.toBuilder().clearReplicas().setOperation(Operation.OP_SCALING);
                for (ReplicaRecord x : rec.getReplicasList()) {
                    b.addReplicas(x.getUuid().equals(old) ? x.toBuilder().setRemoving(true).build() : x);
                }
                b.addReplicas(ReplicaRecord.newBuilder().setUuid(UUID.randomUUID().toString()).setNode(p.node())
                        .setPool(p.name()));
                rec = b.build();
                persist(rec);
                LOG.info("volume {}: replacing replica {} (node {}) with one in pool {} on node {}",
                        rec.getSpec().getName(), old, nodeOf(rec, old), p.name(), p.node());
                event(rec, false, "ReplicaReplaced", "replica " + old + " on node " + nodeOf(rec, old)
                        + " replaced by one in pool " + p.name() + " on node " + p.node() + ", rebuilt from the healthy ones");
            }
            scaleSteps(rec);
            return true;
        } finally {
            l.unlock();
        }
    }

    /**
     * Puts the volume's reachable replicas back into its nexus: a child that left the IO path
     * because its device went away or timed out is brought online (a partial rebuild when the
     * nexus kept its log), and a replica that is no child (left out while its node was away) is
     * added (rebuilt in full).
     *
     * @return whether anything was done
     */
    boolean bringBack(String uuid) {
        ReentrantLock l = lock(uuid);
        try {
            VolumeRecord rec = records.get(uuid);
            if (rec == null || rec.getOperation() != Operation.OP_NONE || rec.getTargetNode().isEmpty()) {
                return false;
            }
            EngineClient t = nodes.engine(rec.getTargetNode());
            Optional<Nexus> n = t.nexus(uuid);
            if (n.isEmpty()) {
                return false;
            }
            boolean did = false;
            boolean lacking = false;
            for (ReplicaRecord x : rec.getReplicasList()) {
                if (x.getRemoving() || !nodes.online(x.getNode())) {
                    continue;
                }
                boolean there = nodes.engine(x.getNode()).listReplicas().stream()
                        .anyMatch(r -> r.getUuid().equals(x.getUuid()));
                if (!there) {
                    continue;
                }
                Optional<Child> c = childOf(n.get(), x.getUuid());
                if (c.isEmpty()) {
                    lacking = true;
                } else if (c.get().getState() == io.panastor.api.v1.ChildState.CHILD_STATE_FAULTED
                        && (c.get().getStateReason() == io.panastor.api.v1.ChildStateReason.CHILD_STATE_REASON_HOT_REMOVED
                        || c.get().getStateReason() == io.panastor.api.v1.ChildStateReason.CHILD_STATE_REASON_TIMED_OUT)) {
                    try {
                        crash.reached("volume.engine.child-online");
                        t.childOnline(uuid, c.get().getUri());
                        LOG.info("volume {}: replica {} on node {} is back: brought online", rec.getSpec().getName(),
                                x.getUuid(), x.getNode());
                        event(rec, false, "ReplicaOnline", "replica " + x.getUuid() + " on node " + x.getNode()
                                + " is back: brought online (a partial rebuild when the nexus kept its log)");
                        did = true;
                    } catch (ControlException e) {
                        LOG.info("volume {}: replica {} is not back yet: {}", rec.getSpec().getName(), x.getUuid(),
                                e.getMessage());
                    }
                }
            }
            if (lacking) {
                rec = rec.toBuilder().setOperation(Operation.OP_PUBLISHING).build();
                persist(rec);
                publishSteps(rec);      // adds the replicas the nexus lacks
                event(rec, false, "ReplicaAdded", "replica(s) reachable again added to the nexus, rebuilt in full");
                did = true;
            }
            return did;
        } finally {
            l.unlock();
        }
    }

    /**
     * Drains {@code node}: cordons it, moves every nexus on it elsewhere and, with
     * {@code replicas}, replaces every replica on it (each rebuilt on another node). Answers
     * when done; what cannot be moved (no other node) is UNAVAILABLE or RESOURCE_EXHAUSTED,
     * and what was moved stays moved.
     */
    void drain(String node, boolean replicas) {
        nodes.cordon(node, true);
        for (VolumeRecord r : all()) {
            String uuid = r.getSpec().getUuid();
            if (r.getTargetNode().equals(node)) {
                finish(uuid);
                moveNexus(uuid);
            }
            if (replicas) {
                for (ReplicaRecord x : r.getReplicasList()) {
                    if (x.getNode().equals(node) && !x.getRemoving()) {
                        finish(uuid);
                        replace(uuid, x.getUuid());
                    }
                }
            }
        }
    }

    private static String nodeOf(VolumeRecord rec, String replica) {
        return rec.getReplicasList().stream().filter(x -> x.getUuid().equals(replica)).map(ReplicaRecord::getNode)
                .findFirst().orElse("?");
    }

    /**
     * Publishes volume {@code uuid} again on another node, its nexus node being lost: on a node
     * holding a replica the stored child health calls healthy (the fewest nexuses first). The
     * replicas are fenced first — each shared again to the new nexus node's host NQN alone,
     * which ends the old nexus's connections, and the new node's own replica unshared — and only
     * then is the nexus made there, from the stored child health.
     *
     * @return false when there was nothing to do (busy, gone, unpublished, or its node is back)
     */
    boolean republish(String uuid) {
        return moveNexus(uuid, false);
    }

    /**
     * Moves volume {@code uuid}'s nexus off its node (a drain): as {@link #republish}, with the
     * node still up: the new target persisted, the old nexus destroyed (its node's replica is
     * free to be shared then), the nexus made on the new node.
     */
    boolean moveNexus(String uuid) {
        return moveNexus(uuid, true);
    }

    private boolean moveNexus(String uuid, boolean whileOnline) {
        ReentrantLock l = lock(uuid);
        try {
            VolumeRecord rec = records.get(uuid);
            if (rec == null || rec.getOperation() != Operation.OP_NONE || rec.getTargetNode().isEmpty()
                    || !whileOnline && nodes.online(rec.getTargetNode())) {
                return false;
            }
            String old = rec.getTargetNode();
            Set<String> healthy = healthyReplicas(rec);
            Map<String, Integer> nexuses = new HashMap<>();
            for (VolumeRecord r : records.values()) {
                if (!r.getTargetNode().isEmpty()) {
                    nexuses.merge(r.getTargetNode(), 1, Integer::sum);
                }
            }
            Optional<String> to = rec.getReplicasList().stream()
                    .filter(x -> !x.getRemoving() && healthy.contains(x.getUuid()) && !x.getNode().equals(old)
                            && nodes.online(x.getNode()) && !nodes.require(x.getNode()).getCordoned())
                    .map(ReplicaRecord::getNode)
                    .min(java.util.Comparator.comparingInt((String n) -> nexuses.getOrDefault(n, 0))
                            .thenComparing(n -> n));
            if (to.isEmpty()) {
                throw ControlException.unavailable("volume " + rec.getSpec().getName() + ": its nexus node " + old
                        + " is lost and no other online node holds a replica the child health calls healthy");
            }
            rec = rec.toBuilder().setTargetNode(to.get()).clearUri().setOperation(Operation.OP_PUBLISHING).build();
            persist(rec);
            LOG.info("volume {}: nexus node {} {}; republishing on {}", rec.getSpec().getName(), old,
                    whileOnline ? "drained" : "lost", to.get());
            VolumeRecord moving = rec;
            if (nodes.online(old)) {
                collectOrphans(old);        // the old nexus goes first: it holds its node's replica
            }
            publishSteps(rec);
            event(moving, !whileOnline, whileOnline ? "NexusMoved" : "Republished", "nexus node " + old
                    + (whileOnline ? " drained" : " lost") + "; replicas fenced to node " + to.get()
                    + "'s host NQN alone, nexus made there: " + current(uuid).getUri());
            return true;
        } finally {
            l.unlock();
        }
    }

    // ------------------------------------------------------------------ node resync

    /**
     * A restarted engine (new instance): its replicas' shares are made what the store says (to
     * the nexus node's host NQN alone, or none), nexuses the store has on it are made and
     * published again, and what it holds for volumes the store does not know (replicas whose
     * entity_id names no volume, nexuses of volumes not published there) is destroyed.
     */
    void resync(String node) {
        EngineClient e = nodes.engine(node);
        collectOrphans(node);
        resyncVolumes(node, e);
    }

    /**
     * Destroys what the node's engine holds for volumes the store does not know it for: replicas
     * whose entity_id is a volume UUID with no such replica in its record, and nexuses of volumes
     * not published there (an old nexus of a volume republished elsewhere). Safe beside running
     * operations: a record names a replica or target before the engine has it and after it is gone.
     */
    void collectOrphans(String node) {
        EngineClient e = nodes.engine(node);
        List<Replica> held = e.listReplicas();
        for (Replica r : held) {
            if (r.getEntityId().isEmpty()) {
                continue;       // not made by a control plane
            }
            VolumeRecord rec = records.get(r.getEntityId());
            boolean known = rec != null && rec.getReplicasList().stream().anyMatch(x -> x.getUuid().equals(r.getUuid()));
            if (!known && isUuid(r.getEntityId())) {
                LOG.info("node {}: replica {} of volume {} is in no volume the store holds: destroying it", node,
                        r.getUuid(), r.getEntityId());
                crash.reached("resync.engine.destroy-replica");
                e.destroyReplica(r.getUuid());
            }
        }
        for (Nexus n : e.listNexuses()) {
            VolumeRecord rec = records.get(n.getUuid());
            if (rec != null && !rec.getTargetNode().equals(node)) {
                LOG.info("node {}: nexus {} is not where volume {} is published: destroying it", node, n.getUuid(),
                        rec.getSpec().getName());
                crash.reached("resync.engine.destroy-nexus");
                e.destroyNexus(n.getUuid());
                event(rec, false, "OrphanCollected", "old nexus on node " + node + " destroyed");
            }
        }
    }

    private void resyncVolumes(String node, EngineClient e) {
        for (VolumeRecord rec : all()) {
            boolean here = rec.getReplicasList().stream().anyMatch(x -> x.getNode().equals(node))
                    || rec.getTargetNode().equals(node);
            if (!here) {
                continue;
            }
            ReentrantLock l = lock(rec.getSpec().getUuid());
            try {
                VolumeRecord now = records.get(rec.getSpec().getUuid());
                if (now == null) {
                    continue;
                }
                if (now.getOperation() != Operation.OP_NONE) {
                    finish(now.getSpec().getUuid());
                    continue;
                }
                if (now.getTargetNode().equals(node)) {
                    // The engine made no nexus at start: make it again from the child health the store holds.
                    publishSteps(now.toBuilder().setOperation(Operation.OP_PUBLISHING).build());
                    continue;
                }
                for (ReplicaRecord x : now.getReplicasList()) {
                    if (!x.getNode().equals(node)) {
                        continue;
                    }
                    if (now.getTargetNode().isEmpty()) {
                        e.unshareReplica(x.getUuid());
                    } else {
                        e.shareReplica(x.getUuid(), List.of(nodes.require(now.getTargetNode()).getHostnqn()));
                    }
                }
            } catch (ControlException ex) {
                LOG.warn("volume {}: resync of node {}: {}", rec.getSpec().getName(), node, ex.getMessage());
            } finally {
                l.unlock();
            }
        }
    }

    private static boolean isUuid(String s) {
        try {
            UUID.fromString(s);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    // ------------------------------------------------------------------ views

    // ------------------------------------------------------------------ status and outside changes

    /**
     * Keeps each volume's observed status in its record (the status of its resource in a
     * cluster): written when it changed since the last pass, with an event when the volume went
     * from one state to another. A volume busy with an operation is seen next pass.
     */
    void observe(Snapshot snap, Set<String> skip) {
        for (VolumeRecord r : all()) {
            String uuid = r.getSpec().getUuid();
            if (skip.contains(uuid)) {
                continue;
            }
            ReentrantLock l = locks.computeIfAbsent(uuid, k -> new ReentrantLock());
            if (!l.tryLock()) {
                continue;
            }
            try {
                VolumeRecord rec = records.get(uuid);
                if (rec == null || rec.getOperation() != Operation.OP_NONE) {
                    continue;
                }
                VolumeState now = view(rec, snap).getState();
                VolumeState.Builder o = VolumeState.newBuilder().setStatus(now.getStatus());
                for (VolumeReplica x : now.getReplicasList()) {
                    o.addReplicas(VolumeReplica.newBuilder().setUuid(x.getUuid()).setNode(x.getNode()).setPool(x.getPool())
                            .setState(x.getState()).setUri(x.getUri()));
                }
                VolumeState seen = o.build();
                if (seen.equals(rec.getObserved())) {
                    continue;
                }
                persist(rec.toBuilder().setObserved(seen).build());
                VolumeStatus was = rec.hasObserved() ? rec.getObserved().getStatus() : null;
                if (was != seen.getStatus()) {
                    String word = seen.getStatus().name().substring("VOLUME_".length()).toLowerCase(java.util.Locale.ROOT);
                    String bad = now.getReplicasList().stream().filter(x -> !x.getState().equals("Online"))
                            .map(x -> x.getUuid() + "@" + x.getNode() + " " + x.getState()).collect(Collectors.joining(", "));
                    event(rec, seen.getStatus() != VolumeStatus.VOLUME_ONLINE,
                            Character.toUpperCase(word.charAt(0)) + word.substring(1),
                            "volume is " + word + (bad.isEmpty() ? "" : "; replicas not online: " + bad));
                }
            } catch (ControlException e) {
                LOG.debug("volume {}: status not kept: {}", r.getSpec().getName(), e.getMessage());
            } finally {
                l.unlock();
            }
        }
    }

    /**
     * Someone else changed a volume's record in the store (a user's {@code kubectl} on its
     * resource): a new replica count is a scale, a larger size a resize, a deleted resource a
     * destroy, and a resource the control plane did not make — a volume applied by hand — is
     * taken up as a create (its replicas placed by the reconcile loop). Called on the reconcile
     * loop's thread; what fails is told as a warning event.
     */
    void external(String uuid, Optional<VolumeRecord> now) {
        VolumeRecord mine = records.get(uuid);
        try {
            if (now.isEmpty()) {
                if (mine != null) {
                    LOG.info("volume {}: its resource was deleted: destroying it", mine.getSpec().getName());
                    destroy(uuid);
                }
                return;
            }
            VolumeRecord r = now.get();
            if (mine == null) {
                if (r.getOperation() == Operation.OP_CREATING && r.getReplicasCount() == 0 && !byName.containsKey(
                        r.getSpec().getName())) {
                    LOG.info("volume {}: a resource made outside the control plane: creating it", r.getSpec().getName());
                    records.put(uuid, r);
                    byName.put(r.getSpec().getName(), uuid);
                }
                return;
            }
            if (r.getSpec().getReplicas() != mine.getSpec().getReplicas()) {
                event(mine, false, "ScaleRequested", "replica count set to " + r.getSpec().getReplicas() + " on the resource");
                scale(uuid, r.getSpec().getReplicas());
            }
            if (r.getSpec().getSize() > mine.getSpec().getSize() && mine.getOperation() == Operation.OP_NONE) {
                event(mine, false, "ResizeRequested", "size set to " + human(r.getSpec().getSize()) + " on the resource");
                resize(uuid, r.getSpec().getSize());
            }
        } catch (ControlException e) {
            LOG.warn("volume {}: a change of its resource not applied: {}", uuid, e.getMessage());
            if (mine != null && records.containsKey(uuid)) {
                event(mine, true, "ChangeRefused", e.getMessage());
            }
        }
    }

    Volume view(VolumeRecord rec) {
        return view(rec, new Snapshot(nodes));
    }

    Volume view(VolumeRecord rec, Snapshot snap) {
        VolumeState.Builder s = VolumeState.newBuilder().setTargetNode(rec.getTargetNode()).setUri(rec.getUri())
                .setOperation(opName(rec.getOperation())).setSize(rec.getSize());
        Optional<Nexus> nexus = Optional.empty();
        boolean targetReachable = false;
        if (!rec.getTargetNode().isEmpty()) {
            targetReachable = snap.reachable(rec.getTargetNode());
            nexus = snap.nexus(rec.getTargetNode(), rec.getSpec().getUuid());
        }
        int online = 0;
        int unknown = 0;
        for (ReplicaRecord x : rec.getReplicasList()) {
            VolumeReplica.Builder vr = VolumeReplica.newBuilder().setUuid(x.getUuid()).setNode(x.getNode())
                    .setPool(x.getPool()).setRebuildProgress(-1);
            String state;
            if (!snap.reachable(x.getNode())) {
                state = "Unknown";
                unknown++;
            } else if (snap.replica(x.getNode(), x.getUuid()).isEmpty()) {
                state = "Missing";
            } else if (nexus.isPresent()) {
                Optional<Child> c = childOf(nexus.get(), x.getUuid());
                if (c.isEmpty()) {
                    state = "Missing";
                } else {
                    vr.setUri(c.get().getUri()).setRebuildProgress(c.get().getRebuildProgress());
                    state = switch (c.get().getState()) {
                        case CHILD_STATE_ONLINE -> "Online";
                        case CHILD_STATE_DEGRADED -> "Degraded";
                        case CHILD_STATE_FAULTED -> "Faulted";
                        default -> "Unknown";
                    };
                }
            } else {
                state = "Online";
            }
            if (state.equals("Online")) {
                online++;
            }
            s.addReplicas(vr.setState(state));
        }
        VolumeStatus status;
        if (!rec.getTargetNode().isEmpty()) {
            if (!targetReachable) {
                status = VolumeStatus.VOLUME_UNKNOWN;
            } else if (nexus.isEmpty()) {
                status = VolumeStatus.VOLUME_FAULTED;
            } else {
                NexusState ns = nexus.get().getState();
                // Online only with every replica of the record healthy in the nexus, and as many as asked for.
                boolean whole = online == rec.getReplicasCount() && rec.getReplicasCount() >= rec.getSpec().getReplicas();
                status = ns == NexusState.NEXUS_ONLINE ? (whole ? VolumeStatus.VOLUME_ONLINE : VolumeStatus.VOLUME_DEGRADED)
                        : ns == NexusState.NEXUS_DEGRADED ? VolumeStatus.VOLUME_DEGRADED : VolumeStatus.VOLUME_FAULTED;
            }
        } else if (online == rec.getReplicasCount() && online >= rec.getSpec().getReplicas()) {
            status = VolumeStatus.VOLUME_ONLINE;
        } else if (online > 0) {
            status = VolumeStatus.VOLUME_DEGRADED;
        } else {
            status = unknown > 0 ? VolumeStatus.VOLUME_UNKNOWN : VolumeStatus.VOLUME_FAULTED;
        }
        return Volume.newBuilder().setSpec(rec.getSpec()).setState(s.setStatus(status)).build();
    }

    static String opName(Operation op) {
        return switch (op) {
            case OP_NONE, UNRECOGNIZED -> "";
            case OP_CREATING -> "Creating";
            case OP_PUBLISHING -> "Publishing";
            case OP_UNPUBLISHING -> "Unpublishing";
            case OP_DESTROYING -> "Destroying";
            case OP_RESIZING -> "Resizing";
            case OP_SCALING -> "Scaling";
        };
    }

    /** Nexuses the store places on each node. */
    int nexusesOn(String node) {
        return (int) records.values().stream().filter(r -> r.getTargetNode().equals(node)).count();
    }

    int replicasOn(String node) {
        return (int) records.values().stream().flatMap(r -> r.getReplicasList().stream())
                .filter(x -> x.getNode().equals(node)).count();
    }

    int replicasIn(String pool) {
        return (int) records.values().stream().flatMap(r -> r.getReplicasList().stream())
                .filter(x -> x.getPool().equals(pool)).count();
    }

    /** What GetCapacity answers: free bytes over the eligible pools, the largest volume that fits, the eligible nodes. */
    record Capacity(long availableBytes, long maximumVolumeSize, int eligibleNodes) {
    }

    /** Free bytes over the eligible pools, and the largest volume of {@code count} replicas that fits now. */
    Capacity capacity(int count, boolean thin, Map<String, String> selector) {
        synchronized (placementLock) {
            pools.refreshOnline();
            Map<String, Long> bestPerNode = new HashMap<>();
            long total = 0;
            Set<String> eligibleNodes = new HashSet<>();
            for (NodeRecord n : nodes.all()) {
                boolean ok = nodes.online(n.getId()) && !n.getCordoned()
                        && selector.entrySet().stream().allMatch(e -> e.getValue().equals(n.getLabelsMap().get(e.getKey())));
                if (ok) {
                    eligibleNodes.add(n.getId());
                }
            }
            for (Placement.PoolView p : pools.placementViews(committed())) {
                if (!p.usable() || !eligibleNodes.contains(p.node())) {
                    continue;
                }
                long free = thin ? Math.max(0, p.capacity() * thinLimitPercent / 100 - p.committed()) : p.free();
                total += p.free();
                bestPerNode.merge(p.node(), free, Math::max);
            }
            List<Long> best = new ArrayList<>(bestPerNode.values());
            best.sort(java.util.Comparator.reverseOrder());
            long max = best.size() >= count ? best.get(count - 1) / ALIGN * ALIGN : 0;
            return new Capacity(total, max, bestPerNode.size());
        }
    }
}
