package io.panastor.engine.lvs;

import static io.panastor.engine.lvs.LvsTestSupport.MiB;
import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.engine.Engine;
import io.panastor.engine.bdev.Bdev;
import io.panastor.reactor.Reactors;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pool's disk dies under it ({@link FaultyDisk}), in rounds on one file: (a) its last
 * metadata write is torn or lost, (b) the power goes with writes in a volatile cache. Each
 * round opens the pool through the faulty disk, runs random ops until the disk dies (or
 * kills it after them), closes the engine without an export and imports the raw file in a
 * fresh one, which must hold every op whose future completed and every block written and
 * then flushed ({@link LvsModel}). The fault may strike the import's own checkpoint too.
 */
class LvsTornWriteTest {
    static final long DISK = 64 * MiB;

    @TempDir
    Path dir;

    @Test
    void aTornOrLostLastMetadataWriteLosesNothingAcknowledged() throws Exception {
        rounds(false, 30);
    }

    @Test
    void aPowerCutLosesNothingFlushed() throws Exception {
        rounds(true, 30);
    }

    private void rounds(boolean powerCut, int rounds) throws Exception {
        long seed = Long.getLong("panastor.torn.seed", System.nanoTime());
        Random rnd = new Random(seed);
        Path file = LvsTestSupport.sparse(dir.resolve("disk.img"), DISK);
        String uri = LvsTestSupport.uri(file);
        long dataStart = Layout.plan(MiB, LvsTestSupport.BS, DISK).dataStart();
        LvsModel model = new LvsModel(MiB);
        int[] counter = {0};
        int died = 0;
        int inCheckpoint = 0;
        int duringImport = 0;
        long restored = 0;
        for (int round = 0; round < rounds; round++) {
            FaultyDisk w;
            String what = "round " + round + " (seed " + seed + ")";
            try (Engine engine = Engine.start(Reactors.builder().count(1).pin(false)); Arena arena = Arena.ofShared()) {
                Bdev base = engine.createBdev(uri).join();
                w = new FaultyDisk("faulty", base, dataStart);
                engine.bdevs().registerOwned(w, "test");
                boolean open = true;
                if (round == 0) {
                    engine.createPool(new PoolSpec("tp", null, "bdev:///faulty", MiB, false)).join();
                }
                // a quarter of the rounds die early: in the import (its checkpoint) or the first ops
                boolean early = round > 0 && rnd.nextInt(4) == 0;
                if (powerCut) {
                    w.powerCutAt(1 + rnd.nextInt(early ? 15 : 300));
                } else {
                    FaultyDisk.Tear[] tears = FaultyDisk.Tear.values();
                    w.tearMetadataWrite(1 + rnd.nextInt(early ? 3 : 40), tears[rnd.nextInt(tears.length)]);
                }
                if (round > 0) {
                    try {
                        engine.importPool("tp", null, "bdev:///faulty").join();
                    } catch (RuntimeException e) {
                        assertThat(w.dead).as(what + ": import failed with the disk alive: " + e).isTrue();
                        open = false;
                        duringImport++;
                    }
                }
                for (int i = 0; open && i < 150 && !w.dead; i++) {
                    String op = LvsTestSupport.nextOp(rnd, engine, "tp", counter);
                    model.begin(op);
                    boolean ok;
                    try {
                        ok = LvsTestSupport.run(engine, arena, "tp", op);
                    } catch (IllegalStateException e) {
                        assertThat(w.dead).as(what + ": " + op + " failed with the disk alive: " + e).isTrue();
                        model.abandon();
                        break;
                    }
                    if (ok) {
                        model.ack();
                    } else if (w.dead) {
                        model.abandon();
                    } else {
                        model.fail();
                    }
                }
                if (w.dead) {
                    died++;
                    if (w.tornAt >= 0 && w.tornAt < Layout.plan(MiB, LvsTestSupport.BS, DISK).logStart()) {
                        inCheckpoint++;
                    }
                }
                w.die();
            }
            // the engine closed without an export; the disk is whatever reached it
            if (powerCut) {
                restored += w.restore(file, rnd, rnd.nextBoolean() ? 1.0 : 0.5);
            }
            try (Engine engine = Engine.start(Reactors.builder().count(1).pin(false))) {
                try {
                    engine.importPool("tp", null, uri).join();
                    model.verify(engine, "tp");
                } catch (Throwable t) {
                    throw new AssertionError(what + ": " + t.getMessage(), t);
                }
                engine.exportPool("tp").join();
            }
        }
        System.out.println("LvsTornWriteTest " + (powerCut ? "power cut" : "torn write") + ": " + rounds + " rounds, "
                + died + " died during ops or import (" + duringImport + " in the import, " + inCheckpoint
                + " torn in a checkpoint slot), " + restored + " unflushed blocks put back, " + model.acked
                + " ops acknowledged, seed " + seed);
    }
}
