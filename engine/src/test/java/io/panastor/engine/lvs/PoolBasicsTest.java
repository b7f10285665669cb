package io.panastor.engine.lvs;

import static io.panastor.engine.Failures.failure;
import static io.panastor.engine.error.EngineException.Reason.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.engine.Engine;
import io.panastor.engine.bdev.IoStatus;
import io.panastor.reactor.Reactors;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pools and replicas through the Engine: create, write, read back, export, import, trim, grow, destroy. */
class PoolBasicsTest {
    static final long MiB = 1L << 20;

    @TempDir
    Path dir;
    Engine engine;
    Arena arena;

    @BeforeEach
    void start() {
        engine = Engine.start(Reactors.builder().count(1).pin(false));
        arena = Arena.ofShared();
    }

    @AfterEach
    void stop() {
        engine.close();
        arena.close();
    }

    static Path sparse(Path p, long bytes) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(bytes);
        }
        return p;
    }

    MemorySegment pattern(long seed, int blocks) {
        MemorySegment s = arena.allocate((long) blocks * 4096, 4096);
        long x = seed * 0x9E3779B97F4A7C15L + 1;
        for (long i = 0; i < s.byteSize(); i += 8) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            s.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, i, x);
        }
        return s;
    }

    void write(String bdev, long lba, int blocks, long seed) {
        assertThat(engine.write(bdev, lba, blocks, pattern(seed, blocks)).join().status()).isEqualTo(IoStatus.SUCCESS);
    }

    boolean matches(String bdev, long lba, int blocks, long seed) {
        MemorySegment got = arena.allocate((long) blocks * 4096, 4096);
        assertThat(engine.read(bdev, lba, blocks, got).join().status()).isEqualTo(IoStatus.SUCCESS);
        return got.mismatch(pattern(seed, blocks)) == -1;
    }

    boolean zero(String bdev, long lba, int blocks) {
        MemorySegment got = arena.allocate((long) blocks * 4096, 4096);
        assertThat(engine.read(bdev, lba, blocks, got).join().status()).isEqualTo(IoStatus.SUCCESS);
        return got.mismatch(arena.allocate((long) blocks * 4096, 4096)) == -1;
    }

    @Test
    void replicasKeepTheirDataAcrossExportAndImport() throws IOException {
        Path disk = sparse(dir.resolve("disk.img"), 256 * MiB);
        String uri = "uring://" + disk + "?blk_size=4096";
        PoolInfo p = engine.createPool(new PoolSpec("p0", null, uri, MiB, false)).join();
        assertThat(p.clusterSize()).isEqualTo(MiB);
        assertThat(p.usedBytes()).isZero();
        ReplicaInfo thick = engine.createReplica("p0", "thick", null, 16 * MiB, false, "vol-1").join();
        ReplicaInfo thin = engine.createReplica("p0", "thin", null, 64 * MiB, true, null).join();
        assertThat(thick.allocatedBytes()).isEqualTo(16 * MiB);
        assertThat(thin.allocatedBytes()).isZero();
        assertThat(engine.pool("p0").orElseThrow().usedBytes()).isEqualTo(16 * MiB);
        assertThat(engine.pool("p0").orElseThrow().committedBytes()).isEqualTo(80 * MiB);

        write("thick", 0, 8, 1);
        write("thick", 255, 2, 2);           // crosses from cluster 0 into cluster 1
        write("thin", 1000, 4, 3);           // allocates one cluster
        write("thin", 256 * 5 - 1, 2, 4);    // crosses clusters 4 and 5: allocates both
        assertThat(zero("thin", 0, 8)).isTrue();
        assertThat(engine.replica("thin").orElseThrow().allocatedBytes()).isEqualTo(3 * MiB);
        engine.flush("thin").join();

        engine.exportPool("p0").join();
        assertThat(engine.listPools()).isEmpty();
        assertThat(engine.listReplicas()).isEmpty();
        PoolInfo back = engine.importPool("p0", p.uuid(), uri).join();
        assertThat(back.usedBytes()).isEqualTo(19 * MiB);
        assertThat(engine.listReplicas()).extracting(ReplicaInfo::name).containsExactly("thick", "thin");
        assertThat(matches("thick", 0, 8, 1)).isTrue();
        assertThat(matches("thick", 255, 2, 2)).isTrue();
        assertThat(matches("thin", 1000, 4, 3)).isTrue();
        assertThat(matches("thin", 256 * 5 - 1, 2, 4)).isTrue();
        assertThat(zero("thin", 256 * 10, 16)).isTrue();
        // by uuid too, and the entity id came back
        assertThat(engine.replica(thick.uuid().toString()).orElseThrow().entityId()).isEqualTo("vol-1");
        assertThat(engine.bdevs().get(thick.uuid().toString()).name()).isEqualTo(thick.uuid().toString());
    }

    @Test
    void trimmingWholeClustersOfAThinReplicaGivesThemBack() throws IOException {
        Path disk = sparse(dir.resolve("disk.img"), 128 * MiB);
        engine.createPool(new PoolSpec("p1", null, "uring://" + disk + "?blk_size=4096", MiB, false)).join();
        engine.createReplica("p1", "t", null, 32 * MiB, true, null).join();
        for (int c = 0; c < 8; c++) {
            write("t", c * 256L + 7, 1, 10 + c);
        }
        assertThat(engine.replica("t").orElseThrow().allocatedBytes()).isEqualTo(8 * MiB);
        // unmap clusters 2..5 whole and part of cluster 6
        MemorySegment none = MemorySegment.NULL;
        assertThat(unmap("t", 2 * 256, 4 * 256 + 10)).isEqualTo(IoStatus.SUCCESS);
        assertThat(engine.replica("t").orElseThrow().allocatedBytes()).isEqualTo(4 * MiB);
        assertThat(engine.pool("p1").orElseThrow().usedBytes()).isEqualTo(4 * MiB);
        assertThat(zero("t", 2 * 256, 4 * 256)).isTrue();
        assertThat(matches("t", 7, 1, 10)).isTrue();
        assertThat(matches("t", 6 * 256 + 7, 1, 16)).isFalse();   // zeroed by the partial trim
        assertThat(zero("t", 6 * 256, 10)).isTrue();
        assertThat(matches("t", 7 * 256 + 7, 1, 17)).isTrue();
        assertThat(none).isNotNull();
    }

    int unmap(String bdev, long lba, long blocks) {
        return LvsTestSupport.unmap(engine, bdev, lba, blocks);
    }

    @Test
    void aFullThinPoolFailsWritesWithNoSpaceAndGrowGivesRoom() throws IOException {
        Path disk = sparse(dir.resolve("disk.img"), 16 * MiB);
        String uri = "uring://" + disk + "?blk_size=4096";
        PoolInfo p = engine.createPool(new PoolSpec("small", null, uri, MiB, false)).join();
        long clusters = p.clusters();
        engine.createReplica("small", "big", null, 64 * MiB, true, null).join();
        for (int c = 0; c < clusters; c++) {
            write("big", c * 256L, 1, c);
        }
        MemorySegment buf = pattern(99, 1);
        assertThat(engine.write("big", clusters * 256L, 1, buf).join().status()).isEqualTo(IoStatus.NO_SPACE);
        failure(engine.createReplica("small", "thick", null, 4 * MiB, false, null), NO_SPACE);

        sparse(disk, 32 * MiB);
        PoolInfo grown = engine.growPool("small").join();
        assertThat(grown.clusters()).isEqualTo(clusters + 16);
        assertThat(engine.write("big", clusters * 256L, 1, buf).join().status()).isEqualTo(IoStatus.SUCCESS);
        engine.exportPool("small").join();
        assertThat(engine.importPool(null, null, uri).join().clusters()).isEqualTo(clusters + 16);
        assertThat(matches("big", clusters * 256L, 1, 99)).isTrue();
    }

    @Test
    void badRequestsGetTypedErrorsAndChangeNothing() throws IOException {
        Path disk = sparse(dir.resolve("disk.img"), 64 * MiB);
        failure(engine.createPool(new PoolSpec("p", null, disk.toString(), 3 * MiB, false)), INVALID_ARGUMENT);
        failure(engine.createPool(new PoolSpec("p", null, disk.toString(), 512 << 10, false)), INVALID_ARGUMENT);
        failure(engine.createPool(new PoolSpec("p", null, sparse(dir.resolve("tiny"), 4 * MiB).toString(), MiB, false)),
                INVALID_ARGUMENT);
        failure(engine.createPool(new PoolSpec("a/b", null, disk.toString(), MiB, false)), INVALID_ARGUMENT);
        assertThat(engine.listPools()).isEmpty();
        assertThat(engine.listBdevs()).isEmpty();
        PoolInfo p = engine.createPool(new PoolSpec("p", null, disk.toString(), MiB, false)).join();
        // identical create is the same pool; another name on the same disk is refused
        assertThat(engine.createPool(new PoolSpec("p", null, disk.toString(), 0, false)).join().uuid()).isEqualTo(p.uuid());
        failure(engine.createPool(new PoolSpec("q", null, disk.toString(), MiB, false)), BUSY);
        ReplicaInfo r = engine.createReplica("p", "r", null, 4 * MiB, false, null).join();
        assertThat(engine.createReplica("p", "r", r.uuid(), 4 * MiB, false, null).join()).isEqualTo(r);
        assertThat(engine.createReplica("p", "r", null, 4 * MiB, false, null).join().uuid()).isEqualTo(r.uuid());
        failure(engine.createReplica("p", "r", null, 8 * MiB, false, null), ALREADY_EXISTS);
        failure(engine.createReplica("p", "r2", r.uuid(), 4 * MiB, false, null), ALREADY_EXISTS);
        failure(engine.createReplica("nope", "r3", null, 4 * MiB, false, null), NOT_FOUND);
        failure(engine.createReplica("p", "r3", null, 0, false, null), INVALID_ARGUMENT);
        failure(engine.resizeReplica("r", 2 * MiB), INVALID_ARGUMENT);
        failure(engine.destroyReplica(UUID.randomUUID().toString()), NOT_FOUND);
        failure(engine.destroyBdev(r.uuid().toString()), BUSY);
        failure(engine.destroyPool("p", false), BUSY);
        failure(engine.importPool("other", null, sparse(dir.resolve("blank"), 64 * MiB).toString()), NOT_FOUND);
        failure(engine.importPool("p", null, sparse(dir.resolve("blank2"), 64 * MiB).toString()), ALREADY_EXISTS);
        assertThat(engine.resizeReplica("r", 8 * MiB).join().allocatedBytes()).isEqualTo(8 * MiB);
        assertThat(engine.setReplicaProperties("r", Map.of("share", "nvmf")).join().properties())
                .containsEntry("share", "nvmf");
        engine.destroyReplica("r").join();
        assertThat(engine.pool("p").orElseThrow().usedBytes()).isZero();
        engine.destroyPool("p", false).join();
        assertThat(engine.listBdevs()).isEmpty();
        // the superblock is gone: nothing to import, and the disk takes a new pool
        failure(engine.importPool(null, null, disk.toString()), NOT_FOUND);
        engine.createPool(new PoolSpec("p2", null, disk.toString(), MiB, false)).join();
    }

    @Test
    void aDiskWithDataIsRefusedUnlessOverwritten() throws IOException {
        Path disk = sparse(dir.resolve("disk.img"), 64 * MiB);
        Files.write(disk, new byte[] {0x58, 0x46, 0x53, 0x42}, java.nio.file.StandardOpenOption.WRITE);
        failure(engine.createPool(new PoolSpec("p", null, disk.toString(), MiB, false)), INVALID_ARGUMENT);
        assertThat(engine.listBdevs()).isEmpty();
        engine.createPool(new PoolSpec("p", null, disk.toString(), MiB, true)).join();
        engine.exportPool("p").join();
        failure(engine.createPool(new PoolSpec("p", null, disk.toString(), MiB, true)), ALREADY_EXISTS);
        assertThat(engine.importPool("p", null, disk.toString()).join().name()).isEqualTo("p");
    }
}
