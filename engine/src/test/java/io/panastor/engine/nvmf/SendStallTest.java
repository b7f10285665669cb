package io.panastor.engine.nvmf;

import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.engine.Await;
import io.panastor.engine.bdev.Bdevs;
import io.panastor.engine.bdev.BlockPattern;
import io.panastor.engine.nvmf.proto.NvmeOpcodes;
import io.panastor.engine.nvmf.tgt.NvmfTarget;
import io.panastor.reactor.ManualNanoClock;
import io.panastor.reactor.Reactors;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * No buffer held hostage by a host that stops reading (issue 9): its reads' data waits in the
 * target's send side, on buffers of the reactor's shared pool, for as long as the socket
 * stays open. A send that makes no progress for the send-stall timeout — measured on the
 * target reactor's clock, a manual one here, so nothing times out until the test moves it —
 * ends the connection, and the buffers go back to the pool, where another connection's read
 * that starved for them gets one.
 */
class SendStallTest {
    static final String NQN = "nqn.2026-11.io.panastor:send-stall";
    static final int BS = 4096;
    /** 128 KiB reads: the large buffer class. */
    static final int BLOCKS = 32;
    /** Large buffers on the reactor: 4 MiB, pinned for sure by 16 MiB of unread reads (the kernel holds at most tcp_wmem's 4 MiB). */
    static final int LARGE_BUFFERS = 32;
    static final int HOSTAGE_READS = 127;
    static final long TIMEOUT_MS = 2_000;

    ManualNanoClock clock;
    Reactors reactors;
    Bdevs bdevs;
    NvmfTarget target;
    InetSocketAddress address;
    final List<AutoCloseable> open = new ArrayList<>();

    @BeforeEach
    void start() {
        clock = new ManualNanoClock();
        reactors = Reactors.builder().count(1).pin(false).clock(clock).start();
        bdevs = new Bdevs();
        bdevs.create("malloc:///s0?size_mb=8&blk_size=4096");
        target = new NvmfTarget(reactors, bdevs);
        target.createSubsystem(NQN, "SN-STALL", "Panastor send stall", true, List.of());
        target.addNamespace(NQN, "s0", 1);
        target.setDataBufferLimits(1024, LARGE_BUFFERS);
        target.setSendStallTimeout(Duration.ofMillis(TIMEOUT_MS));
        address = target.addListener("127.0.0.1", 0);
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : open) {
            c.close();
        }
        target.close();
        bdevs.destroyAll().join();
        reactors.close();
    }

    private static byte[] pattern(long lba, int blocks, long generation) {
        MemorySegment m = MemorySegment.ofArray(new byte[blocks * BS]);
        new BlockPattern().fill(m, 0, BS, lba, blocks, generation);
        return m.toArray(ValueLayout.JAVA_BYTE);
    }

    private TestHost ioQueue(TestHost h, int qid, int cntlid) throws IOException {
        open.add(h);
        h.icReq(false, false);
        assertThat(h.connect(qid, 127, cntlid, NQN, TestHost.HOST_NQN, 0).ok()).isTrue();
        return h;
    }

    @Test
    void aHostThatStopsReadingIsClosedAtTheDeadlineAndTheReadItStarvedCompletes() throws Exception {
        TestHost admin = new TestHost(address);
        open.add(admin);
        int cntlid = admin.openAdmin(NQN, 0);
        TestHost reader = ioQueue(new TestHost(address), 1, cntlid);
        byte[] data = pattern(0, BLOCKS, 3);
        assertThat(reader.write(1, 0, data, BS, false).ok()).isTrue();
        assertThat(reader.read(1, 0, BLOCKS, BS).data()).isEqualTo(data);

        // The hostage: 16 MiB of reads asked for on a socket that never reads.
        TestHost hostage = ioQueue(new TestHost(address, 4096), 2, cntlid);
        for (int cid = 0; cid < HOSTAGE_READS; cid++) {
            ByteBuffer sqe = TestHost.sqe(NvmeOpcodes.NVM_READ, 1);
            sqe.putShort(2, (short) cid).putLong(40, 0).putInt(48, BLOCKS - 1);
            sqe.putLong(24, 0).putInt(32, BLOCKS * BS).put(39, (byte) 0x5A);
            hostage.send(hostage.capsule(sqe, null));
        }
        Await.until("every large buffer to be pinned by the hostage's unsent reads", Duration.ofSeconds(60),
                () -> target.freeDataBuffers().join()[1] == 0);

        // Another connection's large read waits for a buffer the hostage holds.
        CompletableFuture<TestHost.Completion> read = reader.readAsync(1, 0, BLOCKS, BS);
        reactors.awaitTimersDue().join();
        assertThat(read).as("the read, before the clock moves").isNotDone();
        assertThat(target.counters().sendStalls()).isZero();

        clock.advance(TIMEOUT_MS + 1, TimeUnit.MILLISECONDS);
        reactors.awaitTimersDue().join();

        TestHost.Completion c = read.get(60, TimeUnit.SECONDS);
        assertThat(c.status()).as("status of the read").isZero();
        assertThat(c.data()).as("data read back").isEqualTo(data);
        assertThat(hostage.drainUntilClosed()).as("hostage connection closed").isTrue();
        assertThat(target.counters().sendStalls()).isEqualTo(1);
        assertThat(target.counters().r2tTimeouts()).isZero();
        assertThat(target.counters().transportErrors()).isZero();
        assertThat(target.counters().handlerFailures()).isZero();
        Await.until("the pool's large buffers to be free again", Duration.ofSeconds(30),
                () -> target.freeDataBuffers().join()[1] == LARGE_BUFFERS);
        assertThat(target.connections()).hasSize(2);
        byte[] more = pattern(64, BLOCKS, 4);
        assertThat(reader.write(1, 64, more, BS, false).ok()).isTrue();
        assertThat(reader.read(1, 64, BLOCKS, BS).data()).isEqualTo(more);
    }

    @Test
    void aHostThatReadsItsDataIsNotClosedWhenTheClockMovesOn() throws Exception {
        TestHost admin = new TestHost(address);
        open.add(admin);
        int cntlid = admin.openAdmin(NQN, 0);
        TestHost h = ioQueue(new TestHost(address, 4096), 1, cntlid);
        for (int round = 0; round < 3; round++) {
            byte[] data = pattern(32L * round, BLOCKS, 5);
            assertThat(h.write(1, 32L * round, data, BS, false).ok()).isTrue();
            assertThat(h.read(1, 32L * round, BLOCKS, BS).data()).isEqualTo(data);
            // Long after the sends completed: they no longer count.
            clock.advance(3 * TIMEOUT_MS, TimeUnit.MILLISECONDS);
            reactors.awaitTimersDue().join();
        }
        assertThat(target.counters().sendStalls()).isZero();
        assertThat(target.connections()).hasSize(2);
        assertThat(h.read(1, 0, BLOCKS, BS).data()).isEqualTo(pattern(0, BLOCKS, 5));
    }
}
