package io.panastor.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code panastor demo}, briefly: its targets warmed up first, its NVMe/TCP table printed in one piece on stdout. */
class DemoCommandTest {
    @Test
    void warmsUpThenPrintsOneTableWhoseRowsNothingComesBetween() throws Exception {
        Path file = Path.of("target", "demo-test", "demo.img").toAbsolutePath();
        Files.createDirectories(file.getParent());
        try {
            BenchCommandTest.Run r = BenchCommandTest.run("demo", "--no-fio", "--file", file.toString(), "--size", "16M",
                    "--runtime", "1", "--ramp", "0", "--idle-seconds", "1", "--steady-seconds", "1", "--qd", "1");
            assertThat(r.exit()).as(r.err()).isZero();
            assertThat(r.err()).contains("demo: warming up each target");
            List<String> lines = r.out().lines().toList();
            int header = lines.indexOf(lines.stream().filter(l -> l.matches("workload +QD +target +IOPS .*"))
                    .findFirst().orElseThrow());
            List<String> rows = lines.subList(header + 1, header + 9);
            assertThat(rows).allMatch(l -> l.matches("rand(read|write) +(1|32) +\\S+ +[0-9]+ .* 0"), "a figures row");
            assertThat(rows.stream().filter(l -> l.contains("127.0.0.1:"))).hasSize(4);
            assertThat(lines.get(header + 9)).isEmpty();
            assertThat(r.out()).doesNotContain("INFO").doesNotContain("\r");
        } finally {
            Files.deleteIfExists(file);
        }
    }
}
