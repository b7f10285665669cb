package io.panastor.engine.nexus;

import static io.panastor.engine.nexus.NexusTestSupport.MiB;
import static io.panastor.engine.nexus.NexusTestSupport.assertHolds;
import static io.panastor.engine.nexus.NexusTestSupport.child;
import static io.panastor.engine.nexus.NexusTestSupport.malloc;
import static io.panastor.engine.nexus.NexusTestSupport.spec;
import static io.panastor.engine.nexus.NexusTestSupport.write;
import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.engine.Await;
import io.panastor.engine.Engine;
import io.panastor.engine.bdev.IoRunner;
import io.panastor.engine.bdev.IoType;
import io.panastor.engine.bdev.fault.FaultBdev;
import io.panastor.engine.error.EngineException;
import io.panastor.engine.error.EngineException.Reason;
import io.panastor.reactor.Reactors;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.util.List;
import java.util.Optional;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A health store that fails its saves: no write is acknowledged unpersisted, and the control path leaves nothing behind. */
class NexusHealthStoreFailureTest {
    private static final int EIO = 5;
    private Engine engine;
    private Arena arena;
    private final Broken store = new Broken();

    @BeforeEach
    void start() {
        engine = Engine.start(Reactors.builder().count(2).pin(false));
        engine.nexusHealthStore(store);
        arena = Arena.ofShared();
    }

    @AfterEach
    void stop() {
        store.failing = false;
        engine.close();
        arena.close();
    }

    private static Reason reasonOf(Runnable r) {
        try {
            r.run();
        } catch (EngineException e) {
            return e.reason();
        }
        throw new AssertionError("no EngineException");
    }

    @Test
    void aRemovedChildIsReleasedThoughItsRemovalWasNotPersisted() {
        Engine.await(engine.createBdev(malloc("a", 8)));
        Engine.await(engine.createBdev(malloc("b", 8)));
        Engine.await(engine.createNexus(spec("n", 8 * MiB, "bdev:///a", "bdev:///b", malloc("made", 8))));
        store.failing = true;
        assertThat(reasonOf(() -> Engine.await(engine.removeNexusChild("n", "bdev:///b")))).isEqualTo(Reason.IO_ERROR);
        assertThat(reasonOf(() -> Engine.await(engine.removeNexusChild("n", malloc("made", 8)))))
                .isEqualTo(Reason.IO_ERROR);
        // The nexus no longer routes to them: nothing may still hold them.
        assertThat(engine.nexus("n").orElseThrow().children()).extracting(ChildInfo::uri).containsExactly("bdev:///a");
        assertThat(engine.claimant("b")).as("claimant of a removed child").isEmpty();
        assertThat(engine.bdevs().lookup("made")).as("a removed child the nexus made").isEmpty();
        store.failing = false;
        Engine.await(engine.addNexusChild("n", "bdev:///b", true));
    }

    @Test
    void aWriteThatFaultedAChildFailsWhileItsHealthCannotBePersistedAndTheNexusStillShutsDown() {
        Engine.await(engine.createBdev(malloc("ba", 8)));
        Engine.await(engine.createBdev(malloc("bb", 8)));
        Engine.await(engine.createBdev("fault:///fa?base=ba"));
        Engine.await(engine.createBdev("fault:///fb?base=bb"));
        Engine.await(engine.createNexus(spec("n", 8 * MiB, "bdev:///fa", "bdev:///fb")));
        store.failing = true;
        FaultBdev.get("fb").fail(IoType.WRITE, EIO);
        List<IoRunner.Result> r = write(engine.reactors().get(0), engine.bdevs().get("n"), 0, 8, 3, 4, arena);
        assertThat(r).noneMatch(IoRunner.Result::ok);
        assertThat(child(engine.nexus("n").orElseThrow(), "bdev:///fb").state()).isEqualTo(ChildState.FAULTED);
        assertThat(reasonOf(() -> Engine.await(engine.destroyNexus("n")))).isEqualTo(Reason.IO_ERROR);
        store.failing = false;
        Engine.await(engine.destroyNexus("n"));
        assertThat(engine.listNexuses()).isEmpty();
        assertThat(engine.claimant("fa")).isEmpty();
        assertThat(engine.claimant("fb")).isEmpty();
    }

    @Test
    void aChildWhoseAddWasNotPersistedIsReleasedOnlyOnceItsWritesEnded() throws Exception {
        Engine.await(engine.createBdev(malloc("ba", 8)));
        Engine.await(engine.createBdev(malloc("bc", 8)));
        Engine.await(engine.createBdev("fault:///fa2?base=ba"));
        Engine.await(engine.createBdev("fault:///fc2?base=bc"));
        Engine.await(engine.createNexus(spec("n", 8 * MiB, "bdev:///fa2")));
        // The add's save waits, so that a write reaches the new child before the save fails.
        store.gate = new CountDownLatch(1);
        store.failing = true;
        FaultBdev.get("fc2").hang(IoType.WRITE, TimeUnit.SECONDS.toNanos(5));
        CompletableFuture<NexusInfo> add = engine.addNexusChild("n", "bdev:///fc2", true);
        assertThat(store.entered.await(30, TimeUnit.SECONDS)).isTrue();
        CompletableFuture<List<IoRunner.Result>> w = NexusTestSupport.writeAsync(engine.reactors().get(0),
                engine.bdevs().get("n"), 0, 1, 5, 1, arena);
        Await.until("the write is held on fc2", Duration.ofSeconds(30), () -> FaultBdev.get("fc2").held() == 1);
        AtomicInteger heldAtAnswer = new AtomicInteger(-1);
        CompletableFuture<Void> answered = add.handle((v, t) -> {
            heldAtAnswer.set(FaultBdev.get("fc2").held());
            return null;
        });
        store.gate.countDown();
        answered.get(60, TimeUnit.SECONDS);
        assertThat(reasonOf(() -> Engine.await(add))).isEqualTo(Reason.IO_ERROR);
        assertThat(heldAtAnswer.get()).as("nexus IO still on fc2 when it was released").isZero();
        assertThat(engine.claimant("fc2")).isEmpty();
        store.failing = false;
        assertThat(w.get(60, TimeUnit.SECONDS)).hasSize(1);
    }

    @Test
    void aShutdownWaitsForAHeldWriteAndBothEndOnceTheFaultIsPersisted() throws Exception {
        Engine.await(engine.createBdev(malloc("ba", 8)));
        Engine.await(engine.createBdev(malloc("bb", 8)));
        Engine.await(engine.createBdev("fault:///fa3?base=ba"));
        Engine.await(engine.createBdev("fault:///fb3?base=bb"));
        NexusInfo n = Engine.await(engine.createNexus(spec("n", 8 * MiB, "bdev:///fa3", "bdev:///fb3")));
        store.gate = new CountDownLatch(1);
        FaultBdev.get("fb3").fail(IoType.WRITE, EIO);
        CompletableFuture<List<IoRunner.Result>> w = NexusTestSupport.writeAsync(engine.reactors().get(1),
                engine.bdevs().get("n"), 0, 1, 6, 1, arena);
        assertThat(store.entered.await(30, TimeUnit.SECONDS)).isTrue();
        CompletableFuture<NexusInfo> down = engine.shutdownNexus("n");
        assertThat(w).as("a write that faulted a child, before the fault is persisted").isNotDone();
        store.gate.countDown();
        assertThat(w.get(60, TimeUnit.SECONDS)).allMatch(IoRunner.Result::ok);
        assertThat(down.get(60, TimeUnit.SECONDS).state()).isEqualTo(NexusState.SHUTDOWN);
        HealthRecord h = store.load(n.infoKey()).orElseThrow();
        assertThat(h.cleanShutdown()).isTrue();
        assertThat(h.children()).extracting(HealthRecord.ChildHealth::healthy).containsExactly(true, false);
        assertHolds(engine, engine.bdevs().get("ba"), 0, 1, 6);
    }

    /** In memory; saves wait for {@link #gate} (if set), then fail while {@link #failing}. */
    private static final class Broken implements HealthStore {
        final HealthStore inner = HealthStore.inMemory();
        volatile boolean failing;
        volatile CountDownLatch gate;
        final CountDownLatch entered = new CountDownLatch(1);

        @Override
        public Optional<HealthRecord> load(String key) {
            try {
                return inner.load(key);
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        }

        @Override
        public void save(String key, HealthRecord record) throws IOException {
            CountDownLatch g = gate;
            if (g != null) {
                entered.countDown();
                try {
                    g.await();
                } catch (InterruptedException e) {
                    throw new IOException(e);
                }
            }
            if (failing) {
                throw new IOException("store down (test)");
            }
            inner.save(key, record);
        }

        @Override
        public void delete(String key) throws IOException {
            inner.delete(key);
        }
    }
}
