package io.panastor.natives;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.panastor.bindings.errno_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NativeResourcesTest {
    @TempDir
    Path dir;

    @Test
    void bufferPoolHandsOutAlignedDistinctBuffersUntilEmpty() {
        try (BufferPool pool = new BufferPool(4, 8192)) {
            MemorySegment[] got = new MemorySegment[4];
            for (int i = 0; i < 4; i++) {
                got[i] = pool.acquire();
                assertThat(got[i].address() % BufferPool.ALIGNMENT).isZero();
                assertThat(got[i].byteSize()).isEqualTo(8192);
            }
            assertThat(pool.acquire()).isNull();
            assertThat(pool.available()).isZero();
            pool.release(got[2]);
            assertThat(pool.acquire().address()).isEqualTo(got[2].address());
            pool.release(got[0]);
            assertThatThrownBy(() -> pool.release(got[0])).hasMessageContaining("released twice");
            try (Arena a = Arena.ofConfined()) {
                MemorySegment foreign = a.allocate(8192, 4096);
                assertThatThrownBy(() -> pool.release(foreign)).hasMessageContaining("not from this pool");
            }
        }
        assertThatThrownBy(() -> new BufferPool(1, 1000)).hasMessageContaining("multiple of 4096");
    }

    @Test
    void missingFileNamesPathAndErrno() {
        Path missing = dir.resolve("nope");
        assertThatThrownBy(() -> BlockFile.open(missing))
                .isInstanceOf(NativeException.class)
                .hasMessageContaining(missing.toString())
                .hasMessageContaining("ENOENT")
                .hasMessageContaining("No such file or directory");
    }

    @Test
    void directoryIsRefused() {
        assertThatThrownBy(() -> BlockFile.open(dir, io.panastor.bindings.fcntl_h.O_RDONLY))
                .isInstanceOf(NativeException.class)
                .hasMessageContaining("not a regular file or block device")
                .satisfies(e -> assertThat(((NativeException) e).errno()).isEqualTo(errno_h.EISDIR));
    }

    @Test
    void regularFileReportsItsSize() {
        Path f = dir.resolve("f");
        BlockFile.createFile(f, 3 << 20);
        try (BlockFile bf = BlockFile.open(f)) {
            assertThat(bf.size()).isEqualTo(3 << 20);
            assertThat(bf.isBlockDevice()).isFalse();
            assertThat(bf.logicalBlockSize()).isEqualTo(512);
        }
    }

    @Test
    void loopDeviceReportsSizeAndLogicalBlockSize() throws Exception {
        Path backing = dir.resolve("loop.img");
        BlockFile.createFile(backing, 16 << 20);
        String dev = run("losetup", "--find", "--show", "--sector-size", "4096", backing.toString());
        assumeTrue(dev != null && dev.startsWith("/dev/loop"), "loop devices are not available here (needs root)");
        try (BlockFile bf = BlockFile.open(Path.of(dev))) {
            assertThat(bf.isBlockDevice()).isTrue();
            assertThat(bf.size()).isEqualTo(16 << 20);
            assertThat(bf.logicalBlockSize()).isEqualTo(4096);
        } finally {
            run("losetup", "--detach", dev);
        }
    }

    private static String run(String... cmd) throws Exception {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).trim();
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                return null;
            }
            return out;
        } catch (java.io.IOException e) {
            return null;
        }
    }

    @Test
    void eventFdCountsSignalsAndDrainsToZero() {
        try (EventFd e = new EventFd()) {
            assertThat(e.drain()).isZero();
            e.signal();
            e.signal();
            assertThat(e.drain()).isEqualTo(2);
            assertThat(e.drain()).isZero();
        }
    }

    @Test
    void threadRunsOnTheCpuItIsPinnedTo() throws Exception {
        List<Integer> cpus = Cpu.allowedCpus();
        assertThat(cpus).isNotEmpty();
        for (int cpu : cpus) {
            int[] seen = new int[1];
            Thread t = Thread.ofPlatform().start(() -> {
                Cpu.pinCurrentThread(cpu);
                seen[0] = Cpu.current();
            });
            t.join();
            assertThat(seen[0]).isEqualTo(cpu);
        }
        assertThatThrownBy(() -> Cpu.pinCurrentThread(-1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void pinningToAnAbsentCpuFailsWithEinval() throws Exception {
        int absent = Cpu.allowedCpus().getLast() + 1;
        Throwable[] err = new Throwable[1];
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                Cpu.pinCurrentThread(absent);
            } catch (Throwable e) {
                err[0] = e;
            }
        });
        t.join();
        assertThat(err[0]).isInstanceOf(NativeException.class).hasMessageContaining("EINVAL");
    }
}
