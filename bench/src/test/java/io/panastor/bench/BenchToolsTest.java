package io.panastor.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.Bdevs;
import io.panastor.reactor.Reactors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class BenchToolsTest {

    @Test
    void sizesReadAsPeopleWriteThem() {
        assertThat(Sizes.parse("4k")).isEqualTo(4096);
        assertThat(Sizes.parse("256M")).isEqualTo(256L << 20);
        assertThat(Sizes.parse("1G")).isEqualTo(1L << 30);
        assertThat(Sizes.parse("2GiB")).isEqualTo(2L << 30);
        assertThat(Sizes.parse("1GiB")).isEqualTo(1L << 30);
        assertThat(Sizes.parse("512MiB")).isEqualTo(512L << 20);
        assertThat(Sizes.parse("4096")).isEqualTo(4096);
        assertThat(Sizes.parse("512")).isEqualTo(512);
        assertThat(Sizes.format(1L << 30)).isEqualTo("1 GiB");
        assertThatThrownBy(() -> Sizes.parse("lots")).hasMessageContaining("not a size: 'lots'");
        assertThatThrownBy(() -> Sizes.parse("-1G")).hasMessageContaining("not a size");
    }

    @Test
    void fioReportIsReadFromTheRightSide() throws Exception {
        String json = """
                note: both iodepth >= 1 and synchronous I/O engine are selected
                {"fio version":"fio-3.33","jobs":[{"jobname":"baseline",
                  "read":{"iops":1234.5,"lat_ns":{"mean":800.0},"clat_ns":{"percentile":{"99.000000":1500}}},
                  "write":{"iops":99.0,"lat_ns":{"mean":20000.0},"clat_ns":{"percentile":{"99.000000":40000}}}}]}
                """;
        assertThat(Fio.parse(json, false)).isEqualTo(new Fio.Result(1234.5, 800.0, 1500.0));
        assertThat(Fio.parse(json, true)).isEqualTo(new Fio.Result(99.0, 20000.0, 40000.0));
        assertThatThrownBy(() -> Fio.parse("fio: no such file", false)).hasMessageContaining("no JSON report");
    }

    @Test
    void loadCountsEveryCompletedIoAndItsWritesReachTheBdev() {
        Bdevs bdevs = new Bdevs();
        Bdev bdev = bdevs.create("malloc:///load?size_mb=16&blk_size=4096");
        try (Reactors reactors = Reactors.start(1); java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared()) {
            BdevLoad.Result r = BdevLoad.run(bdev, reactors.get(0), true, 8, 4096,
                    TimeUnit.MILLISECONDS.toNanos(300)).join();
            assertThat(r.errors()).isZero();
            assertThat(r.ios()).as("every slot was resubmitted").isGreaterThan(8);
            assertThat(r.writes()).isEqualTo(r.ios());
            assertThat(r.latencyNanos().getTotalCount()).isEqualTo(r.ios());
            assertThat(r.elapsedNanos()).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(300));
            // Random writes of buffers filled with 0x5a.. covered some of the zeroed RAM disk.
            java.lang.foreign.MemorySegment all = arena.allocate(bdev.sizeBytes(), 4096);
            java.util.concurrent.CompletableFuture<Integer> read = new java.util.concurrent.CompletableFuture<>();
            reactors.get(0).execute(() -> {
                var ch = bdev.channel(reactors.get(0));
                ch.submit(ch.allocIo().prepareRead(0, bdev.blockCount(), all, io -> {
                    read.complete(io.status());
                    io.release();
                }));
            });
            assertThat(read.join()).isZero();
            long written = 0;
            for (long b = 0; b < bdev.blockCount(); b++) {
                byte first = all.get(java.lang.foreign.ValueLayout.JAVA_BYTE, b * 4096);
                if (first != 0) {
                    assertThat(first).isBetween((byte) 0x5a, (byte) (0x5a + 7));
                    written++;
                }
            }
            assertThat(written).isPositive().isLessThanOrEqualTo(r.ios());
        } finally {
            bdevs.destroyAll().join();
        }
    }

    @Test
    void ioSizeThatIsNotWholeBlocksIsRefused() {
        Bdevs bdevs = new Bdevs();
        Bdev bdev = bdevs.create("malloc:///odd?size_mb=1&blk_size=4096");
        try (Reactors reactors = Reactors.start(1)) {
            assertThatThrownBy(() -> BdevLoad.run(bdev, reactors.get(0), false, 1, 512, 1))
                    .hasMessageContaining("not a multiple of the block size 4096");
        } finally {
            bdevs.destroyAll().join();
        }
    }

    @Test
    void benchCommandRejectsNonsenseOptions() {
        var cmd = io.panastor.api.cli.Panastor.commandLine();
        var err = new java.io.StringWriter();
        cmd.setErr(new java.io.PrintWriter(err));
        assertThat(cmd.execute("bench", "local", "--qd", "0", "--no-fio")).isEqualTo(2);
        assertThat(err.toString()).contains("--qd 0 is out of range: from 1 to 1024");
    }
}
