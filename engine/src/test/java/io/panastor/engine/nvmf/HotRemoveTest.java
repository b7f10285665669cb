package io.panastor.engine.nvmf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.panastor.engine.Await;
import io.panastor.engine.bdev.BdevClaim;
import io.panastor.engine.bdev.BdevException;
import io.panastor.engine.bdev.BdevUri;
import io.panastor.engine.bdev.BlockPattern;
import io.panastor.engine.bdev.IoRunner;
import io.panastor.engine.bdev.IoRunner.Result;
import io.panastor.engine.bdev.IoStatus;
import io.panastor.engine.nvmf.host.NvmfBdev;
import io.panastor.engine.nvmf.host.NvmfUri;
import io.panastor.natives.Errno;
import io.panastor.reactor.ManualNanoClock;
import io.panastor.reactor.Reactors;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Hot-remove of a remote bdev, on the host reactor's manual clock: a controller lost for
 * longer than {@code ctrlr_loss_timeout_ms} (its target stopped for good) fails every IO it
 * held and tells its claimant once, and the bdev leaves the registry; a controller that comes
 * back before then is kept. Real waits here are hang detectors only.
 */
class HotRemoveTest {
    static final String NQN = "nqn.2026-11.io.panastor:hot-remove";
    static final long LOSS_MS = 3000;
    ManualNanoClock clock;
    Reactors targetReactors;
    Reactors hostReactors;
    RemoteTarget fixture;

    @BeforeEach
    void start() {
        clock = new ManualNanoClock();
        targetReactors = Reactors.start(List.of(0), false, 256);
        hostReactors = Reactors.builder().count(1).pin(false).clock(clock).start();
        fixture = new RemoteTarget(targetReactors, hostReactors, NQN, "SN-HOTREMOVE",
                "malloc:///hot?size_mb=8&blk_size=4096");
    }

    @AfterEach
    void stop() {
        fixture.close();
    }

    /** Moves the host clock by {@code ms} and waits until every timer due then has run. */
    void advance(long ms) {
        clock.advance(ms, TimeUnit.MILLISECONDS);
        hostReactors.awaitTimersDue().join();
    }

    static List<IoRunner.Op> reads(MemorySegment buf, int count) {
        List<IoRunner.Op> ops = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            long lba = i;
            ops.add((io, d) -> io.prepareRead(lba, 1, buf.asSlice(lba * 4096, 4096), d));
        }
        return ops;
    }

    @Test
    void aRemoteWhoseTargetStopsForGoodIsRemovedOnceWithEveryIoFailed() throws Exception {
        try (Arena arena = Arena.ofShared()) {
            NvmfBdev bdev = (NvmfBdev) fixture.hostBdevs.create("nvmf://127.0.0.1:" + fixture.address.getPort() + "/"
                    + NQN + "?ctrlr_loss_timeout_ms=" + LOSS_MS + "&io_timeout_ms=3600000&kato_ms=3600000"
                    + "&connect_timeout_ms=1000");
            String name = bdev.name();
            AtomicInteger calls = new AtomicInteger();
            List<String> threads = new java.util.concurrent.CopyOnWriteArrayList<>();
            BdevClaim claim = fixture.hostBdevs.claim(name, "mirror-test", c -> {
                calls.incrementAndGet();
                threads.add(Thread.currentThread().getName());
            });
            MemorySegment buf = arena.allocate(64 * 4096, 4096);
            new BlockPattern().fill(buf, 0, 4096, 0, 1, 1);
            assertThat(IoRunner.one(hostReactors.get(0), bdev, (io, d) -> io.prepareWrite(0, 1, buf.asSlice(0, 4096), d)).ok()).isTrue();

            // IO in flight as the target stops for good.
            CompletableFuture<List<Result>> inFlight = IoRunner.many(hostReactors.get(0), bdev, reads(buf, 32), 32);
            fixture.target.close();
            Await.until("the controller lost", Duration.ofSeconds(60), () -> bdev.controllerId() < 0);
            // IO submitted while the controller is lost is held.
            CompletableFuture<List<Result>> held = IoRunner.many(hostReactors.get(0), bdev, reads(buf, 8), 8);

            // Reconnects fail, with backoff; short of the loss timeout nothing is given up.
            for (long t = 0; t + 500 < LOSS_MS; t += 500) {
                advance(500);
            }
            assertThat(calls).hasValue(0);
            assertThat(held).isNotDone();
            assertThat(fixture.hostBdevs.lookup(name)).containsSame(bdev);

            advance(1000);      // past the loss timeout
            Await.until("the claimant told", Duration.ofSeconds(60), () -> calls.get() > 0);
            List<Result> heldResults = held.get(60, TimeUnit.SECONDS);
            assertThat(heldResults).hasSize(8).allSatisfy(r -> {
                assertThat(r.status()).isEqualTo(IoStatus.IO_ERROR);
                assertThat(r.errno()).isEqualTo(Errno.ENODEV);
            });
            List<Result> flightResults = inFlight.get(60, TimeUnit.SECONDS);
            assertThat(flightResults).hasSize(32).allSatisfy(r -> assertThat(r.ok() || r.status() == IoStatus.IO_ERROR)
                    .as("%s", r).isTrue());
            assertThat(fixture.hostBdevs.lookup(name)).isEmpty();
            assertThat(claim.removed()).isTrue();
            assertThat(claim.removedReason()).contains("ctrlr_loss_timeout_ms");
            assertThat(fixture.hostBdevs.claimant(name)).isEmpty();
            assertThat(threads).singleElement().asString().startsWith("bdev-removed-");

            // Later, nothing more: no reconnect, no second call.
            for (int i = 0; i < 10; i++) {
                advance(5000);
            }
            assertThat(calls).hasValue(1);
            assertThat(fixture.hostBdevs.list()).isEmpty();
        }
    }

    @Test
    void theLossTimeoutParameterDefaultsTo30sAndZeroMeansNever() {
        String base = "nvmf://127.0.0.1:4420/" + NQN;
        assertThat(NvmfUri.of(BdevUri.parse(base)).ctrlrLossTimeoutMillis()).isEqualTo(30_000);
        assertThat(NvmfUri.of(BdevUri.parse(base + "?ctrlr_loss_timeout_ms=0")).ctrlrLossTimeoutMillis()).isZero();
        assertThat(NvmfUri.of(BdevUri.parse(base + "?ctrlr_loss_timeout_ms=1500")).ctrlrLossTimeoutMillis())
                .isEqualTo(1500);
        for (String bad : List.of("-1", "soon", "")) {
            assertThatThrownBy(() -> NvmfUri.of(BdevUri.parse(base + "?ctrlr_loss_timeout_ms=" + bad)))
                    .isInstanceOf(BdevException.class).hasMessageContaining("ctrlr_loss_timeout_ms");
        }
    }

    @Test
    void aControllerBackBeforeTheLossTimeoutIsKept() throws Exception {
        try (PduProxy proxy = new PduProxy(fixture.address); Arena arena = Arena.ofShared()) {
            NvmfBdev bdev = (NvmfBdev) fixture.hostBdevs.create("nvmf://127.0.0.1:" + proxy.port() + "/" + NQN
                    + "?ctrlr_loss_timeout_ms=" + LOSS_MS + "&io_timeout_ms=3600000&kato_ms=3600000");
            AtomicInteger calls = new AtomicInteger();
            BdevClaim claim = fixture.hostBdevs.claim(bdev.name(), "mirror-test", c -> calls.incrementAndGet());
            MemorySegment buf = arena.allocate(4096, 4096);
            new BlockPattern().fill(buf, 0, 4096, 3, 1, 7);
            assertThat(IoRunner.one(hostReactors.get(0), bdev, (io, d) -> io.prepareWrite(3, 1, buf, d)).ok()).isTrue();
            int before = bdev.controllerId();

            // A network fault: every connection cut; the admin queue reconnects after its first backoff.
            for (int id = 1; id <= 8; id++) {
                proxy.cut(id);
            }
            Await.until("the controller lost", Duration.ofSeconds(60), () -> bdev.controllerId() < 0);
            advance(200);
            Await.until("a new controller", Duration.ofSeconds(60),
                    () -> bdev.controllerId() >= 0 && bdev.controllerId() != before);

            // Well past the loss timeout: kept, claimed, and working.
            for (int i = 0; i < 4; i++) {
                advance(LOSS_MS);
            }
            assertThat(calls).hasValue(0);
            assertThat(claim.removed()).isFalse();
            assertThat(fixture.hostBdevs.lookup(bdev.name())).containsSame(bdev);
            Result again;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            do {
                buf.fill((byte) 0);
                again = IoRunner.one(hostReactors.get(0), bdev, (io, d) -> io.prepareRead(3, 1, buf, d));
            } while (!again.ok() && System.nanoTime() < deadline);
            assertThat(again.ok()).isTrue();
            assertThat(new BlockPattern().verify(buf, 0, 4096, 3, 7)).isEqualTo(BlockPattern.Verdict.OK);
            claim.close();
        }
    }
}
