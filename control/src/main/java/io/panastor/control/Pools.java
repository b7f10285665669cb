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
    private final Map<String, PoolRecord> records = new ConcurrentHashMap<>();
    private final Map<String, Pool> seen = new ConcurrentHashMap<>();
    private final Map<String, String> errors = new ConcurrentHashMap<>();

    Pools(Store store, Nodes nodes, CrashPoints crash) throws IOException {
        this.store = store;
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
