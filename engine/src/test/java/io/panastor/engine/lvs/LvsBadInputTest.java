package io.panastor.engine.lvs;

import static io.panastor.engine.Failures.failure;
import static io.panastor.engine.error.EngineException.Reason.ALREADY_EXISTS;
import static io.panastor.engine.error.EngineException.Reason.INVALID_ARGUMENT;
import static io.panastor.engine.error.EngineException.Reason.IO_ERROR;
import static io.panastor.engine.error.EngineException.Reason.NOT_FOUND;
import static io.panastor.engine.lvs.LvsTestSupport.MiB;
import static io.panastor.engine.lvs.LvsTestSupport.sha256;
import static io.panastor.engine.lvs.LvsTestSupport.uri;
import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.engine.Engine;
import io.panastor.engine.bdev.IoStatus;
import io.panastor.reactor.Reactors;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad requests and damaged disks get a typed error and change nothing: the other pools and
 * replicas still list and serve their data, and a refused disk's file is byte for byte what
 * it was.
 */
class LvsBadInputTest {
    @TempDir
    Path dir;
    Engine engine;
    Arena arena;
    Path diskA;
    PoolInfo a;
    ReplicaInfo ra;

    @BeforeEach
    void start() throws IOException {
        engine = Engine.start(Reactors.builder().count(1).pin(false));
        arena = Arena.ofShared();
        diskA = LvsTestSupport.sparse(dir.resolve("a.img"), 64 * MiB);
        a = engine.createPool(new PoolSpec("a", null, uri(diskA), MiB, false)).join();
        ra = engine.createReplica("a", "ra", null, 8 * MiB, true, null).join();
        assertThat(LvsTestSupport.write(engine, arena, "ra", 300, 4, 1000)).isEqualTo(IoStatus.SUCCESS);
        engine.flush("ra").join();
    }

    @AfterEach
    void stop() {
        engine.close();
        arena.close();
    }

    /** Pool a and its replica are as they were and serve their data. */
    private void aIsIntact() {
        assertThat(engine.listPools()).extracting(PoolInfo::name).contains("a");
        assertThat(engine.replica("ra").orElseThrow().allocatedBytes()).isEqualTo(MiB);
        MemorySegment got = LvsTestSupport.read(engine, arena, "ra", 300, 4);
        MemorySegment scratch = arena.allocate(LvsTestSupport.BS, LvsTestSupport.BS);
        for (int i = 0; i < 4; i++) {
            assertThat(LvsTestSupport.holds(got, i, 1000 + i, scratch)).isTrue();
        }
    }

    /** {@code op} on {@code file} fails with {@code reason}, the file unchanged and pool a intact. */
    private void refused(Path file, java.util.function.Supplier<CompletableFuture<?>> op,
                         io.panastor.engine.error.EngineException.Reason reason) throws IOException {
        String before = sha256(file);
        failure(op.get(), reason);
        assertThat(sha256(file)).as("the refused disk's content").isEqualTo(before);
        aIsIntact();
    }

    @Test
    void badPoolSpecsAndSmallDisksAreRefused() throws IOException {
        Path d = LvsTestSupport.sparse(dir.resolve("d.img"), 64 * MiB);
        for (long cs : new long[] {3 * MiB, 512 << 10, 1, 2L << 30, MiB + 4096, -MiB}) {
            refused(d, () -> engine.createPool(new PoolSpec("p", null, uri(d), cs, false)), INVALID_ARGUMENT);
        }
        Path tiny = LvsTestSupport.sparse(dir.resolve("tiny.img"), 4 * MiB);
        refused(tiny, () -> engine.createPool(new PoolSpec("p", null, uri(tiny), MiB, false)), INVALID_ARGUMENT);
        assertThat(engine.listPools()).extracting(PoolInfo::name).containsExactly("a");
    }

    @Test
    void duplicateNamesAndUuidsAreRefused() throws IOException {
        Path d = LvsTestSupport.sparse(dir.resolve("d.img"), 64 * MiB);
        refused(d, () -> engine.createPool(new PoolSpec("a", null, uri(d), MiB, false)), ALREADY_EXISTS);
        refused(d, () -> engine.createPool(new PoolSpec("c", a.uuid(), uri(d), MiB, false)), ALREADY_EXISTS);
        engine.createPool(new PoolSpec("b", null, uri(d), MiB, false)).join();
        failure(engine.createReplica("b", "ra", null, MiB, true, null), ALREADY_EXISTS);
        failure(engine.createReplica("b", "rb", ra.uuid(), MiB, true, null), ALREADY_EXISTS);
        failure(engine.createReplica("a", "ra", null, 16 * MiB, true, null), ALREADY_EXISTS);
        failure(engine.createReplica("a", "ra", ra.uuid(), 8 * MiB, false, null), ALREADY_EXISTS);
        assertThat(engine.pool("b").orElseThrow().replicas()).isZero();
        aIsIntact();
        // a pool exported here cannot come back under the name or uuid of one that is open
        engine.exportPool("b").join();
        Path d2 = LvsTestSupport.sparse(dir.resolve("d2.img"), 64 * MiB);
        engine.createPool(new PoolSpec("b", null, uri(d2), MiB, false)).join();
        refused(d, () -> engine.importPool(null, null, uri(d)), ALREADY_EXISTS);
    }

    @Test
    void unknownNamesAndUuidsAreNotFoundOrRefused() throws IOException {
        String nobody = UUID.randomUUID().toString();
        for (String key : new String[] {"nope", nobody, "a/nope"}) {
            failure(engine.destroyReplica(key), NOT_FOUND);
            failure(engine.resizeReplica(key, 16 * MiB), NOT_FOUND);
            failure(engine.createReplica(key, "rx", null, MiB, true, null), NOT_FOUND);
            failure(engine.destroyPool(key, true), NOT_FOUND);
            failure(engine.exportPool(key), NOT_FOUND);
            failure(engine.growPool(key), NOT_FOUND);
        }
        aIsIntact();
        Path d = LvsTestSupport.sparse(dir.resolve("d.img"), 64 * MiB);
        PoolInfo b = engine.createPool(new PoolSpec("b", null, uri(d), MiB, false)).join();
        engine.exportPool("b").join();
        refused(d, () -> engine.importPool("notb", null, uri(d)), INVALID_ARGUMENT);
        refused(d, () -> engine.importPool("b", UUID.randomUUID(), uri(d)), INVALID_ARGUMENT);
        Path blank = LvsTestSupport.sparse(dir.resolve("blank.img"), 64 * MiB);
        refused(blank, () -> engine.importPool(null, null, uri(blank)), NOT_FOUND);
        assertThat(engine.importPool("b", b.uuid(), uri(d)).join().uuid()).isEqualTo(b.uuid());
    }

    @Test
    void aReplicaDoesNotShrink() {
        failure(engine.resizeReplica("ra", 4 * MiB), INVALID_ARGUMENT);
        failure(engine.resizeReplica("ra", 8 * MiB - 4096), INVALID_ARGUMENT);
        assertThat(engine.replica("ra").orElseThrow().sizeBytes()).isEqualTo(8 * MiB);
        aIsIntact();
    }

    @Test
    void damagedSuperblocksAndCheckpointsAreRefusedAtImport() throws IOException {
        Path d = LvsTestSupport.sparse(dir.resolve("d.img"), 64 * MiB);
        engine.createPool(new PoolSpec("b", null, uri(d), MiB, false)).join();
        engine.createReplica("b", "rb", null, 4 * MiB, false, null).join();
        engine.exportPool("b").join();
        // one superblock copy damaged: the other serves
        flip(d, 200);
        engine.importPool("b", null, uri(d)).join();
        engine.exportPool("b").join();
        // both damaged: IO_ERROR, naming each copy's fault
        flip(d, 4096 + 200);
        refused(d, () -> engine.importPool("b", null, uri(d)), IO_ERROR);
        flip(d, 200);
        flip(d, 4096 + 200);

        // the checkpoint the last import wrote, damaged, while the log holds changes made after it
        engine.importPool("b", null, uri(d)).join();
        engine.createReplica("b", "rb2", null, 2 * MiB, true, null).join();
        engine.exportPool("b").join();
        Layout l = Layout.plan(MiB, LvsTestSupport.BS, 64 * MiB);
        long newest = newestSlot(d, l);
        flip(d, newest + 40);
        refused(d, () -> engine.importPool("b", null, uri(d)), IO_ERROR);
        // and both slots: no intact checkpoint
        flip(d, (newest == l.slotA() ? l.slotB() : l.slotA()) + 40);
        refused(d, () -> engine.importPool("b", null, uri(d)), IO_ERROR);
        assertThat(engine.listPools()).extracting(PoolInfo::name).containsExactly("a");
    }

    @Test
    void aLogPageDamagedBeforeLaterBatchesIsRefusedAtImport() throws IOException {
        Path d = LvsTestSupport.sparse(dir.resolve("d.img"), 64 * MiB);
        engine.createPool(new PoolSpec("b", null, uri(d), MiB, false)).join();
        engine.exportPool("b").join();
        engine.importPool("b", null, uri(d)).join();     // the log of a fresh epoch starts at page 0
        for (int i = 0; i < 3; i++) {
            engine.createReplica("b", "rb" + i, null, 2 * MiB, true, null).join();   // one batch (one page) each
        }
        engine.exportPool("b").join();
        Layout l = Layout.plan(MiB, LvsTestSupport.BS, 64 * MiB);
        flip(d, l.logStart() + 100);
        // Replay cannot pass page 0, and the batches after it are intact: acknowledged changes would be lost.
        refused(d, () -> engine.importPool("b", null, uri(d)), IO_ERROR);
        flip(d, l.logStart() + 100);
        engine.importPool("b", null, uri(d)).join();
        assertThat(engine.listReplicas()).extracting(ReplicaInfo::name).contains("rb0", "rb1", "rb2");
    }

    /** The slot whose checkpoint has the higher epoch (u64 at byte 16 of its header). */
    private static long newestSlot(Path d, Layout l) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(d.toFile(), "r")) {
            return Long.compareUnsigned(epochAt(f, l.slotA()), epochAt(f, l.slotB())) >= 0 ? l.slotA() : l.slotB();
        }
    }

    private static long epochAt(RandomAccessFile f, long slot) throws IOException {
        f.seek(slot + 16);
        return Long.reverseBytes(f.readLong());
    }

    private static void flip(Path d, long at) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(d.toFile(), "rw")) {
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ 0x5a);
        }
    }
}
