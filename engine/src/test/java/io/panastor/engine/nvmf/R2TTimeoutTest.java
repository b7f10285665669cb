package io.panastor.engine.nvmf;

import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.engine.Await;
import io.panastor.engine.bdev.Bdevs;
import io.panastor.engine.bdev.BlockPattern;
import io.panastor.engine.nvmf.proto.NvmeOpcodes;
import io.panastor.engine.nvmf.proto.TcpPdu;
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
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * No buffer held hostage (issue 9, item 7): a host that takes an R2T and never sends the data
 * holds a data buffer of its reactor's shared pool only until the R2T timeout, measured on the
 * target reactor's clock — here a manual one, so nothing times out until the test moves it,
 * whatever the machine's load. Then that connection is closed, the buffer goes back to the
 * pool, and another connection's read that waited for it completes with the right data.
 */
class R2TTimeoutTest {
    static final String NQN = "nqn.2026-11.io.panastor:r2t-timeout";
    static final int BS = 4096;
    /** 128 KiB: the large buffer class, of which the pool holds one. */
    static final int BLOCKS = 32;
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
        bdevs.create("malloc:///t0?size_mb=8&blk_size=4096");
        target = new NvmfTarget(reactors, bdevs);
        target.createSubsystem(NQN, "SN-R2T", "Panastor R2T timeout", true, List.of());
        target.addNamespace(NQN, "t0", 1);
        // One buffer of each class on the (only) reactor: a hostage of it starves everyone.
        target.setDataBufferLimits(1, 1);
        target.setR2TTimeout(Duration.ofMillis(TIMEOUT_MS));
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

    private TestHost ioQueue(int qid, int cntlid) throws IOException {
        TestHost h = new TestHost(address);
        open.add(h);
        h.icReq(false, false);
        assertThat(h.connect(qid, 127, cntlid, NQN, TestHost.HOST_NQN, 0).ok()).isTrue();
        return h;
    }

    @Test
    void aHostThatNeverAnswersAnR2TIsClosedAtTheDeadlineAndTheReadItStarvedCompletes() throws Exception {
        TestHost admin = new TestHost(address);
        open.add(admin);
        int cntlid = admin.openAdmin(NQN, 0);
        TestHost reader = ioQueue(1, cntlid);
        byte[] data = pattern(0, BLOCKS, 3);
        assertThat(reader.write(1, 0, data, BS, false).ok()).isTrue();
        assertThat(reader.read(1, 0, BLOCKS, BS).data()).isEqualTo(data);
        int[] before = target.freeDataBuffers().join();
        assertThat(before[1]).as("free large buffers while nothing runs").isEqualTo(1);

        // The hostage: a 128 KiB write by R2T whose data never comes.
        TestHost hostage = ioQueue(2, cntlid);
        ByteBuffer sqe = TestHost.sqe(NvmeOpcodes.NVM_WRITE, 1);
        sqe.putShort(2, (short) 77).putLong(40, 64).putInt(48, BLOCKS - 1);
        sqe.putLong(24, 0).putInt(32, BLOCKS * BS).put(39, (byte) 0x5A);
        hostage.send(hostage.capsule(sqe, null));
        ByteBuffer r2t = hostage.readPdu();
        assertThat((int) r2t.get(0)).as("PDU type").isEqualTo(TcpPdu.R2T);
        assertThat(target.freeDataBuffers().join()[1]).as("free large buffers with the R2T out").isZero();

        // Another connection's large read waits for the buffer the hostage holds.
        CompletableFuture<TestHost.Completion> read = reader.readAsync(1, 0, BLOCKS, BS);
        reactors.awaitTimersDue().join();
        assertThat(read).as("the read, before the clock moves").isNotDone();
        assertThat(target.counters().r2tTimeouts()).isZero();

        clock.advance(TIMEOUT_MS + 1, TimeUnit.MILLISECONDS);
        reactors.awaitTimersDue().join();

        TestHost.Completion c = read.get(60, TimeUnit.SECONDS);
        assertThat(c.status()).as("status of the read").isZero();
        assertThat(c.data()).as("data read back").isEqualTo(data);
        assertThat(hostage.closedByTarget()).as("hostage connection closed").isTrue();
        assertThat(target.counters().r2tTimeouts()).isEqualTo(1);
        assertThat(target.counters().transportErrors()).isZero();
        assertThat(target.counters().handlerFailures()).isZero();
        Await.until("the pool's free buffers to be back", Duration.ofSeconds(30),
                () -> Arrays.equals(target.freeDataBuffers().join(), before));
        // The write never ran, and the reader's queue serves on.
        assertThat(reader.read(1, 64, BLOCKS, BS).data()).isEqualTo(new byte[BLOCKS * BS]);
        byte[] more = pattern(64, BLOCKS, 4);
        assertThat(reader.write(1, 64, more, BS, false).ok()).isTrue();
        assertThat(reader.read(1, 64, BLOCKS, BS).data()).isEqualTo(more);
    }

    @Test
    void aHostThatSendsItsDataInTimeIsNotClosedWhenTheClockMovesOn() throws Exception {
        TestHost admin = new TestHost(address);
        open.add(admin);
        int cntlid = admin.openAdmin(NQN, 0);
        TestHost h = ioQueue(1, cntlid);
        for (int round = 0; round < 3; round++) {
            byte[] data = pattern(32L * round, BLOCKS, 5);
            assertThat(h.write(1, 32L * round, data, BS, false).ok()).isTrue();
            // Long after the writes' R2Ts were answered: their deadlines no longer count.
            clock.advance(3 * TIMEOUT_MS, TimeUnit.MILLISECONDS);
            reactors.awaitTimersDue().join();
            assertThat(h.read(1, 32L * round, BLOCKS, BS).data()).isEqualTo(data);
        }
        assertThat(target.counters().r2tTimeouts()).isZero();
        assertThat(target.connections()).hasSize(2);
    }
}
