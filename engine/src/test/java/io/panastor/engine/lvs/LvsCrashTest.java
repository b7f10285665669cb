package io.panastor.engine.lvs;

import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.engine.Engine;
import io.panastor.reactor.Reactors;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills a process running pool ops ({@link LvsCrashChild}) with SIGKILL, over and over, and
 * after each kill imports the pool here and checks it against what the child's journal says
 * was acknowledged ({@link LvsModel}): every acknowledged create, destroy and resize is there
 * (the one op in flight may have happened or not), the pool's used bytes are the replicas'
 * allocations and every thin replica owns what its acknowledged writes allocated (import
 * itself refuses a cluster owned twice), every block flushed reads back its pattern and every
 * block never written reads zeroes. The child goes on from the pool as it is on the next
 * round.
 *
 * <p>When to kill is a random number of journal lines (sometimes none: while the child
 * imports); nothing depends on timing. Kills per run: {@code -Dpanastor.crash.kills} (25).
 */
class LvsCrashTest {
    @TempDir
    Path dir;

    @Test
    void everyAcknowledgedOpSurvivesSigkill() throws Exception {
        int kills = Integer.getInteger("panastor.crash.kills", 25);
        long seed = Long.getLong("panastor.crash.seed", System.nanoTime());
        Random rnd = new Random(seed);
        Path disk = LvsTestSupport.sparse(dir.resolve("disk.img"), 64 * LvsTestSupport.MiB);
        Path journal = dir.resolve("journal.txt");
        Files.createFile(journal);
        LvsModel model = new LvsModel(LvsTestSupport.MiB);
        long journalAt = 0;
        int done = 0;
        long ops = 0;
        long started = System.nanoTime();
        try (Engine engine = Engine.start(Reactors.builder().count(1).pin(false))) {
            for (int round = 0; round < kills; round++) {
                int after = round > 0 && rnd.nextInt(10) == 0 ? 0 : 1 + rnd.nextInt(40);
                runChildAndKill(disk, journal, rnd.nextLong(), round == 0 ? "create" : "import", round, after);
                done++;
                journalAt = replay(journal, journalAt, model);
                ops += model.acked;
                model.acked = 0;
                try {
                    engine.importPool("cp", null, LvsTestSupport.uri(disk)).join();
                    model.verify(engine, "cp");
                    engine.exportPool("cp").join();
                } catch (Throwable t) {
                    throw new AssertionError("after kill " + done + " (seed " + seed + ", " + after + " journal lines): "
                            + t.getMessage(), t);
                }
            }
        }
        System.out.println("LvsCrashTest: " + done + " kills, " + ops + " acknowledged ops, "
                + TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started) + " s, seed " + seed);
    }

    /** Runs the child until it has printed {@code after} journal lines ("J"; 0: its start, "S"), then SIGKILLs it. */
    private void runChildAndKill(Path disk, Path journal, long seed, String mode, int round, int after) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED",
                "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED", "-Xmx256m", "-XX:TieredStopAtLevel=1",
                "-cp", cp, LvsCrashChild.class.getName(), disk.toString(), journal.toString(), Long.toString(seed), mode,
                Integer.toString(round)));
        Path err = dir.resolve("child-" + round + ".err");
        Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            int lines = 0;
            String line;
            boolean killed = false;
            while ((line = out.readLine()) != null) {
                if (line.equals("S") && after == 0 || line.equals("J") && ++lines >= after) {
                    p.destroyForcibly();
                    killed = true;
                    break;
                }
            }
            if (!killed) {
                p.waitFor();
                throw new AssertionError("the child ended by itself (status " + p.exitValue() + "): "
                        + Files.readString(err));
            }
        } finally {
            p.destroyForcibly();
            p.waitFor();
        }
        Files.deleteIfExists(err);
    }

    /** Feeds the journal's lines from byte {@code from} to the model; returns where it ends (a torn last line is cut off). */
    private static long replay(Path journal, long from, LvsModel model) throws IOException {
        byte[] all = Files.readAllBytes(journal);
        String text = new String(all, (int) from, all.length - (int) from, StandardCharsets.UTF_8);
        int end = text.lastIndexOf('\n') + 1;
        if (end < text.length()) {
            try (RandomAccessFile f = new RandomAccessFile(journal.toFile(), "rw")) {
                f.setLength(from + text.substring(0, end).getBytes(StandardCharsets.UTF_8).length);
            }
        }
        for (String line : text.substring(0, end).split("\n")) {
            if (line.isEmpty()) {
                continue;
            }
            if (line.startsWith("B ")) {
                if (model.hasOpen()) {
                    throw new AssertionError("journal: an op began before the last one ended: " + line);
                }
                model.begin(line.substring(2));
            } else if (line.equals("A")) {
                model.ack();
            } else if (line.equals("F")) {
                model.fail();
            } else {
                throw new AssertionError("journal line " + line);
            }
        }
        // the child died here: what it began last may have happened or not
        model.abandon();
        return from + text.substring(0, end).getBytes(StandardCharsets.UTF_8).length;
    }
}
