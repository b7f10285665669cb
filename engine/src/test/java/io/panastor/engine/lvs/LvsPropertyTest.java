package io.panastor.engine.lvs;

import static io.panastor.engine.lvs.LvsTestSupport.BS;
import static io.panastor.engine.lvs.LvsTestSupport.MiB;
import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.engine.Engine;
import io.panastor.engine.bdev.IoStatus;
import io.panastor.engine.error.EngineException.Reason;
import io.panastor.reactor.Reactors;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletionException;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Random sequences of replica create (thin and thick), write, whole-cluster unmap, grow,
 * destroy and pool grow on a small pool; after every step the pool is flushed, exported and
 * imported, and must match {@link LvsModel}: the same replicas, each thin replica owning the
 * clusters it wrote, the pool's used bytes the sum of the allocations, every written block
 * its pattern and every other block zeroes. Whether a step fails with NO_SPACE is predicted
 * from the model too.
 */
class LvsPropertyTest {
    static final long CS = MiB;
    static final long DISK = 64 * MiB;
    static final long MAX_DISK = 128 * MiB;

    /** kind (percent: create, write, unmap, resize, destroy, grow) and three free choices. */
    record Step(int kind, int a, int b, int c) {
    }

    @Provide
    Arbitrary<List<Step>> steps() {
        Arbitrary<Step> step = Combinators.combine(Arbitraries.integers().between(0, 99),
                Arbitraries.integers().between(0, 1 << 20), Arbitraries.integers().between(0, 1 << 20),
                Arbitraries.integers().between(0, 1 << 20)).as(Step::new);
        return step.list().ofMinSize(10).ofMaxSize(25);
    }

    @Property(tries = 30)
    void everyStepSurvivesExportAndImport(@ForAll("steps") List<Step> steps) throws IOException {
        Path dir = Files.createTempDirectory("lvs-prop");
        Path file = LvsTestSupport.sparse(dir.resolve("disk.img"), DISK);
        String uri = LvsTestSupport.uri(file);
        Engine engine = Engine.start(Reactors.builder().count(1).pin(false));
        try (Arena arena = Arena.ofShared()) {
            PoolInfo p = engine.createPool(new PoolSpec("pp", null, uri, CS, false)).join();
            long dataStart = Layout.plan(CS, BS, DISK).dataStart();
            long clusters = p.clusters();
            long diskBytes = DISK;
            assertThat(clusters).isEqualTo((DISK - dataStart) / CS);
            LvsModel model = new LvsModel(CS);
            int i = 0;
            for (Step s : steps) {
                i++;
                List<LvsModel.Rep> reps = new ArrayList<>(model.reps.values());
                long free = clusters - used(model);
                int kind = s.kind();
                if (reps.isEmpty() && kind >= 15 && kind < 95) {
                    kind = 0;
                }
                if (kind < 15) {
                    boolean thin = s.a() % 3 > 0;
                    long size = (thin ? 1 + s.b() % 8 : 1 + s.b() % 4) * CS - (s.c() % 3) * BS;
                    String op = "create r" + i + " " + UUID.randomUUID() + " " + size + (thin ? " thin" : " thick");
                    if (!thin && PoolModel.clustersOf(size, CS) > free) {
                        expectNoSpace(() -> LvsTestSupport.run(engine, arena, "pp", op));
                    } else {
                        apply(model, engine, arena, op);
                    }
                } else if (kind < 70) {
                    LvsModel.Rep r = reps.get(s.a() % reps.size());
                    long blocks = r.size / BS;
                    long lba = s.b() % blocks;
                    long n = Math.min(1 + s.c() % 8, Math.min(blocks - lba, model.bpc - lba % model.bpc));
                    String op = "write " + r.name + " " + lba + " " + n + " " + (1L + i * 16L + ((long) s.c() << 24));
                    if (r.thin && !r.clusters.contains((int) (lba / model.bpc)) && free == 0) {
                        assertThat(LvsTestSupport.write(engine, arena, r.name, lba, (int) n, 7)).isEqualTo(IoStatus.NO_SPACE);
                    } else {
                        apply(model, engine, arena, op);
                    }
                } else if (kind < 80) {
                    LvsModel.Rep r = reps.get(s.a() % reps.size());
                    long whole = r.size / BS / model.bpc;
                    if (r.thin && whole > 0) {
                        apply(model, engine, arena, "unmap " + r.name + " " + s.b() % whole);
                    }
                } else if (kind < 88) {
                    LvsModel.Rep r = reps.get(s.a() % reps.size());
                    long size = r.size + (1 + s.b() % 4) * CS / 2;
                    long more = PoolModel.clustersOf(size, CS) - PoolModel.clustersOf(r.size, CS);
                    String op = "resize " + r.name + " " + size;
                    if (!r.thin && more > free) {
                        expectNoSpace(() -> LvsTestSupport.run(engine, arena, "pp", op));
                    } else {
                        apply(model, engine, arena, op);
                    }
                } else if (kind < 95) {
                    apply(model, engine, arena, "destroy " + reps.get(s.a() % reps.size()).name);
                } else {
                    diskBytes = Math.min(MAX_DISK, diskBytes + (1 + s.a() % 4) * 8 * MiB);
                    LvsTestSupport.sparse(file, diskBytes);
                    clusters = engine.growPool("pp").join().clusters();
                    assertThat(clusters).isEqualTo((diskBytes - dataStart) / CS);
                }
                if (!model.reps.isEmpty()) {
                    apply(model, engine, arena, "flush " + model.reps.keySet().iterator().next());
                }
                engine.exportPool("pp").join();
                assertThat(engine.listReplicas()).isEmpty();
                PoolInfo back = engine.importPool("pp", p.uuid(), uri).join();
                assertThat(back.clusters()).as("clusters after step " + i + " " + s).isEqualTo(clusters);
                model.verify(engine, "pp");
            }
        } finally {
            engine.close();
            try (Stream<Path> all = Files.walk(dir)) {
                all.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    private static long used(LvsModel m) {
        long n = 0;
        for (LvsModel.Rep r : m.reps.values()) {
            n += r.thin ? r.clusters.size() : PoolModel.clustersOf(r.size, m.clusterSize);
        }
        return n;
    }

    private static void apply(LvsModel model, Engine engine, Arena arena, String op) {
        model.begin(op);
        assertThat(LvsTestSupport.run(engine, arena, "pp", op)).as(op).isTrue();
        model.ack();
    }

    private static void expectNoSpace(java.util.function.BooleanSupplier op) {
        try {
            assertThat(op.getAsBoolean()).as("NO_SPACE expected").isFalse();
        } catch (CompletionException e) {
            assertThat(LvsTestSupport.reasonOf(e)).isEqualTo(Reason.NO_SPACE);
        }
    }
}
