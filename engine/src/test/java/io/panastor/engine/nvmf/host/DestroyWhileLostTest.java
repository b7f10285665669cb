package io.panastor.engine.nvmf.host;

import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.engine.Await;
import io.panastor.engine.bdev.IoRunner;
import io.panastor.engine.bdev.IoRunner.Result;
import io.panastor.engine.bdev.IoStatus;
import io.panastor.engine.nvmf.RemoteTarget;
import io.panastor.reactor.Reactors;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Destroying a remote bdev whose target went away ends the IO it holds for a reconnect at
 * once: a load generator that stops at its runtime does not wait for {@code
 * ctrlr_loss_timeout_ms}, here infinite (0), so without it the destroy would never end. Real
 * waits here are hang detectors only.
 */
class DestroyWhileLostTest {
    static final String NQN = "nqn.2026-11.io.panastor:destroy-while-lost";

    @Test
    void destroyingABdevWhoseControllerIsLostAbortsTheIoItHolds() throws Exception {
        Reactors targetReactors = Reactors.start(List.of(0), false, 256);
        Reactors hostReactors = Reactors.builder().count(1).pin(false).start();
        try (RemoteTarget fixture = new RemoteTarget(targetReactors, hostReactors, NQN, "SN-DWL",
                "malloc:///dwl?size_mb=8&blk_size=4096"); Arena arena = Arena.ofShared()) {
            NvmfBdev bdev = (NvmfBdev) fixture.hostBdevs.create("nvmf://127.0.0.1:" + fixture.address.getPort() + "/"
                    + NQN + "?ctrlr_loss_timeout_ms=0&io_timeout_ms=3600000&kato_ms=3600000");
            fixture.target.close();
            Await.until("the controller lost", Duration.ofSeconds(60), () -> bdev.controllerId() < 0);
            MemorySegment buf = arena.allocate(8 * 4096, 4096);
            List<IoRunner.Op> reads = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                long lba = i;
                reads.add((io, d) -> io.prepareRead(lba, 1, buf.asSlice(lba * 4096, 4096), d));
            }
            CompletableFuture<List<Result>> held = IoRunner.many(hostReactors.get(0), bdev, reads, 8);
            hostReactors.get(0).submit(() -> null).get(60, TimeUnit.SECONDS);    // the reads are submitted
            assertThat(held).isNotDone();

            fixture.hostBdevs.destroy(bdev.name()).get(60, TimeUnit.SECONDS);
            assertThat(held.get(60, TimeUnit.SECONDS)).hasSize(8)
                    .allSatisfy(r -> assertThat(r.status()).isEqualTo(IoStatus.ABORTED));
            assertThat(fixture.hostBdevs.list()).isEmpty();
        }
    }
}
