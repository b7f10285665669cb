package io.panastor.engine.nvmf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.panastor.engine.bdev.BlockPattern;
import io.panastor.engine.bdev.Bdevs;
import io.panastor.engine.nvmf.TestHost.Completion;
import io.panastor.engine.nvmf.proto.NvmeOpcodes;
import io.panastor.engine.nvmf.proto.NvmeStatus;
import io.panastor.engine.nvmf.proto.TcpPdu;
import io.panastor.engine.nvmf.tgt.NvmfTarget;
import io.panastor.reactor.Reactors;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import io.panastor.engine.Await;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class NvmfTargetTest {
    static final String NQN = "nqn.2026-11.io.panastor:test";
    static final int BS = 4096;

    Reactors reactors;
    Bdevs bdevs;
    NvmfTarget target;
    InetSocketAddress address;

    @BeforeEach
    void start() {
        reactors = Reactors.start(2);
        bdevs = new Bdevs();
        bdevs.create("malloc:///m0?size_mb=64&blk_size=4096");
        target = new NvmfTarget(reactors, bdevs);
        target.createSubsystem(NQN, "SN-TEST-1", "Panastor test model", true, List.of());
        target.addNamespace(NQN, "m0", 1);
        address = target.addListener("127.0.0.1", 0);
    }

    @AfterEach
    void stop() {
        target.close();
        bdevs.destroyAll().join();
        reactors.close();
    }

    private TestHost ioQueue(int cntlid, boolean digests) throws IOException {
        TestHost io = new TestHost(address);
        io.icReq(digests, digests);
        Completion c = io.connect(1, 127, cntlid, NQN, TestHost.HOST_NQN, 0);
        assertThat(c.ok()).as("IO queue connect: status 0x%x", c.status()).isTrue();
        return io;
    }

    private static byte[] pattern(long lba, int blocks, long generation) {
        MemorySegment m = MemorySegment.ofArray(new byte[blocks * BS]);
        new BlockPattern().fill(m, 0, BS, lba, blocks, generation);
        return m.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    }

    private static void assertPattern(byte[] data, long lba, int blocks, long generation) {
        MemorySegment m = MemorySegment.ofArray(data);
        BlockPattern p = new BlockPattern();
        for (int b = 0; b < blocks; b++) {
            assertThat(p.verify(m, (long) b * BS, BS, lba + b, generation)).as("block %d", lba + b)
                    .isEqualTo(BlockPattern.Verdict.OK);
        }
    }

    @ParameterizedTest(name = "digests={0}")
    @CsvSource({"false", "true"})
    void hostConnectsIdentifiesWritesAndReadsBack(boolean digests) throws Exception {
        try (TestHost admin = new TestHost(address)) {
            admin.headerDigest = digests;
            admin.dataDigest = digests;
            int cntlid = admin.openAdmin(NQN, 10_000);
            assertThat(admin.headerDigest).isEqualTo(digests);
            assertThat(admin.maxH2CData).isGreaterThanOrEqualTo(4096);

            Completion cap = admin.propertyGet(NvmeOpcodes.PROP_CAP, true);
            assertThat(cap.dw0() & 0xFFFF).as("MQES").isEqualTo(127);
            assertThat(admin.propertyGet(NvmeOpcodes.PROP_VS, false).dw0()).isEqualTo(0x00010400);

            Completion id = admin.admin(NvmeOpcodes.ADMIN_IDENTIFY, 0, NvmeOpcodes.CNS_CONTROLLER, 0, 4096);
            assertThat(id.ok()).isTrue();
            assertThat(new String(id.data(), 4, 20, StandardCharsets.US_ASCII).strip()).isEqualTo("SN-TEST-1");
            assertThat(new String(id.data(), 24, 40, StandardCharsets.US_ASCII).strip()).isEqualTo("Panastor test model");
            assertThat(new String(id.data(), 768, NQN.length(), StandardCharsets.US_ASCII)).isEqualTo(NQN);
            ByteBuffer idc = ByteBuffer.wrap(id.data()).order(ByteOrder.LITTLE_ENDIAN);
            assertThat(idc.getShort(78) & 0xFFFF).as("CNTLID").isEqualTo(cntlid);
            assertThat(idc.getInt(1792) * 16 - 64).as("in-capsule bytes").isGreaterThanOrEqualTo(8192);

            Completion queues = admin.admin(NvmeOpcodes.ADMIN_SET_FEATURES, 0, NvmeOpcodes.FEAT_NUMBER_OF_QUEUES,
                    (3 << 16) | 3, 0);
            assertThat(queues.ok()).isTrue();
            assertThat(queues.dw0()).isEqualTo((3 << 16) | 3);

            Completion ns = admin.admin(NvmeOpcodes.ADMIN_IDENTIFY, 1, NvmeOpcodes.CNS_NAMESPACE, 0, 4096);
            ByteBuffer nsb = ByteBuffer.wrap(ns.data()).order(ByteOrder.LITTLE_ENDIAN);
            assertThat(nsb.getLong(0)).as("NSZE").isEqualTo((64L << 20) / BS);
            assertThat((nsb.getInt(128) >>> 16) & 0xFF).as("LBADS").isEqualTo(12);
            Completion list = admin.admin(NvmeOpcodes.ADMIN_IDENTIFY, 0, NvmeOpcodes.CNS_ACTIVE_NAMESPACES, 0, 4096);
            assertThat(ByteBuffer.wrap(list.data()).order(ByteOrder.LITTLE_ENDIAN).getInt(0)).isEqualTo(1);

            try (TestHost io = new TestHost(address)) {
                io.icReq(digests, digests);
                assertThat(io.connect(1, 127, cntlid, NQN, TestHost.HOST_NQN, 0).ok()).isTrue();
                // 8 KiB in the capsule, 128 KiB through R2T and several H2CData PDUs.
                assertThat(io.write(1, 100, pattern(100, 2, 1), BS, true).ok()).isTrue();
                assertThat(io.write(1, 200, pattern(200, 32, 1), BS, false).ok()).isTrue();
                assertPattern(io.read(1, 100, 2, BS).data(), 100, 2, 1);
                Completion big = io.read(1, 200, 32, BS);
                assertThat(big.ok()).isTrue();
                assertPattern(big.data(), 200, 32, 1);

                ByteBuffer wz = TestHost.sqe(NvmeOpcodes.NVM_WRITE_ZEROES, 1);
                wz.putLong(40, 200).putInt(48, 7);
                assertThat(io.command(wz, null, false, 0).ok()).isTrue();
                byte[] dsm = new byte[16];
                ByteBuffer.wrap(dsm).order(ByteOrder.LITTLE_ENDIAN).putInt(4, 8).putLong(8, 208);
                ByteBuffer dm = TestHost.sqe(NvmeOpcodes.NVM_DATASET_MANAGEMENT, 1);
                dm.putInt(40, 0).putInt(44, 1 << 2);
                assertThat(io.command(dm, dsm, true, 0).ok()).isTrue();
                byte[] after = io.read(1, 200, 32, BS).data();
                for (int i = 0; i < 16 * BS; i++) {
                    assertThat(after[i]).as("byte %d of zeroed/deallocated blocks", i).isZero();
                }
                assertPattern(java.util.Arrays.copyOfRange(after, 16 * BS, 32 * BS), 216, 16, 1);
                assertThat(io.command(TestHost.sqe(NvmeOpcodes.NVM_FLUSH, 1), null, false, 0).ok()).isTrue();

                ByteBuffer disconnect = TestHost.sqe(NvmeOpcodes.FABRICS, 0);
                disconnect.put(4, (byte) NvmeOpcodes.FCTYPE_DISCONNECT);
                assertThat(io.command(disconnect, null, false, 0).ok()).isTrue();
                assertThat(io.closedByTarget()).isTrue();
            }
        }
    }

    @Test
    void clearingCcEnResetsTheControllerAndEndsItsIoQueues() throws Exception {
        try (TestHost admin = new TestHost(address)) {
            int cntlid = admin.openAdmin(NQN, 10_000);
            admin.admin(NvmeOpcodes.ADMIN_SET_FEATURES, 0, NvmeOpcodes.FEAT_NUMBER_OF_QUEUES, (3 << 16) | 3, 0);
            try (TestHost io = ioQueue(cntlid, false)) {
                assertThat(io.write(1, 7, pattern(7, 1, 3), BS, true).ok()).isTrue();
                assertThat(admin.propertySet(NvmeOpcodes.PROP_CC, (6 << 16) | (4 << 20)).ok()).isTrue();
                assertThat(admin.propertyGet(NvmeOpcodes.PROP_CSTS, false).dw0() & 1).as("CSTS.RDY").isZero();
                assertThat(io.closedByTarget()).as("the reset deleted the IO queue").isTrue();
                // While disabled, IO queues cannot connect; the admin queue still answers.
                try (TestHost early = new TestHost(address)) {
                    early.icReq(false, false);
                    assertThat(early.connect(1, 127, cntlid, NQN, TestHost.HOST_NQN, 0).ok()).isFalse();
                }
                assertThat(admin.propertySet(NvmeOpcodes.PROP_CC, 1 | (6 << 16) | (4 << 20)).ok()).isTrue();
                assertThat(admin.propertyGet(NvmeOpcodes.PROP_CSTS, false).dw0() & 1).isEqualTo(1);
            }
            try (TestHost io = ioQueue(cntlid, false)) {
                assertPattern(io.read(1, 7, 1, BS).data(), 7, 1, 3);
            }
            assertThat(target.controllers()).singleElement().satisfies(c -> assertThat(c.cntlid()).isEqualTo(cntlid));
        }
    }

    @Test
    void commandErrorsComeBackWithTheirStatusAndTheQueueKeepsServing() throws Exception {
        try (TestHost admin = new TestHost(address)) {
            int cntlid = admin.openAdmin(NQN, 0);
            assertThat(admin.admin(0x7E, 0, 0, 0, 0).status()).isEqualTo(NvmeStatus.INVALID_OPCODE);
            assertThat(admin.admin(NvmeOpcodes.ADMIN_IDENTIFY, 0, 0x55, 0, 4096).status())
                    .isEqualTo(NvmeStatus.INVALID_FIELD);
            assertThat(admin.admin(NvmeOpcodes.ADMIN_GET_LOG_PAGE, 0, 0x42 | (127 << 16), 0, 512).status())
                    .isEqualTo(NvmeStatus.INVALID_LOG_PAGE);
            assertThat(admin.admin(NvmeOpcodes.ADMIN_GET_FEATURES, 0, 0x7D, 0, 0).status())
                    .isEqualTo(NvmeStatus.INVALID_FIELD);
            Completion smart = admin.admin(NvmeOpcodes.ADMIN_GET_LOG_PAGE, 0xFFFFFFFFL,
                    NvmeOpcodes.LOG_SMART | (127 << 16), 0, 512);
            assertThat(smart.ok()).isTrue();
            assertThat(smart.data()[3]).as("available spare").isEqualTo((byte) 100);
            try (TestHost io = ioQueue(cntlid, false)) {
                long blocks = (64L << 20) / BS;
                assertThat(io.read(1, blocks - 1, 2, BS).status()).isEqualTo(NvmeStatus.LBA_OUT_OF_RANGE);
                assertThat(io.read(7, 0, 1, BS).status()).isEqualTo(NvmeStatus.INVALID_NAMESPACE);
                assertThat(io.command(TestHost.sqe(0x05, 1), null, false, 0).status())
                        .as("Compare is not supported").isEqualTo(NvmeStatus.INVALID_OPCODE);
                assertThat(io.write(1, 0, pattern(0, 1, 3), BS, true).ok()).isTrue();
                assertPattern(io.read(1, 0, 1, BS).data(), 0, 1, 3);
            }
        }
    }

    @Test
    void connectIsRefusedForUnknownSubsystemsHostsAndControllers() throws Exception {
        target.createSubsystem("nqn.2026-11.io.panastor:private", "SN2", "M", false, List.of("nqn.2026-11.io.example:ok"));
        try (TestHost h = new TestHost(address)) {
            h.icReq(false, false);
            Completion c = h.connect(0, 31, 0xFFFF, "nqn.2026-11.io.panastor:nothing", TestHost.HOST_NQN, 0);
            assertThat(c.status()).isEqualTo(NvmeStatus.CONNECT_INVALID_PARAMETERS);
            assertThat(c.dw0()).as("IATTR data, IPO subnqn").isEqualTo((256 << 16) | 1);
            assertThat(h.connect(0, 31, 0xFFFF, "nqn.2026-11.io.panastor:private", TestHost.HOST_NQN, 0).status())
                    .isEqualTo(NvmeStatus.CONNECT_INVALID_HOST);
            assertThat(h.connect(1, 127, 4242, NQN, TestHost.HOST_NQN, 0).status())
                    .isEqualTo(NvmeStatus.CONNECT_INVALID_PARAMETERS);
            assertThat(h.connect(0, 31, 0xFFFF, NQN, TestHost.HOST_NQN, 0).ok()).as("then a good one").isTrue();
        }
    }

    @Test
    void discoveryLogListsTheSubsystemAtTheListener() throws Exception {
        try (TestHost d = new TestHost(address)) {
            d.openAdmin(NvmeOpcodes.DISCOVERY_NQN, 0);
            Completion id = d.admin(NvmeOpcodes.ADMIN_IDENTIFY, 0, NvmeOpcodes.CNS_CONTROLLER, 0, 4096);
            assertThat(id.data()[111]).as("CNTRLTYPE discovery").isEqualTo((byte) 2);
            Completion log = d.admin(NvmeOpcodes.ADMIN_GET_LOG_PAGE, 0, NvmeOpcodes.LOG_DISCOVERY | (511 << 16), 0,
                    2048);
            assertThat(log.ok()).isTrue();
            ByteBuffer b = ByteBuffer.wrap(log.data()).order(ByteOrder.LITTLE_ENDIAN);
            assertThat(b.getLong(8)).as("NUMREC").isEqualTo(1);
            assertThat(b.get(1024)).as("TRTYPE tcp").isEqualTo((byte) 3);
            assertThat(new String(log.data(), 1024 + 32, 32, StandardCharsets.US_ASCII).strip())
                    .isEqualTo(Integer.toString(address.getPort()));
            assertThat(new String(log.data(), 1024 + 256, NQN.length(), StandardCharsets.US_ASCII)).isEqualTo(NQN);
            assertThat(new String(log.data(), 1024 + 512, 9, StandardCharsets.US_ASCII)).isEqualTo("127.0.0.1");
        }
    }

    @Test
    void namespaceAddedWhileConnectedCompletesTheAsyncEventRequest() throws Exception {
        bdevs.create("malloc:///m1?size_mb=8");
        try (TestHost admin = new TestHost(address)) {
            admin.openAdmin(NQN, 0);
            assertThat(admin.admin(NvmeOpcodes.ADMIN_SET_FEATURES, 0, NvmeOpcodes.FEAT_ASYNC_EVENT_CONFIG, 1 << 8, 0)
                    .ok()).isTrue();
            ByteBuffer aer = TestHost.sqe(NvmeOpcodes.ADMIN_ASYNC_EVENT_REQUEST, 0);
            aer.putShort(2, (short) 999);
            admin.send(admin.capsule(aer, null));
            target.addNamespace(NQN, "m1", 0);
            ByteBuffer resp = admin.readPdu();
            assertThat(resp.get(0)).isEqualTo((byte) TcpPdu.CAPSULE_RESP);
            assertThat(resp.getShort(8 + 12) & 0xFFFF).isEqualTo(999);
            assertThat(resp.getInt(8)).as("notice, namespace attribute changed, log 04h").isEqualTo(0x00040002);
            Completion changed = admin.admin(NvmeOpcodes.ADMIN_GET_LOG_PAGE, 0,
                    NvmeOpcodes.LOG_CHANGED_NAMESPACES | (1023 << 16), 0, 4096);
            assertThat(ByteBuffer.wrap(changed.data()).order(ByteOrder.LITTLE_ENDIAN).getInt(0)).isEqualTo(2);
        }
    }

    @Test
    void silentHostLosesItsControllerWhenKeepAliveExpires() throws Exception {
        try (TestHost admin = new TestHost(address)) {
            admin.openAdmin(NQN, 300);
            assertThat(target.controllers()).hasSize(1);
            Await.until("the silent host's controller to end", Duration.ofSeconds(5),
                    () -> target.controllers().isEmpty());
            assertThat(admin.closedByTarget()).isTrue();
        }
        // A host that keeps the controller alive keeps it.
        try (TestHost admin = new TestHost(address)) {
            admin.openAdmin(NQN, 300);
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
            while (System.nanoTime() < until) {
                // Three keep-alives per timeout, as hosts send them (at most half the timeout apart).
                java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
                assertThat(admin.admin(NvmeOpcodes.ADMIN_KEEP_ALIVE, 0, 0, 0, 0).ok()).isTrue();
            }
            assertThat(target.controllers()).hasSize(1);
        }
    }

    @Test
    void reactorsSpreadConnectionsAndCloseLeavesNothingOpen() throws Exception {
        try (TestHost admin = new TestHost(address)) {
            int cntlid = admin.openAdmin(NQN, 0);
            try (TestHost q1 = ioQueue(cntlid, false)) {
                TestHost q2 = new TestHost(address);
                q2.icReq(false, false);
                assertThat(q2.connect(2, 127, cntlid, NQN, TestHost.HOST_NQN, 0).ok()).isTrue();
                assertThat(target.connections()).extracting(NvmfTarget.ConnectionInfo::reactor).containsOnly(0, 1);
                assertThat(target.controllers().getFirst().ioQueues()).isEqualTo(2);
                q2.close();
            }
        }
        Await.until("every connection to close", Duration.ofSeconds(5), () -> target.connections().isEmpty());
        assertThat(target.controllers()).isEmpty();
    }

    @Test
    void listenersComeAndGoWhileTheTargetServes() throws Exception {
        try (TestHost before = new TestHost(address)) {
            before.openAdmin(NQN, 0);
            target.removeListener(address);
            assertThat(target.listeners()).isEmpty();
            assertThatThrownBy(() -> new TestHost(address)).isInstanceOf(java.net.ConnectException.class);
            // The connection made before the listener went keeps working.
            assertThat(before.admin(NvmeOpcodes.ADMIN_KEEP_ALIVE, 0, 0, 0, 0).ok()).isTrue();
            InetSocketAddress again = target.addListener("127.0.0.1", 0);
            for (int i = 0; i < 5; i++) {
                try (TestHost h = new TestHost(again)) {
                    h.openAdmin(NQN, 0);
                    assertThat(h.admin(NvmeOpcodes.ADMIN_IDENTIFY, 0, NvmeOpcodes.CNS_CONTROLLER, 0, 4096).ok()).isTrue();
                }
            }
        }
    }

    @Test
    void badArgumentsToTheEngineApiAreRefused() {
        assertThatThrownBy(() -> target.createSubsystem("bad", "S", "M", true, List.of()))
                .hasMessageContaining("must start with 'nqn.'");
        assertThatThrownBy(() -> target.createSubsystem(NQN, "S", "M", true, List.of())).hasMessageContaining("already exists");
        assertThatThrownBy(() -> target.addNamespace(NQN, "m0", 2)).hasMessageContaining("already namespace 1");
        assertThatThrownBy(() -> target.addNamespace(NQN, "nope", 2)).hasMessageContaining("no bdev named 'nope'");
        assertThatThrownBy(() -> target.removeNamespace(NQN, 9)).hasMessageContaining("no namespace 9");
        assertThat(target.subsystem(NQN).namespaces()).hasSize(1);
    }
}
