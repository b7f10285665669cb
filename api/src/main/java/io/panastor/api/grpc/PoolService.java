package io.panastor.api.grpc;

import com.google.protobuf.Empty;
import com.google.protobuf.StringValue;
import io.grpc.stub.StreamObserver;
import io.panastor.api.v1.CreatePoolRequest;
import io.panastor.api.v1.DestroyPoolRequest;
import io.panastor.api.v1.ExportPoolRequest;
import io.panastor.api.v1.GrowPoolRequest;
import io.panastor.api.v1.GrowPoolResponse;
import io.panastor.api.v1.ImportPoolRequest;
import io.panastor.api.v1.ListPoolOptions;
import io.panastor.api.v1.ListPoolsResponse;
import io.panastor.api.v1.Pool;
import io.panastor.api.v1.PoolRpcGrpc;
import io.panastor.api.v1.PoolType;
import io.panastor.engine.Engine;
import io.panastor.engine.error.EngineException;
import io.panastor.engine.error.EngineException.Reason;
import io.panastor.engine.lvs.PoolInfo;
import io.panastor.engine.lvs.PoolSpec;
import io.panastor.engine.lvs.PoolState;
import io.panastor.engine.lvs.ReplicaInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * {@code mayastor.v1.PoolRpc}: pools (a volume store on one disk) through the Engine, each one
 * created or imported recorded in the {@link PoolCatalog} so a restart opens it again, and
 * its replicas' shares taken down at export and brought back at import.
 */
public final class PoolService extends PoolRpcGrpc.PoolRpcImplBase {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(PoolService.class);
    private final Engine engine;
    private final ReplicaShares shares;
    private final PoolCatalog catalog;

    public PoolService(Engine engine, ReplicaShares shares, PoolCatalog catalog) {
        this.engine = engine;
        this.shares = shares;
        this.catalog = catalog;
    }

    @Override
    public void createPool(CreatePoolRequest request, StreamObserver<Pool> out) {
        Replies.reply(out, () -> {
            String name = name(request.getName());
            String disk = disk(request.getDisksList());
            lvsOnly(request.getPooltype());
            UUID uuid = uuid(request.hasUuid() ? request.getUuid() : null);
            long cluster = request.hasClusterSize() ? Integer.toUnsignedLong(request.getClusterSize()) : 0;
            if (request.hasClusterSize() && cluster == 0) {
                throw GrpcErrors.invalid("cluster_size 0: leave it out for the default (4 MiB) or give a power of two "
                        + "of at least 1 MiB");
            }
            PoolSpec spec = new PoolSpec(name, uuid, disk, cluster, request.getOverwrite());
            // As Mayastor's create-or-import: a disk that holds this very pool is imported.
            return engine.createPool(spec).exceptionallyCompose(t -> {
                EngineException e = EngineException.of(t);
                if (e.reason() != Reason.ALREADY_EXISTS || engine.pool(name).isPresent()) {
                    return CompletableFuture.failedFuture(e);
                }
                return engine.importPool(name, uuid, disk).exceptionallyCompose(
                        ignored -> CompletableFuture.failedFuture(e));
            }).thenCompose(this::opened);
        }, this::toProto);
    }

    /**
     * Opens every pool the catalog lists, as at the last stop or crash, and shares their
     * replicas again; for the daemon to call before it answers anything. A pool that cannot be
     * opened (its disk gone, say) is logged and stays listed, for the next start or an ImportPool.
     *
     * @return how many pools were opened
     */
    public int restore() {
        int opened = 0;
        for (PoolCatalog.Entry e : catalog.entries()) {
            try {
                UUID uuid = e.uuid() == null ? null : UUID.fromString(e.uuid());
                PoolInfo p = Engine.await(engine.importPool(e.name(), uuid, e.disk()).thenCompose(this::opened));
                LOG.info("pool {} ({}) imported from {}: {} replica(s), {} of {} bytes used", p.name(), p.uuid(),
                        p.disk(), p.replicas(), p.usedBytes(), p.capacityBytes());
                opened++;
            } catch (RuntimeException failure) {
                LOG.error("pool {} on {} could not be imported: {} (it stays in {}; ImportPool retries)", e.name(),
                        e.disk(), EngineException.of(failure).getMessage(), PoolCatalog.FILE);
            }
        }
        return opened;
    }

    @Override
    public void importPool(ImportPoolRequest request, StreamObserver<Pool> out) {
        Replies.reply(out, () -> {
            String name = name(request.getName());
            String disk = disk(request.getDisksList());
            lvsOnly(request.getPooltype());
            UUID uuid = uuid(request.hasUuid() ? request.getUuid() : null);
            return engine.importPool(name, uuid, disk).thenCompose(this::opened);
        }, this::toProto);
    }

    /** A pool just created or imported: recorded in the catalog, its replicas shared as they were. */
    private CompletableFuture<PoolInfo> opened(PoolInfo p) {
        try {
            catalog.put(new PoolCatalog.Entry(p.name(), p.uuid().toString(), p.disk()));
        } catch (RuntimeException e) {
            // Not recorded, it would not come back after a restart: better not open at all.
            return engine.exportPool(p.name()).handle((v, t) -> {
                throw e;
            });
        }
        List<CompletableFuture<Void>> restored = new ArrayList<>();
        for (ReplicaInfo r : replicasOf(p)) {
            restored.add(shares.restore(r));
        }
        return CompletableFuture.allOf(restored.toArray(CompletableFuture[]::new))
                .thenApply(v -> engine.pool(p.name()).orElse(p));
    }

    @Override
    public void destroyPool(DestroyPoolRequest request, StreamObserver<Empty> out) {
        Replies.reply(out, () -> {
            PoolInfo p = find(request.getName(), request.hasUuid() ? request.getUuid() : null);
            // Without force the engine refuses a pool that has replicas, and one without has no shares.
            CompletableFuture<Void> ready = request.getForce() ? closeShares(p, "destroying")
                    : CompletableFuture.completedFuture(null);
            return ready.thenCompose(v -> engine.destroyPool(p.name(), request.getForce()))
                    .thenRun(() -> catalog.remove(p.name()));
        }, v -> Empty.getDefaultInstance());
    }

    @Override
    public void exportPool(ExportPoolRequest request, StreamObserver<Empty> out) {
        Replies.reply(out, () -> {
            PoolInfo p = find(request.getName(), request.hasUuid() ? request.getUuid() : null);
            // Shares are taken down but stay recorded on the disk: an import brings them back.
            return closeShares(p, "exporting").thenCompose(v -> engine.exportPool(p.name()))
                    .thenRun(() -> catalog.remove(p.name()));
        }, v -> Empty.getDefaultInstance());
    }

    /**
     * Takes down the shares of pool {@code p}'s replicas (keeping their records), after
     * refusing, before anything changes, when one is in use on this engine (a nexus child).
     */
    private CompletableFuture<Void> closeShares(PoolInfo p, String doing) {
        List<ReplicaInfo> replicas = replicasOf(p);
        for (ReplicaInfo r : replicas) {
            shares.requireUnclaimed(r, doing + " pool " + r.pool());
        }
        CompletableFuture<Void> unshared = CompletableFuture.completedFuture(null);
        for (ReplicaInfo r : replicas) {
            unshared = unshared.thenCompose(v -> shares.close(r));
        }
        return unshared;
    }

    @Override
    public void growPool(GrowPoolRequest request, StreamObserver<GrowPoolResponse> out) {
        Replies.reply(out, () -> {
            PoolInfo before = find(request.getName(), request.hasUuid() ? request.getUuid() : null);
            return engine.growPool(before.name()).thenApply(after -> GrowPoolResponse.newBuilder()
                    .setPreviousPool(toProto(before)).setCurrentPool(toProto(after)).build());
        }, r -> r);
    }

    @Override
    public void listPools(ListPoolOptions request, StreamObserver<ListPoolsResponse> out) {
        Replies.now(out, () -> {
            ListPoolsResponse.Builder r = ListPoolsResponse.newBuilder();
            if (request.hasPooltype() && request.getPooltype().getValue() != PoolType.Lvs) {
                return r.build();   // this engine has no other kind
            }
            for (PoolInfo p : engine.listPools()) {
                if ((request.hasName() && !request.getName().getValue().equals(p.name()))
                        || (request.hasUuid() && !request.getUuid().getValue().equalsIgnoreCase(p.uuid().toString()))) {
                    continue;
                }
                r.addPools(toProto(p));
            }
            return r.build();
        });
    }

    private List<ReplicaInfo> replicasOf(PoolInfo p) {
        List<ReplicaInfo> out = new ArrayList<>();
        for (ReplicaInfo r : engine.listReplicas()) {
            if (r.poolUuid().equals(p.uuid())) {
                out.add(r);
            }
        }
        return out;
    }

    /** Pool {@code name}, and when {@code uuid} is given, it must be that pool's. */
    private PoolInfo find(String name, StringValue uuid) {
        String n = name(name);
        PoolInfo p = engine.pool(n).orElseThrow(() -> GrpcErrors.notFound("no pool " + n
                + " on this engine: ListPools shows the pools there are"));
        if (uuid != null && !uuid.getValue().isEmpty() && !uuid.getValue().equalsIgnoreCase(p.uuid().toString())) {
            throw GrpcErrors.notFound("pool " + n + " has uuid " + p.uuid() + ", not " + uuid.getValue());
        }
        return p;
    }

    private static String name(String name) {
        if (name == null || name.isBlank()) {
            throw GrpcErrors.invalid("a pool name is required");
        }
        return name;
    }

    private static String disk(List<String> disks) {
        if (disks.isEmpty()) {
            throw GrpcErrors.invalid("disks: one disk is required (a path, or a bdev URI such as uring:///dev/sdb)");
        }
        if (disks.size() > 1) {
            throw GrpcErrors.invalid("disks: a pool lives on exactly one disk, got " + disks.size() + ": " + disks);
        }
        String d = disks.getFirst().trim();
        if (d.isEmpty()) {
            throw GrpcErrors.invalid("disks: the disk is empty");
        }
        return d;
    }

    private static void lvsOnly(PoolType type) {
        if (type != PoolType.Lvs) {
            throw GrpcErrors.invalid("pooltype " + type + ": this engine makes Lvs pools only");
        }
    }

    static UUID uuid(StringValue v) {
        if (v == null || v.getValue().isEmpty()) {
            return null;
        }
        return uuid(v.getValue());
    }

    /** {@code text} as a UUID in its usual 8-4-4-4-12 hex form, else INVALID_ARGUMENT. */
    static UUID uuid(String text) {
        try {
            UUID u = UUID.fromString(text);
            if (u.toString().equalsIgnoreCase(text)) {
                return u;
            }
        } catch (IllegalArgumentException e) {
            // said below
        }
        throw GrpcErrors.invalid("uuid '" + text + "' is not a UUID (8-4-4-4-12 hex digits)");
    }

    Pool toProto(PoolInfo p) {
        return Pool.newBuilder()
                .setUuid(p.uuid().toString())
                .setName(p.name())
                .addDisks(p.disk())
                .setState(p.state() == PoolState.ONLINE ? io.panastor.api.v1.PoolState.POOL_ONLINE
                        : io.panastor.api.v1.PoolState.POOL_FAULTED)
                .setCapacity(p.capacityBytes())
                .setUsed(p.usedBytes())
                .setPooltype(PoolType.Lvs)
                .setCommitted(p.committedBytes())
                .setClusterSize((int) p.clusterSize())
                .build();
    }
}
