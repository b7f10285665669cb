package io.panastor.control.store;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The file store under kill -9 during writes: a child process puts and deletes keys as fast
 * as it can and says which puts returned; it is killed at once at a different point each round.
 * Every key then holds a whole value (never a torn one), at least as new as the last put that
 * returned for it, and no newer than the one in flight.
 */
class FileStoreKillTest {
    @TempDir
    Path dir;

    @Test
    void everyAcknowledgedPutSurvivesAKillAndNothingIsTorn() throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        int[] killAfter = {3, 57, 211, 400};
        for (int round = 0; round < killAfter.length; round++) {
            Path store = dir.resolve("store-" + round);
            Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                    StoreWriter.class.getName(), store.toString()).redirectErrorStream(false).start();
            long acked = 0;
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream()))) {
                String line;
                while ((line = r.readLine()) != null) {
                    if (line.startsWith("acked ")) {
                        acked = Long.parseLong(line.substring(6));
                        if (acked >= killAfter[round]) {
                            p.destroyForcibly();
                            break;
                        }
                    }
                }
            }
            p.waitFor();
            assertThat(acked).as("round %d: the writer got going", round).isGreaterThanOrEqualTo(killAfter[round]);
            // The writer may have done more than it printed before the kill: at most the next few puts.
            long inFlightLimit = acked + 64;
            FileStore s = new FileStore(store);
            Map<String, byte[]> all = s.list("k/");
            List<String> problems = new ArrayList<>();
            for (int k = 0; k < 16; k++) {
                String key = "k/" + k;
                long lastAckedForKey = lastAcked(acked, k);
                byte[] v = all.get(key);
                if (v == null) {
                    if (lastAckedForKey > 0) {
                        problems.add(key + " is missing; put " + lastAckedForKey + " was acknowledged");
                    }
                    continue;
                }
                long seq = StoreWriter.check(v);
                if (seq < 0) {
                    problems.add(key + " holds a value that is not whole");
                } else if (seq < lastAckedForKey || seq > inFlightLimit || seq % 16 != k) {
                    problems.add(key + " holds put " + seq + "; the last acknowledged was " + lastAckedForKey);
                }
            }
            for (byte[] v : s.list("d/").values()) {
                if (StoreWriter.check(v) < 0) {
                    problems.add("a d/ key holds a value that is not whole");
                }
            }
            assertThat(problems).as("round %d, killed after %d acknowledged puts", round, acked).isEmpty();
        }
    }

    /** The last sequence number {@code <= acked} that wrote {@code k/k} (0 for none). */
    private static long lastAcked(long acked, int k) {
        long s = acked - Math.floorMod(acked - k, 16);
        return s >= 1 ? s : 0;
    }
}
