package io.panastor.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The launcher says on stderr that it builds, and when it is done, so a first run is not a silent minute. */
class LauncherProgressTest {
    private static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();

    @Test
    void theBuildSaysWhenItStartsAndEnds(@TempDir Path tmp) throws Exception {
        // A stand-in for the Maven wrapper: the build itself is not what is tested.
        Path mvnw = tmp.resolve("mvnw");
        Files.writeString(mvnw, "#!/bin/sh\nexit 0\n");
        Files.setPosixFilePermissions(mvnw, PosixFilePermissions.fromString("rwx------"));
        Path stamp = tmp.resolve("stamp");
        Path lib = Files.createDirectories(tmp.resolve("lib"));

        String first = build(mvnw, stamp, lib);
        assertThat(first).contains("panastor: building (first run, about a minute;").containsPattern("panastor: built in [0-9]+ s");
        String again = build(mvnw, stamp, lib);
        assertThat(again).contains("panastor: rebuilding (0 changed file(s) since the last build;")
                .containsPattern("panastor: built in [0-9]+ s");
    }

    private static String build(Path mvnw, Path stamp, Path lib) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("bash", ROOT.resolve("panastor").toString(), "build");
        pb.environment().put("PANASTOR_MVNW", mvnw.toString());
        pb.environment().put("PANASTOR_STAMP", stamp.toString());
        pb.environment().put("PANASTOR_LIB", lib.toString());
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(err).isZero();
        assertThat(out).as("nothing on stdout").isEmpty();
        return err;
    }
}
