package io.panastor.api.daemon;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * {@code panastor engine} as its own process, as an operator runs it: started with the test
 * classpath, its stdout read for the ready line, its stderr kept in a file.
 */
final class EngineProcess implements AutoCloseable {
    /** Hang detector only: how long a step may take before the test gives up. */
    static final long HANG_SECONDS = 60;

    final Process process;
    final Path stderr;
    private final CompletableFuture<String> ready = new CompletableFuture<>();

    private EngineProcess(Process process, Path stderr) {
        this.process = process;
        this.stderr = stderr;
        Thread.ofPlatform().daemon(true).start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    if (line.startsWith("panastor engine ready:")) {
                        ready.complete(line);
                    }
                }
            } catch (IOException e) {
                ready.completeExceptionally(e);
            }
            ready.complete(null);
        });
    }

    static EngineProcess start(Path dir, String... args) throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED",
                "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED", "-cp", cp, "io.panastor.api.cli.Panastor",
                "engine"));
        cmd.addAll(List.of(args));
        Path err = Files.createTempFile(dir, "engine", ".err");
        Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
        return new EngineProcess(p, err);
    }

    /** The ready line's {@code key=value} fields, or null if the engine ended before it was ready. */
    Map<String, String> awaitReady() throws Exception {
        String line = ready.get(HANG_SECONDS, TimeUnit.SECONDS);
        if (line == null) {
            return null;
        }
        Map<String, String> fields = new HashMap<>();
        for (String part : line.substring(line.indexOf(':') + 1).strip().split(" ")) {
            int eq = part.indexOf('=');
            fields.put(part.substring(0, eq), part.substring(eq + 1));
        }
        return fields;
    }

    String stderr() throws IOException {
        return Files.readString(stderr);
    }

    int awaitExit() throws Exception {
        if (!process.waitFor(HANG_SECONDS, TimeUnit.SECONDS)) {
            throw new AssertionError("the engine did not exit; stderr: " + stderr());
        }
        return process.exitValue();
    }

    void signal(String name) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).start();
        if (!kill.waitFor(HANG_SECONDS, TimeUnit.SECONDS) || kill.exitValue() != 0) {
            throw new AssertionError("kill -" + name + " failed");
        }
    }

    static int freePort() throws IOException {
        return io.panastor.engine.FreePorts.next();
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }
}
