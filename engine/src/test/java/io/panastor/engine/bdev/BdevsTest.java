package io.panastor.engine.bdev;

import io.panastor.engine.error.EngineException;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.panastor.natives.BlockFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class BdevsTest {
    @TempDir
    Path dir;

    @Test
    void mallocUriGivesTheAskedGeometryAndIsFoundByNameAliasAndUuid() {
        Bdevs bdevs = new Bdevs();
        UUID uuid = UUID.randomUUID();
        String uri = "malloc:///m0?size_mb=8&blk_size=4096&uuid=" + uuid;
        Bdev b = bdevs.create(uri);
        assertThat(b.name()).isEqualTo("m0");
        assertThat(b.blockSize()).isEqualTo(4096);
        assertThat(b.blockCount()).isEqualTo(2048);
        assertThat(b.uuid()).isEqualTo(uuid);
        assertThat(b.productName()).isEqualTo("Malloc disk");
        assertThat(bdevs.get("m0")).isSameAs(b);
        assertThat(bdevs.get(uri)).isSameAs(b);
        assertThat(bdevs.get(uuid.toString())).isSameAs(b);
        assertThat(bdevs.create("bdev:///m0")).isSameAs(b);
        assertThat(bdevs.create("malloc:///m1?num_blocks=100").sizeBytes()).isEqualTo(100 * 512);
        bdevs.destroyAll().join();
        assertThat(bdevs.list()).isEmpty();
    }

    @Test
    void creatingTheSameUriTwiceIsIdempotentButAnotherBdevUnderTheNameIsRefused() {
        Bdevs bdevs = new Bdevs();
        Bdev b = bdevs.create("malloc:///m0?size_mb=4");
        assertThat(bdevs.create("malloc:///m0?size_mb=4")).isSameAs(b);
        assertThatThrownBy(() -> bdevs.create("malloc:///m0?size_mb=8"))
                .isInstanceOf(BdevException.class)
                .hasMessageContaining("bdev m0 already exists")
                .satisfies(e -> assertThat(((BdevException) e).reason()).isEqualTo(EngineException.Reason.ALREADY_EXISTS));
        assertThat(bdevs.list()).containsExactly(b);
        assertThat(b.blockCount()).isEqualTo(8192);
        bdevs.destroyAll().join();
    }

    @Test
    void aSecondBdevWithATakenUuidIsRefused() {
        Bdevs bdevs = new Bdevs();
        UUID uuid = UUID.randomUUID();
        bdevs.create("malloc:///a?size_mb=1&uuid=" + uuid);
        assertThatThrownBy(() -> bdevs.create("null:///b?size_mb=1&uuid=" + uuid))
                .hasMessageContaining("uuid " + uuid + " is already used by bdev a");
        assertThat(bdevs.lookup("b")).isEmpty();
        bdevs.destroyAll().join();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "''                                         | a bdev URI is required",
        "m0                                         | not a URI",
        "ftp:///x                                   | unsupported scheme 'ftp' (supported: aio, delay, fault, malloc, null, nvmf, nvmf+tcp, uring, bdev, or an absolute path)",
        "nvmf://127.0.0.1:4420/not-an-nqn           | the path must be the subsystem NQN",
        "nvmf:///nqn.2026-11.io.x:y                 | an nvmf bdev needs a host",
        "nvmf://127.0.0.1:4420/nqn.x?hdgst=yes      | parameter hdgst must be 0 or 1",
        "malloc:///m0                               | give exactly one of size (e.g. 512MiB), size_mb and num_blocks",
        "malloc:///m0?size_mb=4&num_blocks=8        | give exactly one of size (e.g. 512MiB), size_mb and num_blocks",
        "malloc:///m0?size_mb=abc                   | parameter size_mb must be a positive integer, got 'abc'",
        "malloc:///m0?size_mb=-4                    | parameter size_mb must be a positive integer, got '-4'",
        "malloc:///m0?size_mb=0                     | parameter size_mb must be a positive integer, got '0'",
        "malloc:///m0?size_mb=4&blk_size=1000       | parameter blk_size must be a power of two from 512 to 65536, got 1000",
        "malloc:///m0?size_mb=4&colour=blue         | unknown parameter 'colour' for malloc bdevs (allowed: blk_size, num_blocks, size, size_mb, uuid)",
        "malloc:///m0?size_mb=4&size_mb=5           | parameter 'size_mb' is given twice",
        "malloc:///m0?size_mb                       | malformed parameter 'size_mb': expected key=value",
        "malloc:///m0?size_mb=4&uuid=xyz            | parameter uuid is not a UUID: 'xyz'",
        "malloc://host/m0?size_mb=4                 | a malloc bdev takes no host",
        "malloc:///                                 | expected malloc:///NAME",
        "malloc:///a/b?size_mb=4                    | expected malloc:///NAME",
        "null:///n0?size_mb=4&blk_size=3            | parameter blk_size must be a power of two",
        "uring:///tmp/definitely/not/here           | cannot open /tmp/definitely/not/here",
        "uring://host/x                             | a uring bdev takes no host",
        "uring:///x?blk_size=4096&direct=0          | unknown parameter 'direct' for uring bdevs (allowed: blk_size, uuid)",
        "bdev:///nothing                            | no bdev named 'nothing'",
    })
    void badUrisAreRefusedWithAMessageThatSaysWhatIsWrongAndChangeNothing(String uri, String message) {
        Bdevs bdevs = new Bdevs();
        Bdev keep = bdevs.create("malloc:///keep?size_mb=1");
        assertThatThrownBy(() -> bdevs.create(uri))
                .isInstanceOf(BdevException.class)
                .hasMessageContaining(message);
        assertThat(bdevs.list()).containsExactly(keep);
        bdevs.destroyAll().join();
    }

    @Test
    void missingFileIsNotFoundWithErrnoName() {
        Bdevs bdevs = new Bdevs();
        Path missing = dir.resolve("missing.img");
        assertThatThrownBy(() -> bdevs.create("uring://" + missing))
                .isInstanceOf(BdevException.class)
                .hasMessageContaining(missing.toString())
                .hasMessageContaining("ENOENT")
                .satisfies(e -> assertThat(((BdevException) e).reason()).isEqualTo(EngineException.Reason.NOT_FOUND));
    }

    @Test
    void directoryAndTooSmallFileAreInvalid() throws IOException {
        Bdevs bdevs = new Bdevs();
        assertThatThrownBy(() -> bdevs.create(dir.toString()))
                .hasMessageContaining("EISDIR (Is a directory)");
        Path tiny = dir.resolve("tiny");
        BlockFile.createFile(tiny, 1024);
        assertThatThrownBy(() -> bdevs.create("uring://" + tiny + "?blk_size=4096"))
                .hasMessageContaining("less than one 4096-byte block");
        assertThat(bdevs.list()).isEmpty();
        assertThat(Files.size(tiny)).isEqualTo(1024);
    }

    @Test
    void failedCreatesLeakNoFileDescriptors() throws IOException {
        Bdevs bdevs = new Bdevs();
        Path tiny = dir.resolve("tiny");
        BlockFile.createFile(tiny, 1024);
        long before = openFds();
        for (int i = 0; i < 50; i++) {
            assertThatThrownBy(() -> bdevs.create("uring://" + tiny + "?blk_size=4096"))
                    .isInstanceOf(BdevException.class);
        }
        assertThat(openFds()).isEqualTo(before);
    }

    @Test
    void fileBdevIsNamedByItsPathAndSizedByTheFile() {
        Bdevs bdevs = new Bdevs();
        Path f = dir.resolve("disk.img");
        BlockFile.createFile(f, 10L << 20);
        Bdev b = bdevs.create(f.toString());
        assertThat(b.name()).isEqualTo(f.toString());
        assertThat(b.blockSize()).isEqualTo(512);
        assertThat(b.blockCount()).isEqualTo((10L << 20) / 512);
        assertThat(b.productName()).isEqualTo("URING bdev");
        assertThat(b.uri()).isEqualTo("uring://" + f);
        assertThat(bdevs.create("uring://" + f)).as("the same file, spelled as a URI").isSameAs(b);
        assertThatThrownBy(() -> bdevs.create("uring://" + f + "?blk_size=4096"))
                .hasMessageContaining("already exists");
        bdevs.destroyAll().join();
    }

    static long openFds() throws IOException {
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }
}
