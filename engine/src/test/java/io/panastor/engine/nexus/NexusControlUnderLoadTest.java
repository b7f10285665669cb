package io.panastor.engine.nexus;

import static io.panastor.engine.nexus.NexusTestSupport.MiB;
import static io.panastor.engine.nexus.NexusTestSupport.assertHolds;
import static io.panastor.engine.nexus.NexusTestSupport.malloc;
import static io.panastor.engine.nexus.NexusTestSupport.spec;
import static io.panastor.engine.nexus.NexusTestSupport.writeAsync;
import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.engine.Engine;
import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.IoRunner;
import io.panastor.reactor.Reactor;
import io.panastor.reactor.Reactors;
import java.lang.foreign.Arena;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Child operations (offline, online, fault, remove, add) while writes run from two reactors: every write succeeds and is on every healthy child. */
class NexusControlUnderLoadTest {
    private static final int BLOCKS = 2048;
    private Engine engine;
    private Arena arena;

    @BeforeEach
    void start() {
        engine = Engine.start(Reactors.builder().count(2).pin(false));
        arena = Arena.ofShared();
    }

    @AfterEach
    void stop() {
        engine.close();
        arena.close();
    }

    /** Writes half {@code half} in rounds of rising generation until {@code stop}; the last generation it wrote. */
    private CompletableFuture<Long> rounds(Reactor r, Bdev n, int half, AtomicBoolean stop, AtomicLong gen,
                                           AtomicBoolean allOk) {
        long g = gen.incrementAndGet();
        return writeAsync(r, n, (long) half * BLOCKS / 2, BLOCKS / 2, g, 16, arena).thenCompose(res -> {
            if (!res.stream().allMatch(IoRunner.Result::ok)) {
                allOk.set(false);
            }
            return stop.get() ? CompletableFuture.completedFuture(g) : rounds(r, n, half, stop, gen, allOk);
        });
    }

    @Test
    void childOperationsUnderLoadFromTwoReactorsLoseNoWrite() throws Exception {
        for (String c : List.of("a", "b", "c")) {
            Engine.await(engine.createBdev(malloc(c, 8)));
        }
        Engine.await(engine.createNexus(spec("n", 8 * MiB, "bdev:///a", "bdev:///b", "bdev:///c")));
        Bdev n = engine.bdevs().get("n");
        AtomicBoolean stop = new AtomicBoolean();
        AtomicBoolean ok = new AtomicBoolean(true);
        AtomicLong gen = new AtomicLong(1000);
        CompletableFuture<Long> x = rounds(engine.reactors().get(0), n, 0, stop, gen, ok);
        CompletableFuture<Long> y = rounds(engine.reactors().get(1), n, 1, stop, gen, ok);
        try {
            for (int i = 0; i < 15; i++) {
                Engine.await(engine.nexusChildOperation("n", "bdev:///c", ChildAction.OFFLINE));
                Engine.await(engine.nexusChildOperation("n", "bdev:///c", ChildAction.ONLINE));
                Engine.await(engine.removeNexusChild("n", "bdev:///c"));
                Engine.await(engine.addNexusChild("n", "bdev:///c", true));
                Engine.await(engine.faultNexusChild("n", "bdev:///b"));
                Engine.await(engine.nexusChildOperation("n", "bdev:///b", ChildAction.ONLINE));
                Engine.await(engine.removeNexusChild("n", "bdev:///b"));
                Engine.await(engine.addNexusChild("n", "bdev:///b", true));
            }
        } finally {
            stop.set(true);
        }
        long gx = x.get(60, TimeUnit.SECONDS);
        long gy = y.get(60, TimeUnit.SECONDS);
        assertThat(ok).as("every write succeeded").isTrue();
        NexusInfo i = engine.nexus("n").orElseThrow();
        HealthRecord h = engine.nexusHealth(i.infoKey()).orElseThrow();
        assertThat(h.children()).filteredOn(HealthRecord.ChildHealth::healthy).extracting(HealthRecord.ChildHealth::uri)
                .containsExactly("bdev:///a");
        assertHolds(engine, engine.bdevs().get("a"), 0, BLOCKS / 2, gx);
        assertHolds(engine, engine.bdevs().get("a"), BLOCKS / 2, BLOCKS / 2, gy);
        assertHolds(engine, n, 0, BLOCKS / 2, gx);
        // Writes from now on go to the children that take writes too.
        assertThat(NexusTestSupport.write(engine.reactors().get(1), n, 0, 64, 1, 8, arena)).allMatch(IoRunner.Result::ok);
        for (String c : List.of("a", "b", "c")) {
            assertHolds(engine, engine.bdevs().get(c), 0, 64, 1);
        }
        Engine.await(engine.destroyNexus("n"));
        for (String c : List.of("a", "b", "c")) {
            assertThat(engine.claimant(c)).isEmpty();
        }
    }
}
