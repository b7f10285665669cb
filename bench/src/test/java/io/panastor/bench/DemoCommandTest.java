package io.panastor.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** {@code panastor demo --short}: the seed's table, whole and consistent, and nothing left behind. */
class DemoCommandTest {
    @Test
    void shortDemoPrintsTheSeedsTableAndRemovesWhatItMade() throws Exception {
        Path dir = Path.of("target", "demo-test").toAbsolutePath();
        Files.createDirectories(dir);
        BenchCommandTest.Run r = BenchCommandTest.run("demo", "--short", "--runtime", "1", "--pool-size", "96MiB",
                "--dir", dir.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        List<String> lines = r.out().lines().toList();
        int header = lines.indexOf(lines.stream().filter(l -> l.matches("workload +local +repl=1 +repl=2 .*"))
                .findFirst().orElseThrow(() -> new AssertionError("no table in:\n" + r.out())));
        assertThat(lines.get(header).trim().split(" +")).containsExactlyElementsOf(DemoTable.HEADER);
        assertThat(header).as(r.out()).isPositive();
        List<String[]> rows = lines.subList(header + 1, header + 4).stream().map(l -> l.trim().split(" +")).toList();
        assertThat(rows).extracting(c -> c[0]).containsExactly("read", "write", "50/50");
        for (String[] c : rows) {
            assertThat(c).hasSize(DemoTable.HEADER.size());
            double local = Double.parseDouble(c[1]);
            double repl1 = Double.parseDouble(c[2]);
            double repl2 = Double.parseDouble(c[3]);
            assertThat(local).isPositive();
            assertThat(repl1).isPositive();
            assertThat(repl2).isPositive();
            assertThat(Double.parseDouble(c[4])).isCloseTo(repl1 / local, within(0.0006));
            assertThat(Double.parseDouble(c[5])).isCloseTo(repl2 / local, within(0.0006));
            double seedLocal = kilo(c[6]);
            assertThat(Double.parseDouble(c[9])).isCloseTo(kilo(c[7]) / seedLocal, within(0.0006));
            assertThat(Double.parseDouble(c[10])).isCloseTo(kilo(c[8]) / seedLocal, within(0.0006));
        }
        assertThat(lines.get(header + 4)).isEmpty();
        assertThat(r.out()).contains("Both pools are on one disk").doesNotContain("\r");
        try (Stream<Path> left = Files.list(dir)) {
            assertThat(left.filter(p -> p.getFileName().toString().startsWith("panastor-demo-"))).isEmpty();
        }
    }

    @Test
    void oneDiskIsRefused() {
        BenchCommandTest.Run r = BenchCommandTest.run("demo", "--disk", "/nonexistent");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("--disk");
    }

    private static double kilo(String cell) {
        assertThat(cell).endsWith("k");
        return Double.parseDouble(cell.substring(0, cell.length() - 1)) * 1000;
    }
}
