package io.panastor.engine.lvs;

import io.panastor.engine.Engine;
import io.panastor.reactor.Reactors;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;

/**
 * The process {@link LvsCrashTest} kills: opens (or creates) pool "cp" on a file and runs
 * random ops on it forever. Before each op it appends "B op" to the journal and forces it;
 * when the op succeeded "A", when it failed with NO_SPACE (changing nothing) "F", forced
 * again; then it prints "J" on stdout. Any other failure ends it with status 1.
 *
 * <p>Arguments: disk file, journal file, seed, {@code create} or {@code import}, round.
 */
public final class LvsCrashChild {
    private LvsCrashChild() {
    }

    public static void main(String[] args) throws IOException {
        Path disk = Path.of(args[0]);
        Random rnd = new Random(Long.parseLong(args[2]));
        System.out.println("S");
        System.out.flush();
        try (FileChannel journal = FileChannel.open(Path.of(args[1]), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND);
             Engine engine = Engine.start(Reactors.builder().count(1).pin(false));
             Arena arena = Arena.ofShared()) {
            if (args[3].equals("create")) {
                engine.createPool(new PoolSpec("cp", null, LvsTestSupport.uri(disk), LvsTestSupport.MiB, false)).join();
            } else {
                engine.importPool("cp", null, LvsTestSupport.uri(disk)).join();
            }
            int[] counter = {Integer.parseInt(args[4]) * 100_000};   // replica names unique across rounds
            while (true) {
                String op = LvsTestSupport.nextOp(rnd, engine, "cp", counter);
                append(journal, "B " + op);
                boolean ok = LvsTestSupport.run(engine, arena, "cp", op);
                append(journal, ok ? "A" : "F");
                System.out.println("J");
                System.out.flush();
            }
        } catch (RuntimeException e) {
            e.printStackTrace();
            System.exit(1);
        }
    }

    private static void append(FileChannel journal, String line) throws IOException {
        ByteBuffer b = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            journal.write(b);
        }
        journal.force(false);
    }
}
