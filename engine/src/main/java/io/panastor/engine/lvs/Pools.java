package io.panastor.engine.lvs;

import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BdevClaim;
import io.panastor.engine.bdev.BdevUri;
import io.panastor.engine.bdev.Bdevs;
import io.panastor.engine.error.EngineException;
import io.panastor.engine.error.EngineException.Reason;
import io.panastor.reactor.Reactor;
import io.panastor.reactor.Reactors;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * The pools of an engine, by name, and their replicas: the control path of {@code lvs}.
 * Pool creation, import, export and destruction run on a virtual thread of their own (they
 * block on disk IO); replica changes go to their pool's metadata thread. Names are unique on
 * the engine (pools among pools, replicas among replicas), as are UUIDs.
 *
 * <p>Thread-safety: any thread; the registry is guarded by {@code this}, never held while a
 * pool does IO.
 */
public final class Pools {
    private final List<Reactor> reactors;
    private final Bdevs bdevs;
    private final Function<Bdev, Optional<String>> sharedAs;
    private final Map<String, Entry> byName = new LinkedHashMap<>();
    /** Pool names being created or imported, and replica names being created. */
    private final Set<String> pendingPools = new HashSet<>();
    private final Set<String> pendingReplicas = new HashSet<>();
    private int nextHome;

    /** An open pool and whether it made its disk's bdev (then it destroys it when it goes). */
    private record Entry(Lvs lvs, Bdev disk, boolean ownsDisk) {
    }

    /**
     * @param sharedAs the NQN a bdev is exported as, if it is (a shared replica cannot be
     *                 destroyed, nor its pool exported)
     */
    public Pools(Reactors reactors, Bdevs bdevs, Function<Bdev, Optional<String>> sharedAs) {
        this.reactors = reactors.all();
        this.bdevs = bdevs;
        this.sharedAs = sharedAs;
    }

    // ------------------------------------------------------------------ pools

    public CompletableFuture<PoolInfo> create(PoolSpec spec) {
        if (spec == null || !MetaCodec.validName(spec.name())) {
            return invalid("a pool needs a name of 1 to " + MetaCodec.MAX_NAME + " bytes without '/', got "
                    + (spec == null ? null : "'" + spec.name() + "'"));
        }
        if (spec.disk() == null || spec.disk().isBlank()) {
            return invalid("pool " + spec.name() + " needs a disk (a path or a bdev URI)");
        }
        long cs = spec.clusterSize() == 0 ? PoolSpec.DEFAULT_CLUSTER_SIZE : spec.clusterSize();
        if (cs < PoolSpec.MIN_CLUSTER_SIZE || cs > Layout.MAX_CLUSTER_SIZE || Long.bitCount(cs) != 1) {
            return invalid("cluster size " + cs + " is not a power of two from 1 MiB to 1 GiB");
        }
        synchronized (this) {
            Entry e = byName.get(spec.name());
            if (e != null) {
                PoolInfo i = e.lvs().info();
                if (sameDisk(e, spec.disk()) && (spec.uuid() == null || spec.uuid().equals(i.uuid()))
                        && (spec.clusterSize() == 0 || spec.clusterSize() == i.clusterSize())) {
                    return CompletableFuture.completedFuture(i);
                }
                return failed(Reason.ALREADY_EXISTS, "pool " + spec.name() + " exists on " + i.disk() + " (uuid "
                        + i.uuid() + ", cluster size " + i.clusterSize() + ")");
            }
            if (spec.uuid() != null && byUuid(spec.uuid()) != null) {
                return failed(Reason.ALREADY_EXISTS, "pool uuid " + spec.uuid() + " is used by pool "
                        + byUuid(spec.uuid()).lvs().name());
            }
            if (!pendingPools.add(spec.name())) {
                return failed(Reason.BUSY, "pool " + spec.name() + " is being created or imported");
            }
        }
        UUID uuid = spec.uuid() != null ? spec.uuid() : UUID.randomUUID();
        return open(spec.name(), spec.disk(), (disk, claim, home) ->
                Lvs.create(spec, uuid, disk, spec.disk(), claim, bdevs, home));
    }

    public CompletableFuture<PoolInfo> importPool(String name, UUID uuid, String disk) {
        if (disk == null || disk.isBlank()) {
            return invalid("an import needs the pool's disk (a path or a bdev URI)");
        }
        if (name != null && !MetaCodec.validName(name)) {
            return invalid("'" + name + "' is not a pool name");
        }
        String key = name != null ? name : "import of " + disk;
        synchronized (this) {
            for (Entry e : byName.values()) {
                if (sameDisk(e, disk)) {
                    PoolInfo i = e.lvs().info();
                    if ((name == null || name.equals(i.name())) && (uuid == null || uuid.equals(i.uuid()))) {
                        return CompletableFuture.completedFuture(i);
                    }
                    return failed(Reason.INVALID_ARGUMENT, "disk " + disk + " holds pool " + i.name() + " (" + i.uuid()
                            + "), open here already");
                }
            }
            if (name != null && byName.containsKey(name)) {
                return failed(Reason.ALREADY_EXISTS, "a pool named " + name + " is open here on another disk ("
                        + byName.get(name).lvs().info().disk() + ")");
            }
            if (!pendingPools.add(key)) {
                return failed(Reason.BUSY, "pool " + key + " is being created or imported");
            }
        }
        return open(key, disk, (d, claim, home) -> {
            // Vetted before anything is written (import compacts), and again once open, for a race.
            Lvs lvs = Lvs.importFrom(name, uuid, d, disk, claim, bdevs, home, (n, u) -> refuseIfOpen(disk, n, u));
            try {
                refuseIfOpen(disk, lvs.name(), lvs.uuid());
            } catch (EngineException e) {
                lvs.close(false);
                throw e;
            }
            return lvs;
        });
    }

    /** ALREADY_EXISTS if a pool named {@code n} or of uuid {@code u} is open here already ({@code disk} holds it). */
    private synchronized void refuseIfOpen(String disk, String n, UUID u) {
        Entry other = byName.containsKey(n) ? byName.get(n) : byUuid(u);
        if (other != null) {
            throw new EngineException(Reason.ALREADY_EXISTS, "disk " + disk + " holds pool " + n + " (" + u
                    + "), but pool " + other.lvs().name() + " (" + other.lvs().uuid() + ") is open here already");
        }
    }

    private interface Opener {
        Lvs open(Bdev disk, BdevClaim claim, Reactor home);
    }

    /** Makes (or finds) the disk's bdev, claims it and opens the pool on a thread of its own. */
    private CompletableFuture<PoolInfo> open(String key, String diskUri, Opener opener) {
        CompletableFuture<PoolInfo> out = new CompletableFuture<>();
        Reactor home;
        synchronized (this) {
            home = reactors.get(Math.floorMod(nextHome++, reactors.size()));
        }
        Thread.ofVirtual().name("lvs-open-" + key).start(() -> {
            Bdev disk = null;
            boolean owns = false;
            BdevClaim claim = null;
            try {
                List<Bdev> before = bdevs.list();
                disk = bdevs.createAsync(diskUri).join();
                owns = !before.contains(disk);
                if (disk instanceof Lvol l) {
                    throw new EngineException(Reason.INVALID_ARGUMENT, "bdev " + disk.name() + " is a replica of pool "
                            + l.pool.name() + ": a pool's disk must be a device, a file or a bdev of its own");
                }
                claim = bdevs.claim(disk.name(), "pool " + key);
                Lvs lvs = opener.open(disk, claim, home);
                synchronized (this) {
                    pendingPools.remove(key);
                    byName.put(lvs.name(), new Entry(lvs, disk, owns));
                }
                out.complete(lvs.info());
            } catch (RuntimeException e) {
                synchronized (this) {
                    pendingPools.remove(key);
                }
                if (claim != null) {
                    claim.close();
                }
                if (owns && disk != null) {
                    bdevs.destroy(disk.name()).exceptionally(t -> null).join();
                }
                out.completeExceptionally(EngineException.of(e));
            }
        });
        return out;
    }

    public CompletableFuture<Void> export(String name) {
        return close(name, false, false);
    }

    public CompletableFuture<Void> destroy(String name, boolean force) {
        return close(name, true, force);
    }

    private CompletableFuture<Void> close(String name, boolean wipe, boolean force) {
        Entry e;
        synchronized (this) {
            e = find(name);
            if (e == null) {
                return failed(Reason.NOT_FOUND, "no pool " + name);
            }
            List<ReplicaInfo> reps = e.lvs().replicas();
            if (wipe && !force && !reps.isEmpty()) {
                return failed(Reason.BUSY, "pool " + e.lvs().name() + " holds " + reps.size()
                        + " replicas: destroy them first, or destroy the pool with force");
            }
            for (ReplicaInfo r : reps) {
                String busy = busy(e.lvs(), r);
                if (busy != null) {
                    return failed(Reason.BUSY, "pool " + e.lvs().name() + ": replica " + r.name() + " " + busy);
                }
            }
            byName.remove(e.lvs().name());
            pendingPools.add(e.lvs().name());
        }
        Entry entry = e;
        CompletableFuture<Void> out = new CompletableFuture<>();
        Thread.ofVirtual().name("lvs-close-" + name).start(() -> {
            RuntimeException failure = null;
            try {
                entry.lvs().close(wipe);
            } catch (RuntimeException t) {
                failure = t;
            } finally {
                entry.lvs().claim().close();
                if (entry.ownsDisk()) {
                    bdevs.destroy(entry.disk().name()).exceptionally(t -> null).join();
                }
                synchronized (this) {
                    pendingPools.remove(entry.lvs().name());
                }
            }
            if (failure == null) {
                out.complete(null);
            } else {
                out.completeExceptionally(EngineException.of(failure));
            }
        });
        return out;
    }

    /** Why replica {@code r} cannot go now (shared, claimed), or null. */
    private String busy(Lvs lvs, ReplicaInfo r) {
        Lvol lvol = lvs.lvol(r.uuid());
        if (lvol == null) {
            return null;
        }
        Optional<String> nqn = sharedAs.apply(lvol);
        if (nqn.isPresent()) {
            return "is shared as " + nqn.get() + ": unshare it first";
        }
        Optional<String> claimant = bdevs.claimant(lvol.name());
        return claimant.map(c -> "is in use by " + c).orElse(null);
    }

    public CompletableFuture<PoolInfo> grow(String name) {
        Entry e = entry(name);
        return e == null ? failed(Reason.NOT_FOUND, "no pool " + name) : e.lvs().grow();
    }

    public synchronized List<PoolInfo> list() {
        List<PoolInfo> out = new ArrayList<>();
        for (Entry e : byName.values()) {
            out.add(e.lvs().info());
        }
        return out;
    }

    public synchronized Optional<PoolInfo> info(String name) {
        Entry e = find(name);
        return e == null ? Optional.empty() : Optional.of(e.lvs().info());
    }

    /** Exports every pool: the engine is stopping (its target is closed already). Blocking. */
    public void closeAll() {
        List<Entry> all;
        synchronized (this) {
            all = new ArrayList<>(byName.values());
            byName.clear();
        }
        for (Entry e : all) {
            try {
                e.lvs().close(false);
            } finally {
                e.lvs().claim().close();
            }
        }
    }

    // ------------------------------------------------------------------ replicas

    public CompletableFuture<ReplicaInfo> createReplica(String pool, String name, UUID uuid, long sizeBytes, boolean thin,
                                                        String entityId) {
        if (!MetaCodec.validName(name)) {
            return invalid("a replica needs a name of 1 to " + MetaCodec.MAX_NAME + " bytes without '/', got "
                    + (name == null ? null : "'" + name + "'"));
        }
        if (sizeBytes <= 0) {
            return invalid("replica " + name + " needs a size above zero, got " + sizeBytes);
        }
        if (entityId != null && entityId.length() > 256) {
            return invalid("an entity id has at most 256 characters");
        }
        Entry e;
        UUID u = uuid != null ? uuid : UUID.randomUUID();
        synchronized (this) {
            e = find(pool);
            if (e == null) {
                return failed(Reason.NOT_FOUND, "no pool " + pool);
            }
            for (Entry other : byName.values()) {
                if (other == e) {
                    continue;
                }
                for (ReplicaInfo r : other.lvs().replicas()) {
                    if (r.name().equals(name) || r.uuid().equals(u)) {
                        return failed(Reason.ALREADY_EXISTS, "replica " + r.name() + " (" + r.uuid() + ") exists in pool "
                                + r.pool());
                    }
                }
            }
            if (uuid == null) {
                // no uuid given: the replica of that name, if the pool has it, is the one asked for
                for (ReplicaInfo r : e.lvs().replicas()) {
                    if (r.name().equals(name)) {
                        u = r.uuid();
                    }
                }
            }
            boolean mine = e.lvs().lvol(u) != null;
            if (!mine) {
                Optional<Bdev> clash = bdevs.lookup(name).or(() -> bdevs.lookup(uuid == null ? "" : uuid.toString()));
                if (clash.isPresent()) {
                    return failed(Reason.ALREADY_EXISTS, "bdev " + clash.get().name() + " already goes by " + name
                            + " or " + u);
                }
            }
            if (!pendingReplicas.add(name)) {
                return failed(Reason.BUSY, "replica " + name + " is being created");
            }
        }
        long bs = e.disk().blockSize();
        long size = (sizeBytes + bs - 1) / bs * bs;
        return e.lvs().createReplica(name, u, size, thin, entityId).whenComplete((r, t) -> {
            synchronized (this) {
                pendingReplicas.remove(name);
            }
        });
    }

    public CompletableFuture<Void> destroyReplica(String key) {
        Entry e;
        ReplicaInfo r;
        synchronized (this) {
            Found f = findReplica(key);
            if (f == null) {
                return failed(Reason.NOT_FOUND, "no replica " + key);
            }
            e = f.entry();
            r = f.replica();
            String busy = busy(e.lvs(), r);
            if (busy != null) {
                return failed(Reason.BUSY, "replica " + r.name() + " " + busy);
            }
        }
        return e.lvs().destroyReplica(r.uuid());
    }

    public CompletableFuture<ReplicaInfo> resizeReplica(String key, long sizeBytes) {
        Found f;
        synchronized (this) {
            f = findReplica(key);
        }
        if (f == null) {
            return failed(Reason.NOT_FOUND, "no replica " + key);
        }
        long bs = f.entry().disk().blockSize();
        return f.entry().lvs().resizeReplica(f.replica().uuid(), (sizeBytes + bs - 1) / bs * bs);
    }

    public CompletableFuture<ReplicaInfo> setProperties(String key, Map<String, String> changes) {
        Found f;
        synchronized (this) {
            f = findReplica(key);
        }
        if (f == null) {
            return failed(Reason.NOT_FOUND, "no replica " + key);
        }
        for (Map.Entry<String, String> c : changes.entrySet()) {
            if (c.getKey() == null || c.getKey().isEmpty() || c.getKey().length() > 255
                    || (c.getValue() != null && c.getValue().length() > 4096)) {
                return invalid("a replica property needs a key of 1 to 255 characters and a value of at most 4096");
            }
        }
        return f.entry().lvs().setProperties(f.replica().uuid(), new LinkedHashMap<>(changes));
    }

    public synchronized List<ReplicaInfo> replicas() {
        List<ReplicaInfo> out = new ArrayList<>();
        for (Entry e : byName.values()) {
            out.addAll(e.lvs().replicas());
        }
        out.sort(java.util.Comparator.comparing(ReplicaInfo::pool).thenComparing(ReplicaInfo::name));
        return out;
    }

    public synchronized Optional<ReplicaInfo> replica(String key) {
        Found f = findReplica(key);
        return f == null ? Optional.empty() : Optional.of(f.replica());
    }

    private record Found(Entry entry, ReplicaInfo replica) {
    }

    private Found findReplica(String key) {
        if (key == null) {
            return null;
        }
        for (Entry e : byName.values()) {
            for (ReplicaInfo r : e.lvs().replicas()) {
                if (r.name().equals(key) || r.uuid().toString().equalsIgnoreCase(key)
                        || (r.pool() + "/" + r.name()).equals(key)) {
                    return new Found(e, r);
                }
            }
        }
        return null;
    }

    // ------------------------------------------------------------------ helpers

    private synchronized Entry entry(String name) {
        return find(name);
    }

    private Entry find(String name) {
        if (name == null) {
            return null;
        }
        Entry e = byName.get(name);
        if (e != null) {
            return e;
        }
        for (Entry c : byName.values()) {
            if (c.lvs().uuid().toString().equalsIgnoreCase(name)) {
                return c;
            }
        }
        return null;
    }

    private Entry byUuid(UUID uuid) {
        for (Entry c : byName.values()) {
            if (c.lvs().uuid().equals(uuid)) {
                return c;
            }
        }
        return null;
    }

    private boolean sameDisk(Entry e, String disk) {
        if (disk.equals(e.lvs().diskUri()) || bdevs.lookup(disk).map(b -> b == e.disk()).orElse(false)) {
            return true;
        }
        try {
            return BdevUri.parse(disk).canonical().equals(e.disk().uri());
        } catch (RuntimeException ex) {
            return false;
        }
    }

    private static <T> CompletableFuture<T> invalid(String message) {
        return failed(Reason.INVALID_ARGUMENT, message);
    }

    private static <T> CompletableFuture<T> failed(Reason reason, String message) {
        return CompletableFuture.failedFuture(new EngineException(reason, message));
    }
}
