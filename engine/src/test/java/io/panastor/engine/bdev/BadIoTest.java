package io.panastor.engine.bdev;

import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.engine.bdev.BlockPattern.Verdict;
import io.panastor.engine.bdev.IoRunner.Result;
import io.panastor.natives.BlockFile;
import io.panastor.reactor.Reactor;
import io.panastor.reactor.Reactors;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** IO that is out of range or has the wrong buffers is refused with its status and changes no data. */
class BadIoTest {
    static Reactors reactors;
    @TempDir
    static Path dir;

    @BeforeAll
    static void start() {
        reactors = Reactors.start(1);
    }

    @AfterAll
    static void stop() {
        reactors.close();
    }

    static Stream<String> kinds() {
        return Stream.of("malloc:///bad?size_mb=4", "uring:///FILE");
    }

    @ParameterizedTest
    @MethodSource("kinds")
    void refusedIoReturnsItsStatusAndLeavesDataAlone(String template) {
        Path file = dir.resolve("bad-" + System.nanoTime());
        BlockFile.createFile(file, 4L << 20);
        Bdevs bdevs = new Bdevs();
        Bdev bdev = bdevs.create(template.replace("/FILE", file.toString()));
        Reactor r = reactors.get(0);
        int bs = bdev.blockSize();
        long last = bdev.blockCount() - 1;
        BlockPattern pattern = new BlockPattern();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment first = arena.allocate(8L * bs, 4096);
            MemorySegment end = arena.allocate(bs, 4096);
            pattern.fill(first, 0, bs, 0, 8, 1);
            pattern.fill(end, 0, bs, last, 1, 1);
            assertThat(IoRunner.one(r, bdev, (io, d) -> io.prepareWrite(0, 8, first, d)).ok()).isTrue();
            assertThat(IoRunner.one(r, bdev, (io, d) -> io.prepareWrite(last, 1, end, d)).ok()).isTrue();

            MemorySegment junk = arena.allocate(16L * bs, 4096);
            junk.fill((byte) 0xEE);
            MemorySegment readOnly = arena.allocate(bs, 4096).asReadOnly();
            assertThat(status(r, bdev, (io, d) -> io.prepareWrite(last, 2, junk.asSlice(0, 2L * bs), d)))
                    .as("write across the end").isEqualTo(IoStatus.OUT_OF_RANGE);
            assertThat(status(r, bdev, (io, d) -> io.prepareRead(last, 2, junk.asSlice(0, 2L * bs), d)))
                    .as("read across the end").isEqualTo(IoStatus.OUT_OF_RANGE);
            assertThat(status(r, bdev, (io, d) -> io.prepareWrite(last + 1, 1, junk.asSlice(0, bs), d)))
                    .as("write past the end").isEqualTo(IoStatus.OUT_OF_RANGE);
            assertThat(status(r, bdev, (io, d) -> io.prepareWrite(-1, 1, junk.asSlice(0, bs), d)))
                    .as("negative block").isEqualTo(IoStatus.OUT_OF_RANGE);
            assertThat(status(r, bdev, (io, d) -> io.prepareWrite(0, 0, junk.asSlice(0, 0), d)))
                    .as("no blocks").isEqualTo(IoStatus.OUT_OF_RANGE);
            assertThat(status(r, bdev, (io, d) -> io.prepareUnmap(last, 5, d)))
                    .as("unmap across the end").isEqualTo(IoStatus.OUT_OF_RANGE);
            assertThat(status(r, bdev, (io, d) -> io.prepareWriteZeroes(Long.MAX_VALUE, 2, d)))
                    .as("offset overflow").isEqualTo(IoStatus.OUT_OF_RANGE);
            assertThat(status(r, bdev, (io, d) -> io.prepareWrite(0, 4, junk.asSlice(0, 3L * bs), d)))
                    .as("buffer shorter than the blocks").isEqualTo(IoStatus.BAD_BUFFER);
            assertThat(status(r, bdev, (io, d) -> io.prepareWrite(0, 1, junk.asSlice(0, 2L * bs), d)))
                    .as("buffer longer than the blocks").isEqualTo(IoStatus.BAD_BUFFER);
            assertThat(status(r, bdev, (io, d) -> io.prepareVectored(IoType.WRITE, 0, 1, d)))
                    .as("no buffer").isEqualTo(IoStatus.BAD_BUFFER);
            assertThat(status(r, bdev, (io, d) -> io.prepareRead(0, 1, readOnly, d)))
                    .as("read into read-only memory").isEqualTo(IoStatus.BAD_BUFFER);
            if (bdev.bufferAlignment() > 1) {
                MemorySegment skewed = arena.allocate(2L * bs, 4096).asSlice(8, bs);
                assertThat(status(r, bdev, (io, d) -> io.prepareWrite(0, 1, skewed, d)))
                        .as("buffer not aligned for O_DIRECT").isEqualTo(IoStatus.BAD_BUFFER);
            }

            MemorySegment check = arena.allocate(8L * bs, 4096);
            assertThat(IoRunner.one(r, bdev, (io, d) -> io.prepareRead(0, 8, check, d)).ok()).isTrue();
            for (int b = 0; b < 8; b++) {
                assertThat(pattern.verify(check, (long) b * bs, bs, b, 1)).isEqualTo(Verdict.OK);
            }
            assertThat(IoRunner.one(r, bdev, (io, d) -> io.prepareRead(last, 1, check.asSlice(0, bs), d)).ok()).isTrue();
            assertThat(pattern.verify(check, 0, bs, last, 1)).isEqualTo(Verdict.OK);
        } finally {
            bdevs.destroyAll().join();
        }
    }

    @Test
    void deviceErrorsCompleteWithIoErrorAndErrno() throws Exception {
        Path file = dir.resolve("shrinks");
        BlockFile.createFile(file, 4L << 20);
        Bdevs bdevs = new Bdevs();
        Bdev bdev = bdevs.create("uring://" + file);
        // The file shrinks under the bdev: reads past the new end come back short.
        try (java.io.RandomAccessFile raf = new java.io.RandomAccessFile(file.toFile(), "rw");
             Arena arena = Arena.ofShared()) {
            raf.setLength(1L << 20);
            MemorySegment buf = arena.allocate(4096, 4096);
            Result res = IoRunner.one(reactors.get(0), bdev, (io, d) -> io.prepareRead(4096, 8, buf, d));
            assertThat(res.status()).isEqualTo(IoStatus.IO_ERROR);
            assertThat(res.errno()).isEqualTo(io.panastor.natives.Errno.EIO);
        } finally {
            bdevs.destroyAll().join();
        }
    }

    @Test
    void destroyWaitsForInflightIoAndLaterIoIsAborted() {
        Path file = dir.resolve("destroy");
        BlockFile.createFile(file, 8L << 20);
        Bdevs bdevs = new Bdevs();
        Bdev bdev = bdevs.create("uring://" + file);
        Reactor r = reactors.get(0);
        try (Arena arena = Arena.ofShared()) {
            List<IoRunner.Op> ops = new ArrayList<>();
            for (int i = 0; i < 256; i++) {
                MemorySegment buf = arena.allocate(4096, 4096);
                long lba = i * 8L;
                ops.add((io, d) -> io.prepareWrite(lba, 8, buf, d));
            }
            CompletableFuture<List<Result>> writes = IoRunner.many(r, bdev, ops, 64);
            IoChannel channel = r.submit(() -> bdev.channel(r)).join();
            bdevs.destroy(bdev.name()).join();
            List<Result> results = writes.join();
            assertThat(results).hasSize(256).allMatch(x -> x.ok() || x.status() == IoStatus.ABORTED);
            assertThat(r.submit(channel::inflight).join()).isZero();
            assertThat(bdevs.lookup(bdev.name())).isEmpty();
        }
    }

    private static int status(Reactor r, Bdev bdev, IoRunner.Op op) {
        return IoRunner.one(r, bdev, op).status();
    }
}
