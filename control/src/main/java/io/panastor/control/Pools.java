package io.panastor.control;

import io.grpc.Status;
import io.panastor.api.control.v1.CrState;
import io.panastor.api.control.v1.CreateDiskPoolRequest;
import io.panastor.api.control.v1.DiskPool;
import io.panastor.api.control.v1.DiskPoolSpec;
import io.panastor.api.control.v1.DiskPoolStatus;
import io.panastor.api.control.v1.PoolRecord;
import io.panastor.api.control.v1.PoolStatus;
import io.panastor.api.v1.Pool;
import io.panastor.api.v1.PoolState;
import io.panastor.control.store.EventLog;
import io.panastor.control.store.Store;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Disk pools as DiskPool resources (Mayastor's v1beta2: spec node and disks; status cr_state,
 * pool_status, capacity, used, available), persisted under {@code pools/NAME} and reconciled
 * onto their node's engine: created there, or imported when the disk already holds the pool
 * (the engine's create-or-import). What an engine last reported of a pool is kept in memory;
 * a pool on a node that is not online is Unknown.
 */
final class Pools {
    private static final Logger LOG = LoggerFactory.getLogger(Pools.class);
    private static final String PREFIX = "pools/";

    private final Store store;
    private final Nodes nodes;
    private final CrashPoints crash;
    private final EventLog events;
    private final Map<String, PoolRecord> records = new ConcurrentHashMap<>();
    private final Map<String, Pool> seen = new ConcurrentHashMap<>();
    private final Map<String, String> errors = new ConcurrentHashMap<>();

    Pools(Store store, Nodes nodes, CrashPoints crash) throws IOException {
        this.store = store;
        this.events = store.events();
        this.nodes = nodes;
        this.crash = crash;
        for (byte[] v : store.list(PREFIX).values()) {
            PoolRecord r = PoolRecord.parseFrom(v);
            records.put(r.getName(), r);
        }
    }

    private void persist(PoolRecord r) {
        crash.reached("pool.store.put");
        try {
            store.put(PREFIX + r.getName(), r.toByteArray());
        } catch (IOException e) {
            throw ControlException.store(e);
        }
        records.put(r.getName(), r);
    }

    private void forget(String name) {
        crash.reached("pool.store.delete");
        try {
            store.delete(PREFIX + name);
        } catch (IOException e) {
            throw ControlException.store(e);
        }
        records.remove(name);
        seen.remove(name);
        errors.remove(name);
    }

    synchronized DiskPool create(CreateDiskPoolRequest r) {
        if (!Nodes.ID.matcher(r.getName()).matches()) {
            throw ControlException.invalid("name '" + r.getName() + "': a pool name is letters, digits, '.', '_' or '-'");
        }
        if (r.getDisksCount() != 1 || r.getDisks(0).isBlank()) {
            throw ControlException.invalid("disks: a pool is made on exactly one disk (URI or path); got "
                    + r.getDisksList());
        }
        nodes.require(r.getNode());
        DiskPoolSpec spec = DiskPoolSpec.newBuilder().setNode(r.getNode()).addAllDisks(r.getDisksList())
                .putAllTopology(r.getLabelsMap()).build();
        PoolRecord existing = records.get(r.getName());
        if (existing != null) {
            if (!existing.getSpec().equals(spec)) {
                throw new ControlException(Status.Code.ALREADY_EXISTS, "pool " + r.getName() + " exists on node "
                        + existing.getSpec().getNode() + " with disks " + existing.getSpec().getDisksList());
            }
        } else {
            for (PoolRecord o : records.values()) {
                if (o.getSpec().getNode().equals(r.getNode()) && o.getSpec().getDisksList().equals(r.getDisksList())) {
                    throw new ControlException(Status.Code.ALREADY_EXISTS, "disk " + r.getDisks(0) + " of node "
                            + r.getNode() + " is pool " + o.getName() + "'s");
                }
            }
            persist(PoolRecord.newBuilder().setName(r.getName()).setSpec(spec).setCrState(CrState.CR_CREATING).build());
        }
        PoolRecord rec = records.get(r.getName());
        if (rec.getCrState() == CrState.CR_CREATING) {
            try {
                ensure(rec);
            } catch (ControlException e) {
                if (e.code() != Status.Code.UNAVAILABLE) {
                    forget(rec.getName());      // a refused create changes nothing
                    throw e;
                }
                errors.put(rec.getName(), e.getMessage());   // tried again when the node is back
            }
        }
        return view(records.get(r.getName()));
    }

    /** Creates (or imports) the pool on its engine and marks it Created. */
    private void ensure(PoolRecord rec) {
        EngineClient e = nodes.engine(rec.getSpec().getNode());
        crash.reached("pool.engine.create");
        Pool p = e.createPool(rec.getName(), rec.getSpec().getDisksList());
        seen.put(rec.getName(), p);
        errors.remove(rec.getName());
        if (rec.getCrState() != CrState.CR_CREATED || !rec.getUuid().equals(p.getUuid())) {
            persist(rec.toBuilder().setCrState(CrState.CR_CREATED).setUuid(p.getUuid()).build());
            events.record("pool", rec.getName(), false, "Created", "pool " + p.getUuid() + " on node "
                    + rec.getSpec().getNode() + ", disk " + rec.getSpec().getDisks(0));
        }
    }

    synchronized void delete(String name, Volumes volumes) {
        PoolRecord rec = records.get(name);
        if (rec == null) {
            throw ControlException.notFound("pool " + name + " does not exist");
        }
        List<String> users = volumes.usersOf(name);
        if (!users.isEmpty()) {
            throw ControlException.precondition("pool " + name + " holds replicas of volume(s) " + users
                    + ": destroy them or scale them off it first");
        }
        if (rec.getCrState() != CrState.CR_TERMINATING) {
            rec = rec.toBuilder().setCrState(CrState.CR_TERMINATING).build();
            persist(rec);
        }
        terminate(rec);
    }

    private void terminate(PoolRecord rec) {
        EngineClient e = nodes.engine(rec.getSpec().getNode());
        crash.reached("pool.engine.destroy");
        e.destroyPool(rec.getName());
        forget(rec.getName());
    }

    /** Drives every pool toward its spec on the nodes that are online; for the reconcile loop. */
    void reconcile() {
        for (PoolRecord rec : List.copyOf(records.values())) {
            if (!nodes.online(rec.getSpec().getNode())) {
                continue;
            }
            synchronized (this) {
                PoolRecord now = records.get(rec.getName());
                if (now == null) {
                    continue;
                }
                try {
                    switch (now.getCrState()) {
                        case CR_TERMINATING -> terminate(now);
                        case CR_CREATING -> ensure(now);
                        default -> {
                            if (!seen.containsKey(now.getName())) {
                                ensure(now);
                            }
                        }
                    }
                } catch (ControlException e) {
                    errors.put(now.getName(), e.getMessage());
                    LOG.debug("pool {}: {}", now.getName(), e.getMessage());
                }
            }
        }
    }

    /**
     * Keeps each pool's observed status (capacity, use, pool status: the status of its resource
     * in a cluster) in its record, written when it changed since the last pass.
     */
    synchronized void observe() {
        for (PoolRecord rec : List.copyOf(records.values())) {
            DiskPoolStatus seen = view(rec).getStatus();
            if (!seen.equals(rec.getObserved())) {
                try {
                    persist(rec.toBuilder().setObserved(seen).build());
                } catch (ControlException e) {
                    LOG.debug("pool {}: status not kept: {}", rec.getName(), e.getMessage());
                }
            }
        }
    }

    /**
     * Someone else changed a pool's record in the store: a DiskPool a user applied is taken up
     * (created or imported on its node by the reconcile loop); a deleted one is destroyed on its
     * engine — unless it holds replicas, when its resource is written back and a warning event
     * says why; a changed spec is refused the same way (a pool does not move or change disks).
     */
    synchronized void external(String name, java.util.Optional<PoolRecord> now, Volumes volumes) {
        PoolRecord mine = records.get(name);
        try {
            if (now.isEmpty()) {
                if (mine == null || mine.getCrState() == CrState.CR_TERMINATING) {
                    return;
                }
                List<String> users = volumes.usersOf(name);
                if (!users.isEmpty()) {
                    persist(mine);
                    events.record("pool", name, true, "DeleteRefused", "holds replicas of volume(s) " + users
                            + ": destroy them or scale them off it first");
                    return;
                }
                // Its resource is gone already: terminated in memory, destroyed on the engine now or once its node is back.
                PoolRecord t = mine.toBuilder().setCrState(CrState.CR_TERMINATING).build();
                records.put(name, t);
                if (nodes.online(t.getSpec().getNode())) {
                    terminate(t);
                }
                return;
            }
            PoolRecord r = now.get();
            if (mine == null) {
                String why = !Nodes.ID.matcher(r.getSpec().getNode()).matches() ? "spec.node is not a node name"
                        : r.getSpec().getDisksCount() != 1 ? "spec.disks: a pool is made on exactly one disk" : null;
                records.put(name, r.toBuilder().setCrState(CrState.CR_CREATING).build());
                if (why != null) {
                    errors.put(name, why);
                    events.record("pool", name, true, "Invalid", why);
                } else {
                    LOG.info("pool {}: a DiskPool applied on node {}: creating it", name, r.getSpec().getNode());
                }
                return;
            }
            if (!r.getSpec().equals(mine.getSpec())) {
                persist(mine);
                events.record("pool", name, true, "ChangeRefused", "a pool's node and disks do not change; "
                        + "delete it and create another");
            }
        } catch (ControlException e) {
            LOG.warn("pool {}: a change of its resource not applied: {}", name, e.getMessage());
        }
    }

    /** A restarted node: every pool of it is opened again (imported) if its engine lacks it. */
    void resync(String node) {
        refresh(node);
        for (PoolRecord rec : List.copyOf(records.values())) {
            if (rec.getSpec().getNode().equals(node) && rec.getCrState() != CrState.CR_TERMINATING) {
                synchronized (this) {
                    try {
                        if (!seen.containsKey(rec.getName()) || rec.getCrState() == CrState.CR_CREATING) {
                            ensure(rec);
                        }
                    } catch (ControlException e) {
                        errors.put(rec.getName(), e.getMessage());
                        LOG.warn("pool {} on node {}: {}", rec.getName(), node, e.getMessage());
                    }
                }
            }
        }
    }

    /** Reads what the node's engine has of its pools now. */
    void refresh(String node) {
        List<Pool> listed;
        try {
            listed = nodes.engine(node).listPools();
        } catch (ControlException e) {
            return;
        }
        Map<String, Pool> byName = new java.util.HashMap<>();
        listed.forEach(p -> byName.put(p.getName(), p));
        for (PoolRecord rec : records.values()) {
            if (rec.getSpec().getNode().equals(node)) {
                Pool p = byName.get(rec.getName());
                if (p == null) {
                    seen.remove(rec.getName());
                } else {
                    seen.put(rec.getName(), p);
                }
            }
        }
    }

    void refreshOnline() {
        for (String n : nodesWithPools()) {
            if (nodes.online(n)) {
                refresh(n);
            }
        }
    }

    private java.util.Set<String> nodesWithPools() {
        java.util.Set<String> s = new java.util.TreeSet<>();
        records.values().forEach(r -> s.add(r.getSpec().getNode()));
        return s;
    }

    PoolRecord require(String name) {
        PoolRecord r = records.get(name);
        if (r == null) {
            throw ControlException.notFound("pool " + name + " does not exist");
        }
        return r;
    }

    java.util.Optional<PoolRecord> get(String name) {
        return java.util.Optional.ofNullable(records.get(name));
    }

    List<PoolRecord> all() {
        List<PoolRecord> l = new ArrayList<>(records.values());
        l.sort(java.util.Comparator.comparing(PoolRecord::getName));
        return l;
    }

    int countOn(String node) {
        return (int) records.values().stream().filter(r -> r.getSpec().getNode().equals(node)).count();
    }

    /** The pools as placement sees them, with what the store commits to each. */
    List<Placement.PoolView> placementViews(Map<String, long[]> committed) {
        List<Placement.PoolView> out = new ArrayList<>();
        for (PoolRecord r : all()) {
            Pool p = seen.get(r.getName());
            boolean usable = p != null && r.getCrState() == CrState.CR_CREATED && p.getState() == PoolState.POOL_ONLINE
                    && nodes.online(r.getSpec().getNode());
            long[] c = committed.getOrDefault(r.getName(), new long[2]);
            out.add(new Placement.PoolView(r.getName(), r.getSpec().getNode(), usable, p == null ? 0 : p.getCapacity(),
                    p == null ? 0 : p.getUsed(), c[0], c[1], r.getSpec().getTopologyMap()));
        }
        return out;
    }

    DiskPool view(PoolRecord r) {
        return view(r, -1);
    }

    DiskPool view(PoolRecord r, int replicas) {
        Pool p = seen.get(r.getName());
        DiskPoolStatus.Builder s = DiskPoolStatus.newBuilder().setCrState(r.getCrState()).setUuid(r.getUuid());
        if (p != null) {
            s.setCapacity(p.getCapacity()).setUsed(p.getUsed()).setAvailable(Math.max(0, p.getCapacity() - p.getUsed()))
                    .setCommitted(p.getCommitted());
        }
        if (!nodes.online(r.getSpec().getNode()) || p == null) {
            s.setPoolStatus(PoolStatus.POOL_STATUS_UNKNOWN);
        } else {
            s.setPoolStatus(switch (p.getState()) {
                case POOL_ONLINE -> PoolStatus.POOL_STATUS_ONLINE;
                case POOL_DEGRADED -> PoolStatus.POOL_STATUS_DEGRADED;
                case POOL_FAULTED -> PoolStatus.POOL_STATUS_FAULTED;
                default -> PoolStatus.POOL_STATUS_UNKNOWN;
            });
        }
        String err = errors.get(r.getName());
        if (err != null) {
            s.setError(err);
        }
        if (replicas >= 0) {
            s.setReplicas(replicas);
        }
        return DiskPool.newBuilder().setName(r.getName()).setSpec(r.getSpec()).setStatus(s).build();
    }
}
