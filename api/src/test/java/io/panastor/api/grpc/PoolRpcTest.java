package io.panastor.api.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.StringValue;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.panastor.api.v1.CreatePoolRequest;
import io.panastor.api.v1.CreateReplicaRequest;
import io.panastor.api.v1.DestroyPoolRequest;
import io.panastor.api.v1.ExportPoolRequest;
import io.panastor.api.v1.GrowPoolRequest;
import io.panastor.api.v1.GrowPoolResponse;
import io.panastor.api.v1.ImportPoolRequest;
import io.panastor.api.v1.ListPoolOptions;
import io.panastor.api.v1.Pool;
import io.panastor.api.v1.PoolRpcGrpc;
import io.panastor.api.v1.PoolState;
import io.panastor.api.v1.PoolType;
import io.panastor.api.v1.PoolTypeValue;
import io.panastor.api.v1.ReplicaRpcGrpc;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.zip.CRC32;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PoolRpc through a real gRPC server: each call's answer, what pools.json records, and every error's code. */
class PoolRpcTest {
    static final long MiB = 1L << 20;

    @TempDir
    Path dir;
    DaemonFixture f;
    PoolRpcGrpc.PoolRpcBlockingStub pools;

    @BeforeEach
    void start() {
        f = new DaemonFixture(dir.resolve("state"), false);
        pools = PoolRpcGrpc.newBlockingStub(f.channel);
    }

    @AfterEach
    void stop() throws InterruptedException {
        if (f != null) {
            f.close();
        }
    }

    static Path sparse(Path p, long bytes) throws IOException {
        try (RandomAccessFile file = new RandomAccessFile(p.toFile(), "rw")) {
            file.setLength(bytes);
        }
        return p;
    }

    static void assertCode(ThrowingCallable call, Status.Code code, String messagePart) {
        assertThatThrownBy(call).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).as(e.getStatus().toString()).isEqualTo(code);
            assertThat(e.getStatus().getDescription()).containsIgnoringCase(messagePart);
        });
    }

    static CreatePoolRequest.Builder create(String name, Path disk) {
        return CreatePoolRequest.newBuilder().setName(name).addDisks(disk.toString());
    }

    List<Pool> list() {
        return pools.listPools(ListPoolOptions.getDefaultInstance()).getPoolsList();
    }

    String catalog() throws IOException {
        Path p = dir.resolve("state").resolve(PoolCatalog.FILE);
        return Files.exists(p) ? Files.readString(p) : "";
    }

    static long crc(Path p) throws IOException {
        CRC32 c = new CRC32();
        c.update(Files.readAllBytes(p));
        return c.getValue();
    }

    @Test
    void createListGrowExportImportDestroy() throws IOException {
        Path disk = sparse(dir.resolve("d0.img"), 64 * MiB);
        String uuid = UUID.randomUUID().toString();
        Pool p = pools.createPool(create("p0", disk).setUuid(StringValue.of(uuid)).setClusterSize((int) MiB).build());
        assertThat(p.getName()).isEqualTo("p0");
        assertThat(p.getUuid()).isEqualTo(uuid);
        assertThat(p.getState()).isEqualTo(PoolState.POOL_ONLINE);
        assertThat(p.getClusterSize()).isEqualTo((int) MiB);
        assertThat(p.getCapacity()).isBetween(50 * MiB, 64 * MiB);
        assertThat(p.getUsed()).isZero();
        assertThat(p.getCommitted()).isZero();
        assertThat(p.getPooltype()).isEqualTo(PoolType.Lvs);
        assertThat(p.getDisksList()).hasSize(1);
        assertThat(list()).containsExactly(p);
        assertThat(catalog()).contains("\"p0\"").contains(uuid);

        // The identical request again is the same pool.
        assertThat(pools.createPool(create("p0", disk).setUuid(StringValue.of(uuid)).setClusterSize((int) MiB).build()))
                .isEqualTo(p);
        assertThat(pools.listPools(ListPoolOptions.newBuilder().setName(StringValue.of("p0")).build()).getPoolsList())
                .containsExactly(p);
        assertThat(pools.listPools(ListPoolOptions.newBuilder().setName(StringValue.of("nope")).build()).getPoolsCount())
                .isZero();
        assertThat(pools.listPools(ListPoolOptions.newBuilder().setPooltype(PoolTypeValue.newBuilder()
                .setValue(PoolType.Lvm)).build()).getPoolsCount()).isZero();

        // Grow: the disk got bigger, the pool takes the space.
        sparse(disk, 128 * MiB);
        GrowPoolResponse grown = pools.growPool(GrowPoolRequest.newBuilder().setName("p0").build());
        assertThat(grown.getPreviousPool().getCapacity()).isEqualTo(p.getCapacity());
        assertThat(grown.getCurrentPool().getCapacity()).isGreaterThanOrEqualTo(p.getCapacity() + 60 * MiB);

        pools.exportPool(ExportPoolRequest.newBuilder().setName("p0").build());
        assertThat(list()).isEmpty();
        assertThat(catalog()).doesNotContain("\"p0\"");
        // An exported pool's disk holds a pool: creating on it again with its name imports it.
        Pool again = pools.createPool(create("p0", disk).build());
        assertThat(again.getUuid()).isEqualTo(uuid);
        assertThat(again.getCapacity()).isEqualTo(grown.getCurrentPool().getCapacity());
        pools.exportPool(ExportPoolRequest.newBuilder().setName("p0").build());

        Pool imported = pools.importPool(ImportPoolRequest.newBuilder().setName("p0").addDisks(disk.toString())
                .setUuid(StringValue.of(uuid)).build());
        assertThat(imported.getUuid()).isEqualTo(uuid);
        assertThat(catalog()).contains("\"p0\"");
        pools.destroyPool(DestroyPoolRequest.newBuilder().setName("p0").build());
        assertThat(list()).isEmpty();
        assertThat(catalog()).doesNotContain("\"p0\"");
        // Destroyed: nothing to import any more.
        assertCode(() -> pools.importPool(ImportPoolRequest.newBuilder().setName("p0").addDisks(disk.toString()).build()),
                Status.Code.NOT_FOUND, "");
    }

    @Test
    void badRequestsGetTheirCodesAndChangeNothing() throws IOException {
        Path disk = sparse(dir.resolve("d0.img"), 64 * MiB);
        Path other = sparse(dir.resolve("d1.img"), 64 * MiB);
        Path tiny = sparse(dir.resolve("tiny.img"), MiB);
        Pool p = pools.createPool(create("p0", disk).build());
        String before = catalog();
        long otherCrc = crc(other);

        assertCode(() -> pools.createPool(CreatePoolRequest.newBuilder().setName("p1").build()),
                Status.Code.INVALID_ARGUMENT, "one disk");
        assertCode(() -> pools.createPool(create("p1", other).addDisks(tiny.toString()).build()),
                Status.Code.INVALID_ARGUMENT, "exactly one disk");
        assertCode(() -> pools.createPool(create("", other).build()), Status.Code.INVALID_ARGUMENT, "name");
        assertCode(() -> pools.createPool(create("p1", other).setPooltype(PoolType.Lvm).build()),
                Status.Code.INVALID_ARGUMENT, "Lvs");
        assertCode(() -> pools.createPool(create("p1", other).setUuid(StringValue.of("not-a-uuid")).build()),
                Status.Code.INVALID_ARGUMENT, "uuid");
        assertCode(() -> pools.createPool(create("p1", other).setClusterSize((int) (3 * MiB)).build()),
                Status.Code.INVALID_ARGUMENT, "cluster");
        assertCode(() -> pools.createPool(create("p1", other).setClusterSize(64 * 1024).build()),
                Status.Code.INVALID_ARGUMENT, "cluster");
        assertCode(() -> pools.createPool(create("p1", tiny).build()), Status.Code.INVALID_ARGUMENT, "");
        assertCode(() -> pools.createPool(create("p1", dir.resolve("missing.img")).build()), Status.Code.NOT_FOUND, "");
        assertCode(() -> pools.createPool(create("p0", other).build()), Status.Code.ALREADY_EXISTS, "p0");
        assertCode(() -> pools.createPool(create("p1", disk).build()), Status.Code.FAILED_PRECONDITION, "claimed by pool p0");
        assertCode(() -> pools.createPool(create("p1", other).setUuid(StringValue.of(p.getUuid())).build()),
                Status.Code.ALREADY_EXISTS, p.getUuid());

        assertCode(() -> pools.destroyPool(DestroyPoolRequest.newBuilder().setName("nope").build()),
                Status.Code.NOT_FOUND, "nope");
        assertCode(() -> pools.destroyPool(DestroyPoolRequest.newBuilder().setName("p0")
                .setUuid(StringValue.of(UUID.randomUUID().toString())).build()), Status.Code.NOT_FOUND, "uuid");
        assertCode(() -> pools.exportPool(ExportPoolRequest.newBuilder().setName("nope").build()),
                Status.Code.NOT_FOUND, "nope");
        assertCode(() -> pools.growPool(GrowPoolRequest.newBuilder().setName("nope").build()),
                Status.Code.NOT_FOUND, "nope");
        assertCode(() -> pools.importPool(ImportPoolRequest.newBuilder().setName("p1").addDisks(other.toString()).build()),
                Status.Code.NOT_FOUND, "");
        assertCode(() -> pools.importPool(ImportPoolRequest.newBuilder().setName("p1").build()),
                Status.Code.INVALID_ARGUMENT, "disk");

        assertThat(list()).containsExactly(p);
        assertThat(catalog()).isEqualTo(before);
        assertThat(crc(other)).as("a refused disk is left as it was").isEqualTo(otherCrc);
        // A disk that holds other data needs overwrite.
        try (RandomAccessFile file = new RandomAccessFile(other.toFile(), "rw")) {
            file.write("not a pool".getBytes());
        }
        long dirty = crc(other);
        assertCode(() -> pools.createPool(create("p1", other).build()), Status.Code.INVALID_ARGUMENT, "overwrite");
        assertThat(crc(other)).isEqualTo(dirty);
        assertThat(pools.createPool(create("p1", other).setOverwrite(true).build()).getName()).isEqualTo("p1");

        // Export of the pool elsewhere's name, then import under a wrong name or UUID.
        pools.exportPool(ExportPoolRequest.newBuilder().setName("p1").build());
        assertCode(() -> pools.importPool(ImportPoolRequest.newBuilder().setName("wrong").addDisks(other.toString())
                .build()), Status.Code.INVALID_ARGUMENT, "");
        assertCode(() -> pools.importPool(ImportPoolRequest.newBuilder().setName("p1").addDisks(other.toString())
                .setUuid(StringValue.of(UUID.randomUUID().toString())).build()), Status.Code.INVALID_ARGUMENT, "");
        assertThat(list()).containsExactly(p);
    }

    @Test
    void aPoolWithReplicasIsDestroyedOnlyWithForce() throws IOException {
        Path disk = sparse(dir.resolve("d0.img"), 64 * MiB);
        pools.createPool(create("p0", disk).build());
        ReplicaRpcGrpc.newBlockingStub(f.channel).createReplica(CreateReplicaRequest.newBuilder().setName("r0")
                .setUuid(UUID.randomUUID().toString()).setPooluuid("p0").setSize(8 * MiB).setThin(true).build());
        assertCode(() -> pools.destroyPool(DestroyPoolRequest.newBuilder().setName("p0").build()),
                Status.Code.FAILED_PRECONDITION, "replica");
        assertThat(list()).hasSize(1);
        pools.destroyPool(DestroyPoolRequest.newBuilder().setName("p0").setForce(true).build());
        assertThat(list()).isEmpty();
        assertThat(f.daemon.engine().listReplicas()).isEmpty();
    }

    @Test
    void poolsComeBackWhenTheEngineRestarts() throws Exception {
        Path d0 = sparse(dir.resolve("d0.img"), 64 * MiB);
        Path d1 = sparse(dir.resolve("d1.img"), 64 * MiB);
        Pool p0 = pools.createPool(create("p0", d0).build());
        Pool p1 = pools.createPool(create("p1", d1).setClusterSize((int) (2 * MiB)).build());
        f.close();
        f = new DaemonFixture(dir.resolve("state"), false);
        pools = PoolRpcGrpc.newBlockingStub(f.channel);
        assertThat(list()).containsExactlyInAnyOrder(p0, p1);

        // A pool whose disk is gone is logged and left in the catalog; the others open.
        f.close();
        Files.delete(d1);
        f = new DaemonFixture(dir.resolve("state"), false);
        pools = PoolRpcGrpc.newBlockingStub(f.channel);
        assertThat(list()).containsExactly(p0);
        assertThat(catalog()).contains("\"p1\"");
    }
}
