package io.panastor.engine.nvmf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BdevException;
import io.panastor.engine.bdev.Bdevs;
import io.panastor.engine.bdev.BlockPattern;
import io.panastor.engine.bdev.IoRunner;
import io.panastor.engine.bdev.IoRunner.Op;
import io.panastor.engine.bdev.IoRunner.Result;
import io.panastor.engine.bdev.IoStatus;
import io.panastor.engine.bdev.IoType;
import io.panastor.engine.nvmf.target.NvmfTarget;
import io.panastor.natives.Errno;
import io.panastor.reactor.Reactor;
import io.panastor.reactor.Reactors;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The nvmf:// bdev kind against Panastor's own target over 127.0.0.1. */
class NvmfInitiatorTest {
    static final String NQN = "nqn.2026-11.io.panastor:initiator-test";
    Reactors targetReactors;
    Reactors hostReactors;
    Bdevs targetBdevs;
    Bdevs hostBdevs;
    NvmfTarget target;
    InetSocketAddress address;
    Bdev exported;

    @BeforeEach
    void start() {
        targetReactors = Reactors.start(List.of(1 % Runtime.getRuntime().availableProcessors()), true, 256);
        hostReactors = Reactors.start(2);
        targetBdevs = new Bdevs();
        exported = targetBdevs.create("malloc:///remote?size_mb=32&blk_size=4096");
        target = new NvmfTarget(targetReactors, targetBdevs);
        target.createSubsystem(NQN, "SN-INIT", "Panastor", true, List.of());
        target.addNamespace(NQN, "remote", 1);
        address = target.addListener("127.0.0.1", 0);
        hostBdevs = new Bdevs();
    }

    @AfterEach
    void stop() {
        hostBdevs.destroyAll().join();
        hostReactors.close();
        target.close();
        targetBdevs.destroyAll().join();
        targetReactors.close();
    }

    String uri(String params) {
        return "nvmf://127.0.0.1:" + address.getPort() + "/" + NQN + params;
    }

    @ParameterizedTest(name = "params=''{0}''")
    @ValueSource(strings = {"", "?hdgst=1&ddgst=1"})
    void remoteNamespaceIsWrittenAndReadFromTwoReactors(String params) throws Exception {
        Bdev bdev = hostBdevs.create(uri(params));
        assertThat(bdev.blockSize()).isEqualTo(4096);
        assertThat(bdev.blockCount()).isEqualTo(exported.blockCount());
        assertThat(bdev.productName()).isEqualTo("NVMe/TCP disk");
        int bs = bdev.blockSize();
        try (Arena arena = Arena.ofShared()) {
            List<List<long[]>> extents = new ArrayList<>();
            List<CompletableFuture<List<Result>>> writes = new ArrayList<>();
            for (int r = 0; r < 2; r++) {
                Random rnd = new Random(r);
                List<long[]> mine = new ArrayList<>();
                List<Op> ops = new ArrayList<>();
                BlockPattern p = new BlockPattern();
                for (int i = 0; i < 60; i++) {
                    long slot = 2L * i + r;
                    int blocks = 1 + rnd.nextInt(32);
                    long lba = slot * 32;
                    MemorySegment data = arena.allocate((long) blocks * bs, 4096);
                    p.fill(data, 0, bs, lba, blocks, 7 + r);
                    mine.add(new long[] {lba, blocks, 7 + r});
                    boolean split = blocks >= 2 && i % 3 == 0;
                    ops.add((io, d) -> split
                            ? io.prepareVectored(IoType.WRITE, lba, blocks, d).addBuffer(data.asSlice(0, bs))
                                    .addBuffer(data.asSlice(bs))
                            : io.prepareWrite(lba, blocks, data, d));
                }
                extents.add(mine);
                writes.add(IoRunner.many(hostReactors.get(r), bdev, ops, 16));
            }
            for (CompletableFuture<List<Result>> w : writes) {
                assertThat(w.join()).allMatch(Result::ok);
            }
            // Each reactor reads the other's extents over its own queue; and the target's bdev holds them too.
            for (int r = 0; r < 2; r++) {
                for (long[] e : extents.get(1 - r)) {
                    long lba = e[0];
                    int blocks = (int) e[1];
                    MemorySegment over = arena.allocate((long) blocks * bs, 4096);
                    MemorySegment local = arena.allocate((long) blocks * bs, 4096);
                    assertThat(IoRunner.one(hostReactors.get(r), bdev, (io, d) -> io.prepareRead(lba, blocks, over, d)).ok())
                            .isTrue();
                    assertThat(IoRunner.one(targetReactors.get(0), exported,
                            (io, d) -> io.prepareRead(lba, blocks, local, d)).ok()).isTrue();
                    BlockPattern p = new BlockPattern();
                    for (int b = 0; b < blocks; b++) {
                        assertThat(p.verify(over, (long) b * bs, bs, lba + b, e[2])).isEqualTo(BlockPattern.Verdict.OK);
                        assertThat(p.verify(local, (long) b * bs, bs, lba + b, e[2])).isEqualTo(BlockPattern.Verdict.OK);
                    }
                }
            }
            Reactor r0 = hostReactors.get(0);
            long[] first = extents.get(0).getFirst();
            assertThat(IoRunner.one(r0, bdev, (io, d) -> io.prepareUnmap(first[0], first[1], d)).ok()).isTrue();
            long[] second = extents.get(1).getFirst();
            assertThat(IoRunner.one(r0, bdev, (io, d) -> io.prepareWriteZeroes(second[0], second[1], d)).ok()).isTrue();
            assertThat(IoRunner.one(r0, bdev, (io, d) -> io.prepareFlush(0, bdev.blockCount(), d)).ok()).isTrue();
            for (long[] e : List.of(first, second)) {
                MemorySegment z = arena.allocate(e[1] * bs, 4096);
                z.fill((byte) 1);
                assertThat(IoRunner.one(r0, bdev, (io, d) -> io.prepareRead(e[0], e[1], z, d)).ok()).isTrue();
                assertThat(new BlockPattern().verify(z, 0, bs, e[0], e[2])).isEqualTo(BlockPattern.Verdict.ZERO);
            }
            MemorySegment past = arena.allocate(bs, 4096);
            assertThat(IoRunner.one(r0, bdev, (io, d) -> io.prepareRead(bdev.blockCount(), 1, past, d)).status())
                    .isEqualTo(IoStatus.OUT_OF_RANGE);
        }
        assertThat(target.controllers()).hasSize(1);
        hostBdevs.destroy(bdev.name()).join();
        io.panastor.engine.Await.until("the controller to go after destroy", java.time.Duration.ofSeconds(5),
                () -> target.controllers().isEmpty());
    }

    @Test
    void targetThatStopsAnsweringFailsIoWithinTheTimeoutAndTheQueueRecovers() throws Exception {
        Bdev bdev = hostBdevs.create(uri("?io_timeout_ms=500&kato_ms=10000"));
        Reactor host = hostReactors.get(0);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(4096, 4096);
            new BlockPattern().fill(buf, 0, 4096, 3, 1, 1);
            assertThat(IoRunner.one(host, bdev, (io, d) -> io.prepareWrite(3, 1, buf, d)).ok()).isTrue();
            // Freeze the target's only reactor: it answers nothing for 2.5 s.
            targetReactors.get(0).execute(() -> java.util.concurrent.locks.LockSupport.parkNanos(2_500_000_000L));
            long start = System.nanoTime();
            Result r = IoRunner.one(host, bdev, (io, d) -> io.prepareRead(3, 1, buf, d));
            long waited = System.nanoTime() - start;
            assertThat(r.status()).isEqualTo(IoStatus.IO_ERROR);
            assertThat(r.errno()).isEqualTo(Errno.ETIMEDOUT);
            assertThat(waited).as("failed within the timeout plus a scan").isLessThan(TimeUnit.MILLISECONDS.toNanos(2000));
            // Once the target answers again, the queue reconnects and IO flows.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            Result again;
            do {
                buf.fill((byte) 0);
                again = IoRunner.one(host, bdev, (io, d) -> io.prepareRead(3, 1, buf, d));
            } while (!again.ok() && System.nanoTime() < deadline);
            assertThat(again.ok()).isTrue();
            assertThat(new BlockPattern().verify(buf, 0, 4096, 3, 1)).isEqualTo(BlockPattern.Verdict.OK);
        }
    }

    @Test
    void badOrUnreachableTargetsAreClearErrors() {
        assertThatThrownBy(() -> hostBdevs.create("nvmf:///" + NQN)).hasMessageContaining("needs a host");
        assertThatThrownBy(() -> hostBdevs.create("nvmf://127.0.0.1:99999/" + NQN)).hasMessageContaining("bad port");
        assertThatThrownBy(() -> hostBdevs.create("nvmf://127.0.0.1:4420/not-an-nqn")).hasMessageContaining("subsystem NQN");
        assertThatThrownBy(() -> hostBdevs.create(uri("&colour=red").replace("&", "?")))
                .hasMessageContaining("unknown parameter 'colour'");
        assertThatThrownBy(() -> hostBdevs.create("nvmf://127.0.0.1:1/" + NQN))
                .isInstanceOf(BdevException.class).hasMessageContaining("cannot reach 127.0.0.1:1");
        assertThatThrownBy(() -> hostBdevs.create("nvmf://127.0.0.1:" + address.getPort() + "/nqn.2026-11.io.x:none"))
                .isInstanceOf(BdevException.class).hasMessageContaining("refused the admin connect");
        assertThat(hostBdevs.list()).isEmpty();
    }
}
