package io.panastor.api.grpc;

import static io.panastor.api.grpc.PoolRpcTest.assertCode;
import static io.panastor.api.grpc.PoolRpcTest.sparse;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.StringValue;
import io.grpc.Status;
import io.panastor.api.v1.BdevRpcGrpc;
import io.panastor.api.v1.CreateBdevRequest;
import io.panastor.api.v1.CreatePoolRequest;
import io.panastor.api.v1.CreateReplicaRequest;
import io.panastor.api.v1.DestroyBdevRequest;
import io.panastor.api.v1.DestroyReplicaRequest;
import io.panastor.api.v1.ExportPoolRequest;
import io.panastor.api.v1.ImportPoolRequest;
import io.panastor.api.v1.IoStats;
import io.panastor.api.v1.ListStatsOption;
import io.panastor.api.v1.StatsRpcGrpc;
import io.panastor.api.v1.ListReplicaOptions;
import io.panastor.api.v1.PoolRpcGrpc;
import io.panastor.api.v1.Replica;
import io.panastor.api.v1.ReplicaRpcGrpc;
import io.panastor.api.v1.ResizeReplicaRequest;
import io.panastor.api.v1.ShareProtocol;
import io.panastor.api.v1.ShareReplicaRequest;
import io.panastor.api.v1.UnshareReplicaRequest;
import io.panastor.engine.Engine;
import io.panastor.engine.bdev.BdevClaim;
import io.panastor.engine.bdev.BlockPattern;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ReplicaRpc through a real gRPC server: create, list, share (data through it), resize, destroy, restart; every error's code. */
class ReplicaRpcTest {
    static final long MiB = 1L << 20;
    static final String HOST = "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-0000000000bb";

    @TempDir
    Path dir;
    DaemonFixture f;
    PoolRpcGrpc.PoolRpcBlockingStub pools;
    ReplicaRpcGrpc.ReplicaRpcBlockingStub replicas;
    Path disk;
    final Arena arena = Arena.ofShared();

    @BeforeEach
    void start() throws Exception {
        open();
        disk = sparse(dir.resolve("d0.img"), 64 * MiB);
        pools.createPool(CreatePoolRequest.newBuilder().setName("p0").addDisks("uring://" + disk + "?blk_size=4096")
                .setClusterSize((int) MiB).build());
    }

    void open() {
        f = new DaemonFixture(dir.resolve("state"), false);
        pools = PoolRpcGrpc.newBlockingStub(f.channel);
        replicas = ReplicaRpcGrpc.newBlockingStub(f.channel);
    }

    @AfterEach
    void stop() throws InterruptedException {
        f.close();
        arena.close();
    }

    static CreateReplicaRequest.Builder replica(String name, String uuid, long size) {
        return CreateReplicaRequest.newBuilder().setName(name).setUuid(uuid).setPooluuid("p0").setSize(size);
    }

    List<Replica> list() {
        return replicas.listReplicas(ListReplicaOptions.getDefaultInstance()).getReplicasList();
    }

    @Test
    void createListResizeDestroy() {
        String u0 = UUID.randomUUID().toString();
        String u1 = UUID.randomUUID().toString();
        Replica thin = replicas.createReplica(replica("r0", u0, 10 * MiB).setThin(true).setEntityId("vol-1").build());
        assertThat(thin.getName()).isEqualTo("r0");
        assertThat(thin.getUuid()).isEqualTo(u0);
        assertThat(thin.getPoolname()).isEqualTo("p0");
        assertThat(thin.getThin()).isTrue();
        assertThat(thin.getSize()).isEqualTo(10 * MiB);
        assertThat(thin.getShare()).isEqualTo(ShareProtocol.NONE);
        assertThat(thin.getUri()).isEqualTo("bdev:///" + u0 + "?uuid=" + u0);
        assertThat(thin.getEntityId()).isEqualTo("vol-1");
        assertThat(thin.getUsage().getAllocatedBytes()).isZero();
        assertThat(thin.getUsage().getClusterSize()).isEqualTo(MiB);
        assertThat(thin.getUsage().getNumClusters()).isEqualTo(10);
        Replica thick = replicas.createReplica(replica("r1", u1, 4 * MiB).build());
        assertThat(thick.getUsage().getAllocatedBytes()).isEqualTo(4 * MiB);
        assertThat(thick.getUsage().getNumAllocatedClusters()).isEqualTo(4);
        assertThat(thick.getPooluuid()).isEqualTo(thin.getPooluuid());

        // Idempotent for the identical replica; by pool UUID as well as name.
        assertThat(replicas.createReplica(replica("r0", u0, 10 * MiB).setThin(true).setEntityId("vol-1").build()))
                .isEqualTo(thin);
        assertThat(list()).containsExactly(thin, thick);
        assertThat(replicas.listReplicas(ListReplicaOptions.newBuilder().setName(StringValue.of("r1")).build())
                .getReplicasList()).containsExactly(thick);
        assertThat(replicas.listReplicas(ListReplicaOptions.newBuilder().setUuid(StringValue.of(u0)).build())
                .getReplicasList()).containsExactly(thin);
        assertThat(replicas.listReplicas(ListReplicaOptions.newBuilder().setPoolname(StringValue.of("other")).build())
                .getReplicasCount()).isZero();
        assertThat(replicas.listReplicas(ListReplicaOptions.newBuilder()
                .setPooluuid(StringValue.of(thin.getPooluuid())).build()).getReplicasCount()).isEqualTo(2);
        assertThat(pools.listPools(io.panastor.api.v1.ListPoolOptions.getDefaultInstance()).getPools(0).getCommitted())
                .isEqualTo(14 * MiB);

        Replica grown = replicas.resizeReplica(ResizeReplicaRequest.newBuilder().setUuid("r0")
                .setRequestedSize(20 * MiB).build());
        assertThat(grown.getSize()).isEqualTo(20 * MiB);
        assertCode(() -> replicas.resizeReplica(ResizeReplicaRequest.newBuilder().setUuid(u0)
                .setRequestedSize(5 * MiB).build()), Status.Code.INVALID_ARGUMENT, "");
        assertThat(replicas.listReplicas(ListReplicaOptions.newBuilder().setUuid(StringValue.of(u0)).build())
                .getReplicas(0).getSize()).isEqualTo(20 * MiB);

        assertCode(() -> replicas.destroyReplica(DestroyReplicaRequest.newBuilder().setUuid(u1).setPoolName("other")
                .build()), Status.Code.NOT_FOUND, "pool");
        replicas.destroyReplica(DestroyReplicaRequest.newBuilder().setUuid(u1).setPoolUuid(thick.getPooluuid()).build());
        replicas.destroyReplica(DestroyReplicaRequest.newBuilder().setUuid("r0").build());
        assertThat(list()).isEmpty();
        assertThat(pools.listPools(io.panastor.api.v1.ListPoolOptions.getDefaultInstance()).getPools(0).getUsed())
                .isZero();
    }

    @Test
    void badRequestsGetTheirCodesAndChangeNothing() {
        String u0 = UUID.randomUUID().toString();
        Replica r0 = replicas.createReplica(replica("r0", u0, 8 * MiB).setThin(true).build());
        String u = UUID.randomUUID().toString();
        assertCode(() -> replicas.createReplica(replica("r1", "", MiB).build()), Status.Code.INVALID_ARGUMENT, "uuid");
        assertCode(() -> replicas.createReplica(replica("r1", "xyz", MiB).build()), Status.Code.INVALID_ARGUMENT, "uuid");
        assertCode(() -> replicas.createReplica(replica("r1", u, 0).build()), Status.Code.INVALID_ARGUMENT, "size");
        assertCode(() -> replicas.createReplica(replica("r1", u, MiB).setPooluuid("").build()),
                Status.Code.INVALID_ARGUMENT, "pool");
        assertCode(() -> replicas.createReplica(replica("r1", u, MiB).setPooluuid("nope").build()),
                Status.Code.NOT_FOUND, "nope");
        assertCode(() -> replicas.createReplica(replica("r1", u, MiB).setShare(ShareProtocol.ISCSI).build()),
                Status.Code.INVALID_ARGUMENT, "NVMF");
        assertCode(() -> replicas.createReplica(replica("r1", u, MiB).setShare(ShareProtocol.NVMF)
                .addAllowedHosts("host-a").build()), Status.Code.INVALID_ARGUMENT, "NQN");
        // A different replica under a name or UUID in use.
        assertCode(() -> replicas.createReplica(replica("r0", u0, 16 * MiB).setThin(true).build()),
                Status.Code.ALREADY_EXISTS, "r0");
        assertCode(() -> replicas.createReplica(replica("r1", u0, 8 * MiB).setThin(true).build()),
                Status.Code.ALREADY_EXISTS, "");
        assertCode(() -> replicas.createReplica(replica("r0", u, 8 * MiB).setThin(true).build()),
                Status.Code.ALREADY_EXISTS, "r0");
        // A thick replica larger than the pool's free space.
        assertCode(() -> replicas.createReplica(replica("big", u, 1024 * MiB).build()),
                Status.Code.RESOURCE_EXHAUSTED, "");

        assertCode(() -> replicas.destroyReplica(DestroyReplicaRequest.newBuilder().setUuid(u).build()),
                Status.Code.NOT_FOUND, u);
        assertCode(() -> replicas.destroyReplica(DestroyReplicaRequest.getDefaultInstance()),
                Status.Code.INVALID_ARGUMENT, "uuid");
        assertCode(() -> replicas.shareReplica(ShareReplicaRequest.newBuilder().setUuid(u)
                .setShare(ShareProtocol.NVMF).build()), Status.Code.NOT_FOUND, u);
        assertCode(() -> replicas.shareReplica(ShareReplicaRequest.newBuilder().setUuid(u0)
                .setShare(ShareProtocol.ISCSI).build()), Status.Code.INVALID_ARGUMENT, "NVMF");
        assertCode(() -> replicas.unshareReplica(UnshareReplicaRequest.newBuilder().setUuid(u).build()),
                Status.Code.NOT_FOUND, u);
        assertCode(() -> replicas.resizeReplica(ResizeReplicaRequest.newBuilder().setUuid(u).setRequestedSize(MiB)
                .build()), Status.Code.NOT_FOUND, u);
        assertCode(() -> replicas.resizeReplica(ResizeReplicaRequest.newBuilder().setUuid(u0).build()),
                Status.Code.INVALID_ARGUMENT, "size");

        // In use by something on this engine (a nexus, later): neither shared nor destroyed.
        Engine e = f.daemon.engine();
        BdevClaim claim = e.bdevs().claim(u0, "test-nexus");
        try {
            assertCode(() -> replicas.shareReplica(ShareReplicaRequest.newBuilder().setUuid(u0)
                    .setShare(ShareProtocol.NVMF).build()), Status.Code.FAILED_PRECONDITION, "test-nexus");
            assertCode(() -> replicas.destroyReplica(DestroyReplicaRequest.newBuilder().setUuid(u0).build()),
                    Status.Code.FAILED_PRECONDITION, "test-nexus");
            assertCode(() -> pools.exportPool(ExportPoolRequest.newBuilder().setName("p0").build()),
                    Status.Code.FAILED_PRECONDITION, "test-nexus");
        } finally {
            claim.close();
        }
        assertThat(list()).containsExactly(r0);
    }

    @Test
    void aSharedReplicaCarriesDataAndItsShareComesBackAfterARestart() throws Exception {
        String u0 = UUID.randomUUID().toString();
        Replica r = replicas.createReplica(replica("r0", u0, 8 * MiB).setThin(true).setShare(ShareProtocol.NVMF)
                .addAllowedHosts(HOST).build());
        int port = f.daemon.replicaAddress().getPort();
        String uri = "nvmf://127.0.0.1:" + port + "/nqn.2019-05.io.openebs:" + u0;
        assertThat(r.getShare()).isEqualTo(ShareProtocol.NVMF);
        assertThat(r.getUri()).isEqualTo(uri + "?uuid=" + u0);
        assertThat(r.getAllowedHostsList()).containsExactly(HOST);

        writeThroughShare(uri, 0, 7);
        assertThat(replicas.listReplicas(ListReplicaOptions.getDefaultInstance()).getReplicas(0).getUsage()
                .getAllocatedBytes()).isEqualTo(MiB);
        // Its IO counted under its name; the pool's disk counted under the pool's.
        StatsRpcGrpc.StatsRpcBlockingStub stats = StatsRpcGrpc.newBlockingStub(f.channel);
        IoStats rs = stats.getReplicaIoStats(ListStatsOption.newBuilder().setName("r0").build()).getStats(0);
        assertThat(rs.getName()).isEqualTo("r0");
        assertThat(rs.getUuid()).isEqualTo(u0);
        assertThat(rs.getNumWriteOps()).as("one write, maybe split at the transfer limit").isBetween(1L, 4L);
        assertThat(rs.getBytesWritten()).isEqualTo(64 * 4096L);
        IoStats ps = stats.getPoolIoStats(ListStatsOption.newBuilder().setName("p0").build()).getStats(0);
        assertThat(ps.getName()).isEqualTo("p0");
        assertThat(ps.getBytesWritten()).as("the data and the metadata").isGreaterThan(64 * 4096L);
        assertCode(() -> stats.getReplicaIoStats(ListStatsOption.newBuilder().setName("nope").build()),
                Status.Code.NOT_FOUND, "nope");

        // A restart (the engine stopped, its listener on another port) shares it again, same hosts.
        f.close();
        open();
        port = f.daemon.replicaAddress().getPort();
        uri = "nvmf://127.0.0.1:" + port + "/nqn.2019-05.io.openebs:" + u0;
        Replica back = list().getFirst();
        assertThat(back.getUri()).isEqualTo(uri + "?uuid=" + u0);
        assertThat(back.getAllowedHostsList()).containsExactly(HOST);
        assertThat(readThroughShare(uri, 0, 7)).as("data written before the restart").isTrue();

        // Export takes the share down; import brings it back.
        pools.exportPool(ExportPoolRequest.newBuilder().setName("p0").build());
        assertThat(f.daemon.engine().target().subsystems()).extracting(s -> s.nqn())
                .doesNotContain("nqn.2019-05.io.openebs:" + u0);
        pools.importPool(ImportPoolRequest.newBuilder().setName("p0").addDisks("uring://" + disk + "?blk_size=4096")
                .build());
        assertThat(list().getFirst().getShare()).isEqualTo(ShareProtocol.NVMF);

        // Unshare is recorded: after a restart it stays unshared.
        Replica un = replicas.unshareReplica(UnshareReplicaRequest.newBuilder().setUuid("r0").build());
        assertThat(un.getShare()).isEqualTo(ShareProtocol.NONE);
        assertThat(un.getAllowedHostsList()).isEmpty();
        f.close();
        open();
        assertThat(list().getFirst().getShare()).isEqualTo(ShareProtocol.NONE);
        // Share again (any host), then destroy unshares it first.
        Replica any = replicas.shareReplica(ShareReplicaRequest.newBuilder().setUuid(u0).setShare(ShareProtocol.NVMF)
                .build());
        assertThat(any.getAllowedHostsList()).isEmpty();
        replicas.destroyReplica(DestroyReplicaRequest.newBuilder().setUuid(u0).build());
        assertThat(f.daemon.engine().target().subsystems()).extracting(s -> s.nqn())
                .doesNotContain("nqn.2019-05.io.openebs:" + u0);
    }

    private void writeThroughShare(String uri, long lba, long seed) {
        throughShare(uri, (e, remote) -> {
            MemorySegment out = pattern(lba, seed);
            assertThat(Engine.await(e.write(remote, lba, 64, out)).ok()).isTrue();
            assertThat(Engine.await(e.flush(remote)).ok()).isTrue();
            return true;
        });
    }

    private boolean readThroughShare(String uri, long lba, long seed) {
        return throughShare(uri, (e, remote) -> {
            MemorySegment got = arena.allocate(64 * 4096L, 4096);
            assertThat(Engine.await(e.read(remote, lba, 64, got)).ok()).isTrue();
            return got.mismatch(pattern(lba, seed)) == -1;
        });
    }

    private MemorySegment pattern(long lba, long seed) {
        MemorySegment s = arena.allocate(64 * 4096L, 4096);
        new BlockPattern().fill(s, 0, 4096, lba, 64, seed);
        return s;
    }

    /** Runs {@code io} against the share at {@code uri}, attached as a bdev of the engine's own initiator. */
    private boolean throughShare(String uri, java.util.function.BiFunction<Engine, String, Boolean> io) {
        BdevRpcGrpc.BdevRpcBlockingStub bdevs = BdevRpcGrpc.newBlockingStub(f.channel);
        String remote = bdevs.create(CreateBdevRequest.newBuilder().setUri(uri + "?hostnqn=" + HOST).build())
                .getBdev().getName();
        try {
            return io.apply(f.daemon.engine(), remote);
        } finally {
            bdevs.destroy(DestroyBdevRequest.newBuilder().setUri(remote).build());
        }
    }
}
