package io.panastor.engine.bdev;

import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.engine.bdev.BlockPattern.Verdict;
import io.panastor.engine.bdev.IoRunner.Op;
import io.panastor.engine.bdev.IoRunner.Result;
import io.panastor.natives.BlockFile;
import io.panastor.reactor.Reactor;
import io.panastor.reactor.Reactors;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every bdev kind, written with checksummed patterns from two reactors at once and read
 * back crosswise; unmap and write-zeroes read back as zeroes.
 */
class BdevDataTest {
    static Reactors reactors;
    @TempDir
    static Path dir;

    @BeforeAll
    static void start() {
        reactors = Reactors.start(2);
    }

    @AfterAll
    static void stop() {
        reactors.close();
    }

    static Stream<String> storingKinds() {
        return Stream.of(
                "malloc:///m512?size_mb=32",
                "malloc:///m4k?size_mb=32&blk_size=4096",
                "uring:///FILE",
                "uring:///FILE?blk_size=4096",
                "aio:///FILE",
                "/FILE");
    }

    /** Where one write went: its slot's extent and the generation written there. */
    record Extent(long lba, int blocks, long generation, MemorySegment data) {
    }

    @ParameterizedTest
    @MethodSource("storingKinds")
    void patternsWrittenFromTwoReactorsReadBackIntactFromTheOther(String template) throws Exception {
        Bdevs bdevs = new Bdevs();
        String uri = template.replace("/FILE", dir.resolve("disk-" + System.nanoTime()).toString());
        if (template.contains("FILE")) {
            BlockFile.createFile(Path.of(BdevUri.parse(uri).filePath()), 32L << 20);
        }
        Bdev bdev = bdevs.create(uri);
        int bs = bdev.blockSize();
        int slotBlocks = 32;
        long slots = bdev.blockCount() / slotBlocks;
        try (Arena arena = Arena.ofShared()) {
            // Phase 1: each reactor writes random extents into its own half, 16 in flight.
            List<List<Extent>> written = new ArrayList<>();
            List<CompletableFuture<List<Result>>> writes = new ArrayList<>();
            for (int r = 0; r < 2; r++) {
                Random rnd = new Random(1234 + r);
                List<Long> mySlots = new ArrayList<>();
                for (long s = r; s < slots; s += 2) {
                    mySlots.add(s);
                }
                Collections.shuffle(mySlots, rnd);
                List<Extent> extents = new ArrayList<>();
                List<Op> ops = new ArrayList<>();
                BlockPattern pattern = new BlockPattern();
                for (int i = 0; i < Math.min(150, mySlots.size()); i++) {
                    int blocks = 1 + rnd.nextInt(slotBlocks);
                    long lba = mySlots.get(i) * slotBlocks + rnd.nextInt(slotBlocks - blocks + 1);
                    MemorySegment data = arena.allocate((long) blocks * bs, 4096);
                    pattern.fill(data, 0, bs, lba, blocks, i + 1);
                    Extent e = new Extent(lba, blocks, i + 1, data);
                    extents.add(e);
                    boolean vectored = blocks >= 3 && rnd.nextBoolean();
                    ops.add((io, done) -> {
                        if (!vectored) {
                            return io.prepareWrite(e.lba, e.blocks, e.data, done);
                        }
                        long first = (long) bs * (e.blocks / 3);
                        long second = (long) bs * (e.blocks / 3);
                        io.prepareVectored(IoType.WRITE, e.lba, e.blocks, done);
                        io.addBuffer(e.data.asSlice(0, first));
                        io.addBuffer(e.data.asSlice(first, second));
                        return io.addBuffer(e.data.asSlice(first + second));
                    });
                }
                written.add(extents);
                writes.add(IoRunner.many(reactors.get(r), bdev, ops, 16));
            }
            for (CompletableFuture<List<Result>> w : writes) {
                assertThat(w.join()).allMatch(Result::ok);
            }
            // A flush from each reactor.
            for (Reactor r : reactors.all()) {
                assertThat(IoRunner.one(r, bdev, (io, done) -> io.prepareFlush(0, bdev.blockCount(), done)).ok())
                        .isTrue();
            }
            // Phase 2: each reactor reads what the other wrote, some reads scattered over buffers.
            for (int r = 0; r < 2; r++) {
                List<Extent> theirs = written.get(1 - r);
                List<MemorySegment> into = new ArrayList<>();
                List<Op> reads = new ArrayList<>();
                for (Extent e : theirs) {
                    MemorySegment buf = arena.allocate((long) e.blocks * bs, 4096);
                    into.add(buf);
                    if (e.blocks >= 2 && e.lba % 2 == 0) {
                        reads.add((io, done) -> io.prepareVectored(IoType.READ, e.lba, e.blocks, done)
                                .addBuffer(buf.asSlice(0, bs)).addBuffer(buf.asSlice(bs)));
                    } else {
                        reads.add((io, done) -> io.prepareRead(e.lba, e.blocks, buf, done));
                    }
                }
                assertThat(IoRunner.many(reactors.get(r), bdev, reads, 16).join()).allMatch(Result::ok);
                BlockPattern check = new BlockPattern();
                for (int i = 0; i < theirs.size(); i++) {
                    Extent e = theirs.get(i);
                    for (int b = 0; b < e.blocks; b++) {
                        assertThat(check.verify(into.get(i), (long) b * bs, bs, e.lba + b, e.generation))
                                .as("%s block %d", bdev.name(), e.lba + b).isEqualTo(Verdict.OK);
                    }
                }
            }
            // Phase 3: unmap the first extent of reactor 0, write-zeroes the first of reactor 1.
            Extent unmapped = written.get(0).getFirst();
            Extent zeroed = written.get(1).getFirst();
            assertThat(IoRunner.one(reactors.get(0), bdev,
                    (io, done) -> io.prepareUnmap(unmapped.lba, unmapped.blocks, done)).ok()).isTrue();
            assertThat(IoRunner.one(reactors.get(1), bdev,
                    (io, done) -> io.prepareWriteZeroes(zeroed.lba, zeroed.blocks, done)).ok()).isTrue();
            BlockPattern check = new BlockPattern();
            for (Extent e : List.of(unmapped, zeroed)) {
                MemorySegment buf = arena.allocate((long) e.blocks * bs, 4096);
                buf.fill((byte) 0x77);
                assertThat(IoRunner.one(reactors.get(0), bdev, (io, done) -> io.prepareRead(e.lba, e.blocks, buf, done))
                        .ok()).isTrue();
                for (int b = 0; b < e.blocks; b++) {
                    assertThat(check.verify(buf, (long) b * bs, bs, e.lba + b, e.generation)).isEqualTo(Verdict.ZERO);
                }
            }
            // The extent after the unmapped one is untouched.
            Extent neighbour = written.get(0).get(1);
            MemorySegment nb = arena.allocate((long) neighbour.blocks * bs, 4096);
            assertThat(IoRunner.one(reactors.get(1), bdev,
                    (io, done) -> io.prepareRead(neighbour.lba, neighbour.blocks, nb, done)).ok()).isTrue();
            assertThat(check.verify(nb, 0, bs, neighbour.lba, neighbour.generation)).isEqualTo(Verdict.OK);
        } finally {
            bdevs.destroyAll().join();
        }
    }

    @Test
    void nullBdevAcceptsEverythingAndReadsZeroes() {
        Bdevs bdevs = new Bdevs();
        Bdev bdev = bdevs.create("null:///n0?size_mb=16&blk_size=4096");
        assertThat(bdev.blockCount()).isEqualTo(4096);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(8192, 4096);
            new BlockPattern().fill(buf, 0, 4096, 10, 2, 1);
            assertThat(IoRunner.one(reactors.get(0), bdev, (io, done) -> io.prepareWrite(10, 2, buf, done)).ok()).isTrue();
            assertThat(IoRunner.one(reactors.get(1), bdev, (io, done) -> io.prepareRead(10, 2, buf, done)).ok()).isTrue();
            assertThat(new BlockPattern().verify(buf, 0, 4096, 10, 1)).isEqualTo(Verdict.ZERO);
            assertThat(new BlockPattern().verify(buf, 4096, 4096, 11, 1)).isEqualTo(Verdict.ZERO);
        } finally {
            bdevs.destroyAll().join();
        }
    }

    @Test
    void blockDeviceThroughALoopDeviceKeepsData() throws Exception {
        Path backing = dir.resolve("loop-backing.img");
        BlockFile.createFile(backing, 16L << 20);
        Process p = new ProcessBuilder("losetup", "--find", "--show", "--direct-io=on", backing.toString())
                .redirectErrorStream(true).start();
        String dev = new String(p.getInputStream().readAllBytes()).trim();
        org.junit.jupiter.api.Assumptions.assumeTrue(p.waitFor() == 0 && dev.startsWith("/dev/loop"),
                "loop devices are not available here (needs root): " + dev);
        Bdevs bdevs = new Bdevs();
        try (Arena arena = Arena.ofShared()) {
            Bdev bdev = bdevs.create("uring://" + dev);
            assertThat(bdev.name()).isEqualTo(dev);
            assertThat(bdev.sizeBytes()).isEqualTo(16L << 20);
            int bs = bdev.blockSize();
            MemorySegment out = arena.allocate(64L * bs, 4096);
            MemorySegment in = arena.allocate(64L * bs, 4096);
            new BlockPattern().fill(out, 0, bs, 1000, 64, 7);
            assertThat(IoRunner.one(reactors.get(0), bdev, (io, done) -> io.prepareWrite(1000, 64, out, done)).ok()).isTrue();
            assertThat(IoRunner.one(reactors.get(1), bdev, (io, done) -> io.prepareRead(1000, 64, in, done)).ok()).isTrue();
            for (int b = 0; b < 64; b++) {
                assertThat(new BlockPattern().verify(in, (long) b * bs, bs, 1000 + b, 7)).isEqualTo(Verdict.OK);
            }
        } finally {
            bdevs.destroyAll().join();
            new ProcessBuilder("losetup", "--detach", dev).start().waitFor();
        }
    }
}
