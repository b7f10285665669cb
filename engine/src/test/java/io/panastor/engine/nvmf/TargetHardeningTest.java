package io.panastor.engine.nvmf;

import static io.panastor.engine.nvmf.proto.TcpPdu.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.engine.Await;
import io.panastor.engine.bdev.BdevFactory;
import io.panastor.engine.bdev.Bdevs;
import io.panastor.engine.bdev.BlockPattern;
import io.panastor.engine.nvmf.TestHost.Completion;
import io.panastor.engine.nvmf.proto.NvmeOpcodes;
import io.panastor.engine.nvmf.proto.NvmeStatus;
import io.panastor.engine.nvmf.tgt.NvmfTarget;
import io.panastor.reactor.Reactors;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Inputs an adversary sends, each found by fuzzing the target: every one is answered with an
 * error status or ends only its own connection, and the target keeps serving.
 */
class TargetHardeningTest {
    static final String NQN = "nqn.2026-11.io.panastor:hardening";
    static final int BS = 4096;

    Reactors reactors;
    Bdevs bdevs;
    NvmfTarget target;
    InetSocketAddress address;

    @BeforeEach
    void start() {
        reactors = Reactors.start(2);
        List<BdevFactory> kinds = new ArrayList<>(ServiceLoader.load(BdevFactory.class).stream()
                .map(ServiceLoader.Provider::get).toList());
        kinds.add(new ThrowingBdevFactory());
        bdevs = new Bdevs(kinds);
        bdevs.create("malloc:///h0?size_mb=16&blk_size=4096");
        bdevs.create("throwing:///t0?size_mb=1");
        target = new NvmfTarget(reactors, bdevs);
        target.createSubsystem(NQN, "SN-HARD", "Panastor hardening", true, List.of());
        target.addNamespace(NQN, "h0", 1);
        target.addNamespace(NQN, "t0", 2);
        address = target.addListener("127.0.0.1", 0);
    }

    @AfterEach
    void stop() {
        target.close();
        bdevs.destroyAll().join();
        reactors.close();
    }

    private TestHost ioQueue(int cntlid) throws IOException {
        TestHost io = new TestHost(address);
        io.icReq(false, false);
        assertThat(io.connect(1, 127, cntlid, NQN, TestHost.HOST_NQN, 0).ok()).isTrue();
        return io;
    }

    private static Completion getLogPage(TestHost h, int lid, int bytes, long offset) throws IOException {
        ByteBuffer s = TestHost.sqe(NvmeOpcodes.ADMIN_GET_LOG_PAGE, 0xFFFFFFFFL);
        int numd = bytes / 4 - 1;
        s.putInt(40, lid | (numd << 16)).putInt(44, numd >>> 16).putLong(48, offset);
        return h.command(s, null, false, bytes);
    }

    private static byte[] pattern(long lba, int blocks, long generation) {
        MemorySegment m = MemorySegment.ofArray(new byte[blocks * BS]);
        new BlockPattern().fill(m, 0, BS, lba, blocks, generation);
        return m.toArray(ValueLayout.JAVA_BYTE);
    }

    @ParameterizedTest(name = "offset 0x{0}")
    @ValueSource(strings = {"204", "FFFFFFFF00000000", "FFFFFFFFFFFFFFFC", "8000000000000000", "100000000"})
    void getLogPageOffsetPastThePageIsInvalidFieldAndTheQueueKeepsServing(String hexOffset) throws Exception {
        long offset = Long.parseUnsignedLong(hexOffset, 16);
        try (TestHost admin = new TestHost(address)) {
            admin.openAdmin(NQN, 0);
            Completion bad = getLogPage(admin, NvmeOpcodes.LOG_SMART, 256, offset);
            assertThat(bad.status()).as("Get Log Page SMART at offset 0x%x", offset).isEqualTo(NvmeStatus.INVALID_FIELD);
            // The same connection answers the next commands: nothing was left hanging.
            Completion tail = getLogPage(admin, NvmeOpcodes.LOG_SMART, 256, 256);
            assertThat(tail.ok()).isTrue();
            Completion head = getLogPage(admin, NvmeOpcodes.LOG_SMART, 256, 0);
            assertThat(head.data()[3]).as("available spare").isEqualTo((byte) 100);
            Completion atEnd = getLogPage(admin, NvmeOpcodes.LOG_SMART, 4, 512);
            assertThat(atEnd.ok()).as("an offset equal to the page size reads nothing, successfully").isTrue();
            assertThat(admin.admin(NvmeOpcodes.ADMIN_KEEP_ALIVE, 0, 0, 0, 0).ok()).isTrue();
        }
        assertThat(target.counters().handlerFailures()).isZero();
        Await.until("the connection to be gone", Duration.ofSeconds(10), () -> target.connections().isEmpty());
    }

    @Test
    void h2cDataFlaggedLastShortOfTheR2tEndsOnlyItsConnection() throws Exception {
        try (TestHost admin = new TestHost(address)) {
            int cntlid = admin.openAdmin(NQN, 0);
            try (TestHost bystander = ioQueue(cntlid); TestHost io = new TestHost(address)) {
                io.icReq(false, false);
                assertThat(io.connect(2, 127, cntlid, NQN, TestHost.HOST_NQN, 0).ok()).isTrue();
                byte[] data = pattern(40, 8, 1);
                ByteBuffer s = TestHost.sqe(NvmeOpcodes.NVM_WRITE, 1);
                s.putShort(2, (short) 77).putLong(40, 40).putInt(48, 8 - 1);
                s.putLong(24, 0).putInt(32, data.length).put(39, (byte) 0x5A);
                io.send(io.capsule(s, null));
                ByteBuffer r2t = io.readPdu();
                assertThat(r2t.get(0)).as("PDU type").isEqualTo((byte) R2T);
                assertThat(r2t.getInt(16)).as("R2TL").isEqualTo(data.length);
                int ttag = r2t.getShort(10) & 0xFFFF;
                io.send(io.h2cData(77, ttag, 0, data, 0, BS, true));
                ByteBuffer term = io.readPdu();
                assertThat(term.get(0)).as("PDU type").isEqualTo((byte) C2H_TERM_REQ);
                assertThat(term.getShort((int) FES_OFFSET)).as("FES").isEqualTo((short) FES_INVALID_PDU_HEADER_FIELD);
                assertThat(term.getInt((int) FEI_OFFSET)).as("FEI: the flags byte").isEqualTo((int) FLAGS_OFFSET);
                assertThat(io.closedByTarget()).isTrue();

                // The other queue writes all eight blocks the same way, correctly, and reads them back.
                assertThat(bystander.write(1, 40, data, BS, false).ok()).isTrue();
                assertThat(bystander.read(1, 40, 8, BS).data()).isEqualTo(data);
            }
        }
        Await.until("every connection to be gone", Duration.ofSeconds(10), () -> target.connections().isEmpty());
    }

    /** Found by TargetFuzzTest: both threw inside the duty cycle and were never answered. */
    @ParameterizedTest(name = "SGL length {0}, offset 0x{1}")
    @org.junit.jupiter.params.provider.CsvSource({"0,0", "4096,7FFFFFFFFFFFFFC0", "4096,FFFFFFFFFFFFF000", "4096,1"})
    void inCapsuleDataWithAnSglOutsideItIsAnErrorStatus(long sglLength, String hexOffset) throws Exception {
        long offset = Long.parseUnsignedLong(hexOffset, 16);
        try (TestHost admin = new TestHost(address)) {
            int cntlid = admin.openAdmin(NQN, 0);
            try (TestHost io = ioQueue(cntlid)) {
                ByteBuffer s = TestHost.sqe(NvmeOpcodes.NVM_WRITE, 1);
                s.putShort(2, (short) 9).putLong(40, 3).putInt(48, 0);
                s.putLong(24, offset).putInt(32, (int) sglLength).put(39, (byte) 0x01);
                io.send(io.capsule(s, pattern(3, 1, 1)));
                ByteBuffer resp = io.readPdu();
                assertThat(resp.get(0)).as("PDU type").isEqualTo((byte) CAPSULE_RESP);
                int status = (resp.getShort(8 + 14) & 0xFFFF) >>> 1;
                assertThat(status).as("status").isIn(NvmeStatus.DATA_SGL_LENGTH_INVALID, NvmeStatus.SGL_OFFSET_INVALID);
                byte[] good = pattern(3, 1, 2);
                assertThat(io.write(1, 3, good, BS, true).ok()).isTrue();
                assertThat(io.read(1, 3, 1, BS).data()).isEqualTo(good);
            }
        }
        assertThat(target.counters().handlerFailures()).isZero();
    }

    @Test
    void aBdevThatThrowsFailsItsCommandWithInternalErrorAndTheQueueKeepsServing() throws Exception {
        try (TestHost admin = new TestHost(address)) {
            int cntlid = admin.openAdmin(NQN, 0);
            try (TestHost io = ioQueue(cntlid)) {
                byte[] good = pattern(12, 1, 5);
                assertThat(io.write(2, 12, good, BS, true).ok()).isTrue();
                for (int i = 0; i < 3; i++) {
                    assertThat(io.read(2, ThrowingBdevFactory.POISON_LBA, 1, BS).status())
                            .as("read of the poisoned block, try %d", i).isEqualTo(NvmeStatus.INTERNAL_ERROR);
                    assertThat(io.write(2, ThrowingBdevFactory.POISON_LBA, good, BS, true).status())
                            .isEqualTo(NvmeStatus.INTERNAL_ERROR);
                }
                assertThat(io.read(2, 12, 1, BS).data()).isEqualTo(good);
                assertThat(io.read(1, 0, 1, BS).ok()).isTrue();
            }
        }
        assertThat(target.counters().handlerFailures()).isEqualTo(6);
        Await.until("every connection to be gone", Duration.ofSeconds(10), () -> target.connections().isEmpty());
    }
}
