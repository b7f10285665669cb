package io.panastor.engine.nvmf;

import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.engine.Await;
import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.Bdevs;
import io.panastor.engine.bdev.BlockPattern;
import io.panastor.engine.bdev.IoRunner;
import io.panastor.engine.bdev.IoRunner.Result;
import io.panastor.engine.bdev.IoStatus;
import io.panastor.engine.nvmf.host.NvmfBdev;
import io.panastor.engine.nvmf.tgt.NvmfTarget;
import io.panastor.natives.Errno;
import io.panastor.reactor.ManualNanoClock;
import io.panastor.reactor.Reactors;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The initiator's timeouts driven by the host reactor's manual clock: nothing times out until
 * the test moves time, and then exactly what is due happens — an abort after one
 * {@code io_timeout_ms}, the IO's failure and a controller reset after the second — whatever
 * the machine's load.
 */
class NvmfTimeoutClockTest {
    static final String NQN = "nqn.2026-11.io.panastor:clock-test";
    static final int NVM_READ = 0x02;
    static final int ADMIN_ABORT = 0x08;
    static final long TIMEOUT_MS = 1000;
    ManualNanoClock clock;
    Reactors targetReactors;
    Reactors hostReactors;
    Bdevs targetBdevs;
    Bdevs hostBdevs;
    NvmfTarget target;
    InetSocketAddress address;
    RemoteTarget fixture;

    @BeforeEach
    void start() {
        clock = new ManualNanoClock();
        targetReactors = Reactors.start(List.of(0), false, 256);
        hostReactors = Reactors.builder().count(1).pin(false).clock(clock).start();
        fixture = new RemoteTarget(targetReactors, hostReactors, NQN, "SN-CLOCK", "malloc:///clock?size_mb=8&blk_size=4096");
        targetBdevs = fixture.targetBdevs;
        target = fixture.target;
        address = fixture.address;
        hostBdevs = fixture.hostBdevs;
    }

    @AfterEach
    void stop() {
        fixture.close();
    }

    @Test
    void aLostCommandIsAbortedAfterOneTimeoutAndFailsWithAResetAfterTheSecond() throws Exception {
        try (PduProxy proxy = new PduProxy(address); Arena arena = Arena.ofShared()) {
            NvmfBdev bdev = (NvmfBdev) hostBdevs.create("nvmf://127.0.0.1:" + proxy.port() + "/" + NQN
                    + "?io_timeout_ms=" + TIMEOUT_MS + "&kato_ms=3600000");
            MemorySegment buf = arena.allocate(4096, 4096);
            new BlockPattern().fill(buf, 0, 4096, 5, 1, 2);
            assertThat(IoRunner.one(hostReactors.get(0), bdev, (io, d) -> io.prepareWrite(5, 1, buf, d)).ok()).isTrue();
            int before = bdev.controllerId();
            proxy.drop(c -> c.opcode() == NVM_READ);
            CompletableFuture<List<Result>> lost = IoRunner.many(hostReactors.get(0), bdev,
                    List.of((io, d) -> io.prepareRead(5, 1, buf, d)), 1);
            Await.until("the read on the wire", Duration.ofSeconds(60),
                    () -> proxy.capsules().stream().anyMatch(c -> c.dropped()));
            // However long the real wait, nothing happens until the clock moves.
            assertThat(lost).isNotDone();
            clock.advance(TIMEOUT_MS + 200, TimeUnit.MILLISECONDS);
            hostReactors.awaitTimersDue().join();
            Await.until("an abort of the read", Duration.ofSeconds(60),
                    () -> proxy.capsules().stream().anyMatch(c -> c.opcode() == ADMIN_ABORT));
            assertThat(lost).isNotDone();
            proxy.drop(c -> false);
            clock.advance(TIMEOUT_MS + 200, TimeUnit.MILLISECONDS);
            hostReactors.awaitTimersDue().join();
            Result r = lost.get(60, TimeUnit.SECONDS).getFirst();
            assertThat(r.status()).isEqualTo(IoStatus.IO_ERROR);
            assertThat(r.errno()).isEqualTo(Errno.ETIMEDOUT);
            // The reset makes a new controller; the queue comes back on it and reads the block.
            Await.until("a new controller", Duration.ofSeconds(60),
                    () -> bdev.controllerId() >= 0 && bdev.controllerId() != before);
            Result again;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            do {
                buf.fill((byte) 0);
                again = IoRunner.one(hostReactors.get(0), bdev, (io, d) -> io.prepareRead(5, 1, buf, d));
            } while (!again.ok() && System.nanoTime() < deadline);
            assertThat(again.ok()).isTrue();
            assertThat(new BlockPattern().verify(buf, 0, 4096, 5, 2)).isEqualTo(BlockPattern.Verdict.OK);
            Bdev same = hostBdevs.list().getFirst();
            assertThat(same).isSameAs(bdev);
        }
    }
}
