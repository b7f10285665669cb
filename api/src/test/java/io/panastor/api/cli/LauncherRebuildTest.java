package io.panastor.api.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher rebuilds when any build input is newer than its last build: every module's
 * {@code src/main} and every pom, including source packages named {@code target} (once
 * pruned as if they were build output), and nothing under a module's own {@code target/}.
 */
class LauncherRebuildTest {
    private static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();

    @Test
    void everyBuildInputIsWatchedAndNoBuildOutputIs(@TempDir Path tmp) throws Exception {
        Path stamp = tmp.resolve("stamp");
        Files.writeString(stamp, "");
        Files.setLastModifiedTime(stamp, FileTime.from(Instant.parse("2000-01-01T00:00:00Z")));

        List<String> watched = run(stamp, "bash", ROOT.resolve("panastor").toString(), "stale");
        List<String> inputs = run(stamp, "git", "-C", ROOT.toString(), "ls-files", "--cached", "--others",
                "--exclude-standard").stream()
                .filter(f -> f.contains("/src/main/") || f.equals("pom.xml") || f.endsWith("/pom.xml"))
                .filter(f -> Files.exists(ROOT.resolve(f)))
                .toList();

        assertThat(inputs).as("git knows the build inputs").isNotEmpty()
                .anyMatch(f -> f.contains("/nvmf/tgt/"));
        assertThat(watched).containsExactlyInAnyOrderElementsOf(inputs);
        assertThat(watched).noneMatch(f -> f.matches("[^/]+/target/.*"));
    }

    @Test
    void touchingATargetPackageSourceAsksForARebuild(@TempDir Path tmp) throws Exception {
        // A build newer than every input: nothing is stale.
        Instant built = Instant.now();
        try (var files = Files.walk(ROOT)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                Instant m = Files.getLastModifiedTime(f).toInstant();
                if (m.isAfter(built)) {
                    built = m;
                }
            }
        }
        built = built.plusSeconds(1);
        Path stamp = tmp.resolve("stamp");
        Files.writeString(stamp, "");
        Files.setLastModifiedTime(stamp, FileTime.from(built));
        List<String> before = run(stamp, "bash", ROOT.resolve("panastor").toString(), "stale");
        assertThat(before).noneMatch(f -> f.startsWith("engine/src/main/"));
        // What the launcher acts on before running a command: nothing to build.
        assertThat(run(stamp, "bash", ROOT.resolve("panastor").toString(), "needs-build")).containsExactly("no");

        Path source;
        try (var files = Files.list(ROOT.resolve("engine/src/main/java/io/panastor/engine/nvmf/tgt"))) {
            source = files.filter(f -> f.toString().endsWith(".java")).findFirst().orElseThrow();
        }
        Files.setLastModifiedTime(source, FileTime.from(built.plusSeconds(1)));

        List<String> after = run(stamp, "bash", ROOT.resolve("panastor").toString(), "stale");
        assertThat(after).contains(ROOT.relativize(source).toString());
        assertThat(run(stamp, "bash", ROOT.resolve("panastor").toString(), "needs-build")).containsExactly("yes");
    }

    private static List<String> run(Path stamp, String... command) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(false);
        pb.environment().put("PANASTOR_STAMP", stamp.toString());
        // The build's libraries, as the launcher checks for them, need not exist while the
        // suite runs (the bench module is packaged after this one): a folder stands in.
        Path lib = stamp.resolveSibling("lib");
        Files.createDirectories(lib);
        pb.environment().put("PANASTOR_LIB", lib.toString());
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        p.getErrorStream().transferTo(java.io.OutputStream.nullOutputStream());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", command)).isZero();
        return Arrays.stream(new String(out, StandardCharsets.UTF_8).split("\n")).filter(s -> !s.isBlank()).toList();
    }
}
