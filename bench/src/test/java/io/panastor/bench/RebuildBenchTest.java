package io.panastor.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code bench rebuild} at a small size: every row there, every rebuild ended with the children identical (exit 0), its files gone. */
class RebuildBenchTest {
    @Test
    void aSmallRunPrintsEveryRowAndLeavesNothingBehind() throws Exception {
        Path dir = Path.of("target", "rebuild-bench-test").toAbsolutePath();
        Files.createDirectories(dir);
        BenchCommandTest.Run r = BenchCommandTest.run("bench", "rebuild", "--size", "32MiB", "--duration", "0.3",
                "--dir", dir.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        List<String> lines = r.out().lines().toList();
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("source sequential read (128 KiB x8)"))
                .anySatisfy(l -> assertThat(l).startsWith("full rebuild, no user IO").contains(">= 0.80"))
                .anySatisfy(l -> assertThat(l).startsWith("full rebuild to a null destination"))
                .anySatisfy(l -> assertThat(l).matches("randread +\\d+ +\\d+ +\\d\\.\\d{3} +\\d+ +.*"))
                .anySatisfy(l -> assertThat(l).matches("randwrite +\\d+ +\\d+ +\\d\\.\\d{3} +\\d+ +.*"))
                // 1 % of 32 MiB in 128 KiB chunks: 3 chunks, each one segment.
                .anySatisfy(l -> assertThat(l).matches("1 % in 128 KiB chunks +384 KiB +3 of 256 +.*"))
                .anySatisfy(l -> assertThat(l).startsWith("1 % as random 4 KiB"));
        try (var left = Files.list(dir)) {
            assertThat(left).isEmpty();
        }
    }
}
