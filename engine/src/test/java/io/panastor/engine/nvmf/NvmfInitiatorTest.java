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
import io.panastor.engine.nvmf.host.NvmfBdev;
import io.panastor.engine.nvmf.tgt.NvmfTarget;
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
    RemoteTarget fixture;
    Bdev exported;

    @BeforeEach
    void start() {
        targetReactors = Reactors.start(List.of(1 % Runtime.getRuntime().availableProcessors()), true, 256);
        hostReactors = Reactors.start(2);
        fixture = new RemoteTarget(targetReactors, hostReactors, NQN, "SN-INIT", "malloc:///remote?size_mb=32&blk_size=4096");
        targetBdevs = fixture.targetBdevs;
        target = fixture.target;
        address = fixture.address;
        hostBdevs = fixture.hostBdevs;
        exported = fixture.exported;
    }

    @AfterEach
    void stop() {
        fixture.close();
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
            // Freeze the target's only reactor until the read has failed: the failure cannot be
            // the target's answer, only the host's timeout (no elapsed-time window to miss).
            java.util.concurrent.CountDownLatch thaw = new java.util.concurrent.CountDownLatch(1);
            targetReactors.get(0).execute(() -> {
                try {
                    thaw.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            Result r;
            try {
                r = IoRunner.one(host, bdev, (io, d) -> io.prepareRead(3, 1, buf, d));
            } finally {
                thaw.countDown();
            }
            assertThat(r.status()).isEqualTo(IoStatus.IO_ERROR);
            assertThat(r.errno()).isEqualTo(Errno.ETIMEDOUT);
            // Once the target answers again, the queue reconnects and IO flows.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            Result again;
            do {
                buf.fill((byte) 0);
                again = IoRunner.one(host, bdev, (io, d) -> io.prepareRead(3, 1, buf, d));
            } while (!again.ok() && System.nanoTime() < deadline);
            assertThat(again.ok()).isTrue();
            assertThat(new BlockPattern().verify(buf, 0, 4096, 3, 1)).isEqualTo(BlockPattern.Verdict.OK);
        }
    }

    static final int FC_PROPERTY_SET = 0x00;
    static final int FC_CONNECT = 0x01;
    static final int FC_DISCONNECT = 0x08;
    static final int ADMIN_ABORT = 0x08;
    static final int NVM_READ = 0x02;
    static final int PROP_CC = 0x14;

    @Test
    void aCommandTheAbortCannotReachResetsTheControllerAndEveryQueueReconnects() throws Exception {
        try (PduProxy proxy = new PduProxy(address); Arena arena = Arena.ofShared()) {
            NvmfBdev bdev = throughProxy(proxy, "?io_timeout_ms=1000&kato_ms=10000");
            int bs = bdev.blockSize();
            MemorySegment buf = arena.allocate(bs, 4096);
            // Both reactors' queues are up and carry data.
            writeFromEachReactor(bdev, buf, 10, 5);
            int before = bdev.controllerId();
            assertThat(target.controllers()).singleElement().satisfies(c -> assertThat(c.cntlid()).isEqualTo(before));
            // The network loses the next read: the target never sees it, so the abort finds nothing.
            proxy.drop(c -> c.opcode() == NVM_READ);
            Result lost = IoRunner.one(hostReactors.get(0), bdev, (io, d) -> io.prepareRead(10, 1, buf, d));
            List<PduProxy.Capsule> atFailure = proxy.capsules();
            proxy.drop(c -> false);
            assertThat(lost.status()).isEqualTo(IoStatus.IO_ERROR);
            assertThat(lost.errno()).isEqualTo(Errno.ETIMEDOUT);
            // Abort after one timeout, the read's failure (and the reset) after the second: the
            // abort was on the wire before the read failed.
            PduProxy.Capsule droppedRead = atFailure.stream().filter(PduProxy.Capsule::dropped).findFirst().orElseThrow();
            assertThat(atFailure).anyMatch(c -> c.opcode() == ADMIN_ABORT
                    && (c.cdw10() >>> 16) == droppedRead.cid());
            io.panastor.engine.Await.until("a new controller", java.time.Duration.ofSeconds(10),
                    () -> bdev.controllerId() >= 0 && bdev.controllerId() != before);
            // On the wire: the abort, then the reset of the old controller on its admin queue
            // (CC.EN cleared, Disconnect), then a new association whose controller is enabled.
            List<PduProxy.Capsule> wire = proxy.capsules();
            int adminConn = wire.stream().filter(c -> c.fabrics(FC_CONNECT) && c.connectQid() == 0)
                    .findFirst().orElseThrow().connection();
            int abort = indexOf(wire, c -> c.connection() == adminConn && c.opcode() == ADMIN_ABORT);
            int disable = indexOf(wire, c -> c.connection() == adminConn && c.fabrics(FC_PROPERTY_SET)
                    && c.cdw11() == PROP_CC && (c.cdw12() & 1) == 0);
            int disconnect = indexOf(wire, c -> c.connection() == adminConn && c.fabrics(FC_DISCONNECT));
            int reconnect = indexOf(wire, c -> c.connection() != adminConn && c.fabrics(FC_CONNECT) && c.connectQid() == 0);
            assertThat(abort).isNotNegative();
            assertThat(disable).isGreaterThan(abort);
            assertThat(disconnect).isGreaterThan(disable);
            assertThat(reconnect).isGreaterThan(disconnect);
            int newAdmin = wire.get(reconnect).connection();
            assertThat(wire.subList(reconnect, wire.size())).anyMatch(c -> c.connection() == newAdmin
                    && c.fabrics(FC_PROPERTY_SET) && c.cdw11() == PROP_CC && (c.cdw12() & 1) == 1);
            // The old controller is gone from the target; every reactor's queue works on the new one.
            io.panastor.engine.Await.until("one controller on the target", java.time.Duration.ofSeconds(5),
                    () -> target.controllers().size() == 1 && target.controllers().getFirst().cntlid() == bdev.controllerId());
            for (int r = 0; r < 2; r++) {
                long lba = 10 + r;
                buf.fill((byte) 0);
                Result again = IoRunner.one(hostReactors.get(r), bdev, (io, d) -> io.prepareRead(lba, 1, buf, d));
                assertThat(again.ok()).as("read on reactor %d after the reset", r).isTrue();
                assertThat(new BlockPattern().verify(buf, 0, bs, lba, 5)).isEqualTo(BlockPattern.Verdict.OK);
            }
            long ioQueuesOnNewController = proxy.capsules().stream()
                    .filter(c -> c.fabrics(FC_CONNECT) && c.connectQid() > 0 && c.connection() > newAdmin).count();
            assertThat(ioQueuesOnNewController).isEqualTo(2);
        }
    }

    @Test
    void aLostAdminConnectionSuspendsEveryQueueUntilANewControllerIsReady() throws Exception {
        try (PduProxy proxy = new PduProxy(address); Arena arena = Arena.ofShared()) {
            // Keep-alive every 60 s: recovery must not wait for it.
            NvmfBdev bdev = throughProxy(proxy, "?io_timeout_ms=1000&kato_ms=120000");
            int bs = bdev.blockSize();
            MemorySegment buf = arena.allocate(bs, 4096);
            writeFromEachReactor(bdev, buf, 20, 9);
            int before = bdev.controllerId();
            // The network drops the admin connection (the first one made): the target ends the
            // controller and its IO queues; the IO queues, refused when they reconnect, make the
            // admin queue check at once instead of at its next keep-alive.
            proxy.cut(1);
            io.panastor.engine.Await.until("a new controller well before the next keep-alive",
                    java.time.Duration.ofSeconds(40), () -> bdev.controllerId() >= 0 && bdev.controllerId() != before);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            for (int r = 0; r < 2; r++) {
                long lba = 20 + r;
                Result again;
                do {
                    buf.fill((byte) 0);
                    again = IoRunner.one(hostReactors.get(r), bdev, (io, d) -> io.prepareRead(lba, 1, buf, d));
                } while (!again.ok() && System.nanoTime() < deadline);
                assertThat(again.ok()).as("read on reactor %d after the admin queue came back", r).isTrue();
                assertThat(new BlockPattern().verify(buf, 0, bs, lba, 9)).isEqualTo(BlockPattern.Verdict.OK);
            }
            assertThat(target.controllers()).singleElement()
                    .satisfies(c -> assertThat(c.cntlid()).isEqualTo(bdev.controllerId()));
        }
    }

    @Test
    void closingTheBdevDisconnectsEveryQueue() throws Exception {
        try (PduProxy proxy = new PduProxy(address); Arena arena = Arena.ofShared()) {
            Bdev bdev = hostBdevs.create("nvmf://127.0.0.1:" + proxy.port() + "/" + NQN);
            MemorySegment buf = arena.allocate(bdev.blockSize(), 4096);
            for (int r = 0; r < 2; r++) {
                long lba = r;
                assertThat(IoRunner.one(hostReactors.get(r), bdev, (io, d) -> io.prepareRead(lba, 1, buf, d)).ok())
                        .isTrue();
            }
            assertThat(proxy.openConnections()).isEqualTo(3);
            hostBdevs.destroy(bdev.name()).join();
            io.panastor.engine.Await.until("every connection closed", java.time.Duration.ofSeconds(5),
                    () -> proxy.openConnections() == 0 && target.controllers().isEmpty());
            List<PduProxy.Capsule> wire = proxy.capsules();
            for (int conn = 1; conn <= 3; conn++) {
                int id = conn;
                List<PduProxy.Capsule> mine = wire.stream().filter(c -> c.connection() == id).toList();
                assertThat(mine.getLast().fabrics(FC_DISCONNECT)).as("last command on connection %d is a Disconnect: %s",
                        id, mine.getLast()).isTrue();
            }
        }
    }

    private NvmfBdev throughProxy(PduProxy proxy, String params) {
        return (NvmfBdev) hostBdevs.create("nvmf://127.0.0.1:" + proxy.port() + "/" + NQN + params);
    }

    /** Writes one pattern block from each host reactor's queue: LBA {@code firstLba + reactor}. */
    private void writeFromEachReactor(Bdev bdev, MemorySegment buf, long firstLba, long generation) {
        for (int r = 0; r < 2; r++) {
            long lba = firstLba + r;
            new BlockPattern().fill(buf, 0, bdev.blockSize(), lba, 1, generation);
            assertThat(IoRunner.one(hostReactors.get(r), bdev, (io, d) -> io.prepareWrite(lba, 1, buf, d)).ok())
                    .isTrue();
        }
    }

    private static int indexOf(List<PduProxy.Capsule> wire, java.util.function.Predicate<PduProxy.Capsule> p) {
        for (int i = 0; i < wire.size(); i++) {
            if (p.test(wire.get(i))) {
                return i;
            }
        }
        return -1;
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
