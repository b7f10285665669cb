package io.panastor.engine;

import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BdevUri;
import io.panastor.engine.bdev.ByteSize;
import io.panastor.engine.error.EngineException;
import io.panastor.engine.lvs.PoolInfo;
import io.panastor.engine.lvs.PoolSpec;
import io.panastor.engine.lvs.ReplicaInfo;
import java.util.Set;

/**
 * A throw-away pool and replica on a file, for benchmarks and {@code serve}: the TARGET
 * {@code replica:///PATH[?thin=true][&size=SIZE][&cluster_size=SIZE][&blk_size=B]} makes a
 * pool on PATH (writing over whatever it holds: a scratch disk) and one replica of
 * {@code size} (default: the whole pool), thick unless {@code thin=true}; the same TARGET
 * opened again finds that replica with what was written to it, unless {@code fresh=true}.
 * {@link #close} exports the pool. Control path.
 */
public final class ScratchReplica implements AutoCloseable {
    public static final String SCHEME = "replica";
    private static final Set<String> PARAMS = Set.of("thin", "size", "cluster_size", "blk_size", "fresh");

    private final Engine engine;
    private final String pool;
    private final ReplicaInfo replica;
    private final Bdev bdev;
    private boolean created = true;

    private ScratchReplica(Engine engine, String pool, ReplicaInfo replica, Bdev bdev) {
        this.engine = engine;
        this.pool = pool;
        this.replica = replica;
        this.bdev = bdev;
    }

    public static boolean is(String target) {
        return target.startsWith(SCHEME + ":");
    }

    /** Makes the pool and the replica that {@code target} describes; waits. */
    public static ScratchReplica open(Engine engine, String target) {
        BdevUri u = BdevUri.parse(target);
        u.requireOnly(PARAMS);
        String path = u.filePath();
        boolean thin = Boolean.parseBoolean(u.param("thin") == null ? "false" : u.param("thin"));
        long cluster = u.param("cluster_size") == null ? 0 : ByteSize.parse(u.param("cluster_size"));
        int blk = u.blockSize("blk_size", 4096);
        String disk = "uring://" + path + "?blk_size=" + blk;
        String name = "scratch-" + Integer.toHexString(path.hashCode());
        boolean fresh = Boolean.parseBoolean(u.param("fresh") == null ? "false" : u.param("fresh"));
        // What an earlier run left there is used again when it is the same replica, else it goes.
        try {
            PoolInfo old = Engine.await(engine.importPool(null, null, disk));
            ReplicaInfo was = engine.listReplicas().stream().filter(r -> r.pool().equals(old.name())).findFirst()
                    .orElse(null);
            long want = u.param("size") == null ? old.capacityBytes() : ByteSize.parse(u.param("size"));
            if (!fresh && old.name().equals(name) && old.replicas() == 1 && was != null && was.thin() == thin
                    && was.sizeBytes() == want && (cluster == 0 ? PoolSpec.DEFAULT_CLUSTER_SIZE : cluster)
                    == old.clusterSize()) {
                ScratchReplica again = new ScratchReplica(engine, name, was, engine.bdevs().get(was.bdevName()));
                again.created = false;
                return again;
            }
            Engine.await(engine.destroyPool(old.name(), true));
        } catch (EngineException e) {
            if (e.reason() != EngineException.Reason.NOT_FOUND) {
                throw e;
            }
        }
        PoolInfo p = Engine.await(engine.createPool(new PoolSpec(name, null, disk, cluster, true)));
        long size = u.param("size") == null ? p.capacityBytes() : ByteSize.parse(u.param("size"));
        ReplicaInfo r = Engine.await(engine.createReplica(name, "scratch", null, size, thin, null));
        return new ScratchReplica(engine, name, r, engine.bdevs().get(r.bdevName()));
    }

    public Bdev bdev() {
        return bdev;
    }

    public ReplicaInfo replica() {
        return replica;
    }

    /** Whether this replica is new (made by {@link #open}), not one an earlier run left. */
    public boolean created() {
        return created;
    }

    /** Exports the pool: the next {@link #open} of the same TARGET finds the replica as it was left. */
    @Override
    public void close() {
        Engine.await(engine.exportPool(pool));
    }
}
