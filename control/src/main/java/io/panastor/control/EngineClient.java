package io.panastor.control;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.panastor.api.v1.AddChildNexusRequest;
import io.panastor.api.v1.CreateNexusRequest;
import io.panastor.api.v1.CreatePoolRequest;
import io.panastor.api.v1.CreateReplicaRequest;
import io.panastor.api.v1.DestroyNexusRequest;
import io.panastor.api.v1.DestroyPoolRequest;
import io.panastor.api.v1.DestroyReplicaRequest;
import io.panastor.api.v1.ListNexusOptions;
import io.panastor.api.v1.ListPoolOptions;
import io.panastor.api.v1.ListReplicaOptions;
import io.panastor.api.v1.Nexus;
import io.panastor.api.v1.NexusRpcGrpc;
import io.panastor.api.v1.Pool;
import io.panastor.api.v1.PoolRpcGrpc;
import io.panastor.api.v1.PublishNexusRequest;
import io.panastor.api.v1.RemoveChildNexusRequest;
import io.panastor.api.v1.Replica;
import io.panastor.api.v1.ReplicaRpcGrpc;
import io.panastor.api.v1.ResizeNexusRequest;
import io.panastor.api.v1.ResizeReplicaRequest;
import io.panastor.api.v1.ShareProtocol;
import io.panastor.api.v1.ShareReplicaRequest;
import io.panastor.api.v1.UnshareReplicaRequest;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * One engine's gRPC API as the control plane uses it: each call with a deadline, each failure a
 * {@link ControlException} naming the node, an unreachable engine UNAVAILABLE. Destroying what
 * is not there succeeds, so every step can be retried.
 *
 * <p>A listing's deadline is the node timeout, a change's {@link #CALL_SECONDS} ({@link
 * #NEXUS_SECONDS} for a nexus). The reconcile loop is one thread and lists every online node on
 * each pass; a node cut off by the network leaves its TCP connection silent, not closed, so a
 * listing sent in the node timeout before it is seen offline would wait out the whole deadline
 * and hold every volume's healing — the republish of the volumes that node served first of
 * all — for 30 s, whatever the node timeout says. A node silent for as long as the node timeout
 * is as good as offline for that pass; the next pass asks again.
 */
public final class EngineClient implements AutoCloseable {
    static final long CALL_SECONDS = 30;
    static final long NEXUS_SECONDS = 60;

    private final String node;
    private final String endpoint;
    private final long listMillis;
    private final ManagedChannel channel;
    private final PoolRpcGrpc.PoolRpcBlockingStub pools;
    private final ReplicaRpcGrpc.ReplicaRpcBlockingStub replicas;
    private final NexusRpcGrpc.NexusRpcBlockingStub nexuses;

    /** @param listTimeout the deadline of a listing: the node timeout */
    EngineClient(String node, String endpoint, java.time.Duration listTimeout) {
        this.node = node;
        this.endpoint = endpoint;
        this.listMillis = Math.max(1, listTimeout.toMillis());
        int colon = endpoint.lastIndexOf(':');
        String host = endpoint.substring(0, colon).replaceAll("^\\[|]$", "");
        this.channel = NettyChannelBuilder.forAddress(host, Integer.parseInt(endpoint.substring(colon + 1)))
                .usePlaintext().build();
        this.pools = PoolRpcGrpc.newBlockingStub(channel);
        this.replicas = ReplicaRpcGrpc.newBlockingStub(channel);
        this.nexuses = NexusRpcGrpc.newBlockingStub(channel);
    }

    String endpoint() {
        return endpoint;
    }

    private <T> T call(String what, Supplier<T> c) {
        try {
            return c.get();
        } catch (StatusRuntimeException e) {
            Status.Code code = e.getStatus().getCode();
            boolean transport = code == Status.Code.UNAVAILABLE || code == Status.Code.DEADLINE_EXCEEDED;
            throw new ControlException(transport ? Status.Code.UNAVAILABLE : code, "node " + node + " (" + endpoint + "): "
                    + what + ": " + (transport ? "no answer (" + code + ")" : e.getStatus().getDescription()), e);
        }
    }

    private PoolRpcGrpc.PoolRpcBlockingStub pools() {
        return pools.withDeadlineAfter(CALL_SECONDS, TimeUnit.SECONDS);
    }

    private ReplicaRpcGrpc.ReplicaRpcBlockingStub replicas() {
        return replicas.withDeadlineAfter(CALL_SECONDS, TimeUnit.SECONDS);
    }

    private NexusRpcGrpc.NexusRpcBlockingStub nexuses() {
        return nexuses.withDeadlineAfter(NEXUS_SECONDS, TimeUnit.SECONDS);
    }

    private <S extends io.grpc.stub.AbstractStub<S>> S listing(S stub) {
        return stub.withDeadlineAfter(listMillis, TimeUnit.MILLISECONDS);
    }

    /** Creates the pool, or imports it when its disk holds it (the engine's create-or-import). */
    Pool createPool(String name, List<String> disks) {
        return call("creating pool " + name, () -> pools().createPool(CreatePoolRequest.newBuilder().setName(name)
                .addAllDisks(disks).build()));
    }

    void destroyPool(String name) {
        try {
            call("destroying pool " + name, () -> pools().destroyPool(DestroyPoolRequest.newBuilder().setName(name).build()));
        } catch (ControlException e) {
            if (e.code() != Status.Code.NOT_FOUND) {
                throw e;
            }
        }
    }

    List<Pool> listPools() {
        return call("listing pools", () -> listing(pools).listPools(ListPoolOptions.getDefaultInstance()).getPoolsList());
    }

    Replica createReplica(String uuid, String name, String pool, long size, boolean thin, String entity) {
        return call("creating replica " + uuid + " in pool " + pool, () -> replicas().createReplica(
                CreateReplicaRequest.newBuilder().setUuid(uuid).setName(name).setPooluuid(pool).setSize(size)
                        .setThin(thin).setEntityId(entity).build()));
    }

    void destroyReplica(String uuid) {
        try {
            call("destroying replica " + uuid, () -> replicas().destroyReplica(DestroyReplicaRequest.newBuilder()
                    .setUuid(uuid).build()));
        } catch (ControlException e) {
            if (e.code() != Status.Code.NOT_FOUND) {
                throw e;
            }
        }
    }

    List<Replica> listReplicas() {
        return call("listing replicas", () -> listing(replicas).listReplicas(ListReplicaOptions.getDefaultInstance())
                .getReplicasList());
    }

    /** Shares the replica over NVMe/TCP to {@code hosts} alone (sharing again replaces the list); its URI. */
    String shareReplica(String uuid, List<String> hosts) {
        return call("sharing replica " + uuid, () -> replicas().shareReplica(ShareReplicaRequest.newBuilder().setUuid(uuid)
                .setShare(ShareProtocol.NVMF).addAllAllowedHosts(hosts).build())).getUri();
    }

    void unshareReplica(String uuid) {
        try {
            call("unsharing replica " + uuid, () -> replicas().unshareReplica(UnshareReplicaRequest.newBuilder()
                    .setUuid(uuid).build()));
        } catch (ControlException e) {
            if (e.code() != Status.Code.NOT_FOUND) {
                throw e;
            }
        }
    }

    Replica resizeReplica(String uuid, long size) {
        return call("resizing replica " + uuid, () -> replicas().resizeReplica(ResizeReplicaRequest.newBuilder()
                .setUuid(uuid).setRequestedSize(size).build()));
    }

    Nexus createNexus(String uuid, long size, List<String> children, String infoKey) {
        return call("creating nexus " + uuid, () -> nexuses().createNexus(CreateNexusRequest.newBuilder().setName(uuid)
                .setUuid(uuid).setSize(size).addAllChildren(children).setNexusInfoKey(infoKey).build())).getNexus();
    }

    Nexus publishNexus(String uuid, List<String> hosts) {
        return call("publishing nexus " + uuid, () -> nexuses().publishNexus(PublishNexusRequest.newBuilder()
                .setUuid(uuid).setShare(ShareProtocol.NVMF).addAllAllowedHosts(hosts).build())).getNexus();
    }

    void destroyNexus(String uuid) {
        try {
            call("destroying nexus " + uuid, () -> nexuses().destroyNexus(DestroyNexusRequest.newBuilder()
                    .setUuid(uuid).build()));
        } catch (ControlException e) {
            if (e.code() != Status.Code.NOT_FOUND) {
                throw e;
            }
        }
    }

    Nexus resizeNexus(String uuid, long size) {
        return call("resizing nexus " + uuid, () -> nexuses().resizeNexus(ResizeNexusRequest.newBuilder().setUuid(uuid)
                .setRequestedSize(size).build())).getNexus();
    }

    Nexus addChild(String uuid, String uri) {
        return call("adding child " + uri + " to nexus " + uuid, () -> nexuses().addChildNexus(
                AddChildNexusRequest.newBuilder().setUuid(uuid).setUri(uri).build())).getNexus();
    }

    Nexus removeChild(String uuid, String uri) {
        return call("removing child " + uri + " from nexus " + uuid, () -> nexuses().removeChildNexus(
                RemoveChildNexusRequest.newBuilder().setUuid(uuid).setUri(uri).build())).getNexus();
    }

    /** Brings a child that left the IO path back (it is rebuilt: only what it missed, when the nexus kept a log). */
    Nexus childOnline(String uuid, String uri) {
        return call("bringing child " + uri + " of nexus " + uuid + " online", () -> nexuses().childOperation(
                io.panastor.api.v1.ChildOperationRequest.newBuilder().setNexusUuid(uuid).setUri(uri)
                        .setAction(io.panastor.api.v1.ChildAction.Online).build())).getNexus();
    }

    List<Nexus> listNexuses() {
        return call("listing nexuses", () -> listing(nexuses).listNexus(ListNexusOptions.getDefaultInstance()).getNexusListList());
    }

    /** The nexus of that UUID, if the engine has it (ListNexus filtered by uuid). */
    Optional<Nexus> nexus(String uuid) {
        return call("listing nexus " + uuid, () -> listing(nexuses).listNexus(ListNexusOptions.newBuilder()
                .setUuid(com.google.protobuf.StringValue.of(uuid)).build()).getNexusListList()).stream()
                .filter(n -> n.getUuid().equals(uuid)).findFirst();
    }

    @Override
    public void close() {
        channel.shutdownNow();
    }
}
