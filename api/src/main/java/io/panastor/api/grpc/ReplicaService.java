package io.panastor.api.grpc;

import com.google.protobuf.Empty;
import io.grpc.stub.StreamObserver;
import io.panastor.api.v1.CreateReplicaRequest;
import io.panastor.api.v1.DestroyReplicaRequest;
import io.panastor.api.v1.ListReplicaOptions;
import io.panastor.api.v1.ListReplicasResponse;
import io.panastor.api.v1.Replica;
import io.panastor.api.v1.ReplicaRpcGrpc;
import io.panastor.api.v1.ReplicaSpaceUsage;
import io.panastor.api.v1.ResizeReplicaRequest;
import io.panastor.api.v1.ShareProtocol;
import io.panastor.api.v1.ShareReplicaRequest;
import io.panastor.api.v1.UnshareReplicaRequest;
import io.panastor.engine.Engine;
import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.lvs.PoolInfo;
import io.panastor.engine.lvs.ReplicaInfo;
import io.panastor.engine.nvmf.tgt.Subsystem;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * {@code mayastor.v1.ReplicaRpc}: replicas in this engine's pools, each a bdev named by its
 * UUID, shared over NVMe/TCP as {@code nqn.2019-05.io.openebs:<uuid>} ({@link ReplicaShares}).
 * Where a request names a replica by {@code uuid}, its name is taken too.
 */
public final class ReplicaService extends ReplicaRpcGrpc.ReplicaRpcImplBase {
    private final Engine engine;
    private final ReplicaShares shares;

    public ReplicaService(Engine engine, ReplicaShares shares) {
        this.engine = engine;
        this.shares = shares;
    }

    @Override
    public void createReplica(CreateReplicaRequest request, StreamObserver<Replica> out) {
        Replies.reply(out, () -> {
            if (request.getUuid().isBlank()) {
                throw GrpcErrors.invalid("uuid is required: the replica's UUID (its bdev's name and NQN)");
            }
            UUID uuid = PoolService.uuid(request.getUuid());
            String name = request.getName().isBlank() ? uuid.toString() : request.getName();
            if (request.getPooluuid().isBlank()) {
                throw GrpcErrors.invalid("pooluuid is required: the pool's name or UUID");
            }
            if (request.getSize() <= 0) {
                throw GrpcErrors.invalid("size is required: the replica's size in bytes, above zero");
            }
            shareProtocol(request.getShare());
            for (String h : request.getAllowedHostsList()) {
                Shares.checkNqn(h);
            }
            String entity = request.hasEntityId() && !request.getEntityId().isEmpty() ? request.getEntityId() : null;
            CompletableFuture<ReplicaInfo> made = engine.createReplica(request.getPooluuid(), name, uuid,
                    request.getSize(), request.getThin(), entity);
            if (request.getShare() != ShareProtocol.NVMF) {
                return made;
            }
            return made.thenCompose(r -> shares.share(r, request.getAllowedHostsList()));
        }, this::toProto);
    }

    @Override
    public void destroyReplica(DestroyReplicaRequest request, StreamObserver<Empty> out) {
        Replies.reply(out, () -> {
            ReplicaInfo r = find(request.getUuid());
            switch (request.getPoolCase()) {
                case POOL_NAME -> {
                    if (!r.pool().equals(request.getPoolName())) {
                        throw GrpcErrors.notFound("replica " + r.name() + " is in pool " + r.pool() + ", not "
                                + request.getPoolName());
                    }
                }
                case POOL_UUID -> {
                    if (!r.poolUuid().toString().equalsIgnoreCase(request.getPoolUuid())) {
                        throw GrpcErrors.notFound("replica " + r.name() + " is in pool " + r.poolUuid() + ", not "
                                + request.getPoolUuid());
                    }
                }
                case POOL_NOT_SET -> { }
            }
            shares.requireUnclaimed(r, "destroying replica " + r.name());
            return shares.close(r).thenCompose(v -> engine.destroyReplica(r.uuid().toString()));
        }, v -> Empty.getDefaultInstance());
    }

    @Override
    public void listReplicas(ListReplicaOptions request, StreamObserver<ListReplicasResponse> out) {
        Replies.now(out, () -> {
            ListReplicasResponse.Builder b = ListReplicasResponse.newBuilder();
            for (ReplicaInfo r : engine.listReplicas()) {
                if ((request.hasName() && !request.getName().getValue().equals(r.name()))
                        || (request.hasUuid() && !request.getUuid().getValue().equalsIgnoreCase(r.uuid().toString()))
                        || (request.hasPoolname() && !request.getPoolname().getValue().equals(r.pool()))
                        || (request.hasPooluuid()
                        && !request.getPooluuid().getValue().equalsIgnoreCase(r.poolUuid().toString()))) {
                    continue;
                }
                b.addReplicas(toProto(r));
            }
            return b.build();
        });
    }

    @Override
    public void shareReplica(ShareReplicaRequest request, StreamObserver<Replica> out) {
        Replies.reply(out, () -> {
            ReplicaInfo r = find(request.getUuid());
            shareProtocol(request.getShare());
            if (request.getShare() == ShareProtocol.NONE) {
                return shares.unshare(r);   // as Mayastor: sharing with NONE stops sharing
            }
            return shares.share(r, request.getAllowedHostsList());   // a claimed replica is refused there
        }, this::toProto);
    }

    @Override
    public void unshareReplica(UnshareReplicaRequest request, StreamObserver<Replica> out) {
        Replies.reply(out, () -> shares.unshare(find(request.getUuid())), this::toProto);
    }

    @Override
    public void resizeReplica(ResizeReplicaRequest request, StreamObserver<Replica> out) {
        Replies.reply(out, () -> {
            ReplicaInfo r = find(request.getUuid());
            if (request.getRequestedSize() <= 0) {
                throw GrpcErrors.invalid("requested_size is required: the new size in bytes");
            }
            return engine.resizeReplica(r.uuid().toString(), request.getRequestedSize());
        }, this::toProto);
    }

    private ReplicaInfo find(String key) {
        if (key == null || key.isBlank()) {
            throw GrpcErrors.invalid("uuid is required: the replica's UUID (or name)");
        }
        return engine.replica(key).orElseThrow(() -> GrpcErrors.notFound("no replica " + key
                + " on this engine: ListReplicas shows the replicas there are"));
    }

    private static void shareProtocol(ShareProtocol p) {
        if (p != ShareProtocol.NONE && p != ShareProtocol.NVMF) {
            throw GrpcErrors.invalid("share " + p + ": replicas are shared over NVMF (NVMe/TCP) only");
        }
    }

    Replica toProto(ReplicaInfo info) {
        // The replica as it is now (a share or resize may have changed it since the call began).
        ReplicaInfo r = engine.replica(info.uuid().toString()).orElse(info);
        long cluster = engine.pool(r.pool()).map(PoolInfo::clusterSize).orElse(0L);
        Optional<Bdev> bdev = engine.bdevs().lookup(r.bdevName());
        Optional<String> uri = bdev.flatMap(shares.shares()::uri);
        Replica.Builder b = Replica.newBuilder()
                .setName(r.name())
                .setUuid(r.uuid().toString())
                .setPooluuid(r.poolUuid().toString())
                .setPoolname(r.pool())
                .setSize(r.sizeBytes())
                .setThin(r.thin())
                .setShare(uri.isPresent() ? ShareProtocol.NVMF : ShareProtocol.NONE)
                .setUri(uri.orElse("bdev:///" + r.uuid()) + "?uuid=" + r.uuid())
                .setEntityId(r.entityId() == null ? "" : r.entityId())
                .setUsage(ReplicaSpaceUsage.newBuilder()
                        .setCapacityBytes(r.sizeBytes())
                        .setAllocatedBytes(r.allocatedBytes())
                        .setClusterSize(cluster)
                        .setNumClusters(cluster == 0 ? 0 : (r.sizeBytes() + cluster - 1) / cluster)
                        .setNumAllocatedClusters(cluster == 0 ? 0 : r.allocatedBytes() / cluster));
        if (uri.isPresent()) {
            for (Subsystem s : engine.target().subsystems()) {
                if (s.nqn().equals(Shares.nqn(r.bdevName()))) {
                    b.addAllAllowedHosts(List.copyOf(s.hosts()));
                }
            }
        }
        return b.build();
    }
}
