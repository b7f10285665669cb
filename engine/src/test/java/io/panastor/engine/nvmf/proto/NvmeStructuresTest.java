package io.panastor.engine.nvmf.proto;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

/**
 * Every NVMe structure's size and field offsets pinned to the specifications' figures (NVMe
 * base 2.0, NVM command set 1.0, NVMe over Fabrics 1.1), and its accessors round-tripped.
 */
class NvmeStructuresTest {

    @Test
    void connectCommandAndDataMatchFabricsFigures19And20() {
        assertThat(ConnectCommand.RECFMT_OFFSET).isEqualTo(40);
        assertThat(ConnectCommand.QID_OFFSET).isEqualTo(42);
        assertThat(ConnectCommand.SQSIZE_OFFSET).isEqualTo(44);
        assertThat(ConnectCommand.CATTR_OFFSET).isEqualTo(46);
        assertThat(ConnectCommand.KATO_OFFSET).isEqualTo(48);
        assertThat(ConnectData.SIZE).isEqualTo(1024);
        assertThat(ConnectData.CNTLID_OFFSET).isEqualTo(16);
        assertThat(ConnectData.SUBNQN_OFFSET).isEqualTo(256);
        assertThat(ConnectData.HOSTNQN_OFFSET).isEqualTo(512);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sqe = a.allocate(NvmeCommand.SIZE);
            sqe.fill((byte) 0x5A);
            ConnectCommand.write(sqe, 0, 0xFFFF, 3, 128, ConnectCommand.CATTR_DISABLE_SQ_FLOW_CONTROL, 15_000);
            assertThat(NvmeCommand.opcode(sqe, 0)).isEqualTo(0x7F);
            assertThat(NvmeCommand.psdt(sqe, 0)).isEqualTo(NvmeCommand.PSDT_SGL);
            assertThat(NvmeCommand.cid(sqe, 0)).isEqualTo(0xFFFF);
            assertThat(NvmeCommand.fctype(sqe, 0)).isEqualTo(NvmeOpcodes.FCTYPE_CONNECT);
            assertThat(NvmeCommand.sglId(sqe, 0)).isEqualTo(NvmeCommand.SGL_IN_CAPSULE);
            assertThat(NvmeCommand.sglLength(sqe, 0)).isEqualTo(1024);
            assertThat(ConnectCommand.recfmt(sqe, 0)).isZero();
            assertThat(ConnectCommand.qid(sqe, 0)).isEqualTo(3);
            assertThat(ConnectCommand.sqsize(sqe, 0)).isEqualTo(127);
            assertThat(ConnectCommand.cattr(sqe, 0)).isEqualTo(4);
            assertThat(ConnectCommand.kato(sqe, 0)).isEqualTo(15_000);
            assertThat(sqe.get(ValueLayout.JAVA_BYTE, 52)).as("reserved bytes zeroed").isZero();

            MemorySegment data = a.allocate(ConnectData.SIZE + 8);
            data.fill((byte) 0x77);
            byte[] hostId = new byte[16];
            hostId[15] = 9;
            ConnectData.write(data, 8, hostId, 0x1234, "nqn.2019-05.io.openebs:vol", "nqn.host");
            assertThat(ConnectData.cntlid(data, 8)).isEqualTo(0x1234);
            assertThat(ConnectData.subNqn(data, 8)).isEqualTo("nqn.2019-05.io.openebs:vol");
            assertThat(ConnectData.hostNqn(data, 8)).isEqualTo("nqn.host");
            assertThat(ConnectData.hostId(data, 8)).isEqualTo(hostId);
            assertThat(data.get(ValueLayout.JAVA_BYTE, 8 + 256 + 26)).as("NUL-terminated").isZero();
            assertThat(data.get(ValueLayout.JAVA_BYTE, 8 + 1023)).as("reserved zeroed").isZero();
            assertThat(data.get(ValueLayout.JAVA_BYTE, 7)).as("nothing written before the data").isEqualTo((byte) 0x77);
        }
        assertThat(ConnectCommand.invalidParameter(true, 256)).isEqualTo(0x0100_0001);
    }

    @Test
    void propertiesMatchTheControllerRegisters() {
        assertThat(ControllerRegisters.CAP).isEqualTo(0x00);
        assertThat(ControllerRegisters.VS).isEqualTo(0x08);
        assertThat(ControllerRegisters.CC).isEqualTo(0x14);
        assertThat(ControllerRegisters.CSTS).isEqualTo(0x1C);
        long cap = ControllerRegisters.cap(128, 10_000);
        assertThat(ControllerRegisters.maxQueueEntries(cap)).isEqualTo(128);
        assertThat(ControllerRegisters.readyTimeoutMillis(cap)).isEqualTo(10_000);
        assertThat(cap & (1L << 37)).as("CSS: NVM command set").isNotZero();
        assertThat(cap & (1L << 16)).as("CQR").isNotZero();
        assertThat(ControllerRegisters.version(1, 4, 0)).isEqualTo(0x00010400);
        int cc = ControllerRegisters.CC_ENABLE;
        assertThat(ControllerRegisters.enabled(cc)).isTrue();
        assertThat((cc >>> 16) & 0xF).as("IOSQES 2^6").isEqualTo(6);
        assertThat((cc >>> 20) & 0xF).as("IOCQES 2^4").isEqualTo(4);
        assertThat(ControllerRegisters.shutdownNotification(1 << 14)).isEqualTo(ControllerRegisters.CC_SHN_NORMAL);
        int csts = ControllerRegisters.withShutdownStatus(ControllerRegisters.CSTS_RDY, ControllerRegisters.CSTS_SHST_COMPLETE);
        assertThat(csts).isEqualTo(0x9);
        assertThat(ControllerRegisters.ready(csts)).isTrue();
        assertThat(ControllerRegisters.shutdownStatus(csts)).isEqualTo(2);

        try (Arena a = Arena.ofConfined()) {
            MemorySegment sqe = a.allocate(NvmeCommand.SIZE);
            PropertyCommand.writeGet(sqe, 0, 7, ControllerRegisters.CAP, true);
            assertThat(NvmeCommand.fctype(sqe, 0)).isEqualTo(NvmeOpcodes.FCTYPE_PROPERTY_GET);
            assertThat(PropertyCommand.size(sqe, 0)).isEqualTo(PropertyCommand.SIZE_8_BYTES);
            assertThat(PropertyCommand.offset(sqe, 0)).isZero();
            PropertyCommand.writeSet(sqe, 0, 8, ControllerRegisters.CC, 0x460001);
            assertThat(NvmeCommand.fctype(sqe, 0)).isEqualTo(NvmeOpcodes.FCTYPE_PROPERTY_SET);
            assertThat(TcpPdu.u32(sqe, 44)).isEqualTo(0x14);
            assertThat(TcpPdu.u32(sqe, 48)).isEqualTo(0x460001);
            assertThat(PropertyCommand.value(sqe, 0)).isEqualTo(0x460001);
        }
        assertThat(PropertyCommand.value(0x89ABCDEF, 0x01234567)).isEqualTo(0x0123456789ABCDEFL);
    }

    @Test
    void identifyControllerFieldsSitWhereFigure275PutsThem() {
        assertThat(IdentifyController.SIZE).isEqualTo(4096);
        assertThat(IdentifyController.SN_OFFSET).isEqualTo(4);
        assertThat(IdentifyController.MN_OFFSET).isEqualTo(24);
        assertThat(IdentifyController.FR_OFFSET).isEqualTo(64);
        assertThat(IdentifyController.CMIC_OFFSET).isEqualTo(76);
        assertThat(IdentifyController.MDTS_OFFSET).isEqualTo(77);
        assertThat(IdentifyController.CNTLID_OFFSET).isEqualTo(78);
        assertThat(IdentifyController.VER_OFFSET).isEqualTo(80);
        assertThat(IdentifyController.OAES_OFFSET).isEqualTo(92);
        assertThat(IdentifyController.CTRATT_OFFSET).isEqualTo(96);
        assertThat(IdentifyController.CNTRLTYPE_OFFSET).isEqualTo(111);
        assertThat(IdentifyController.OACS_OFFSET).isEqualTo(256);
        assertThat(IdentifyController.AERL_OFFSET).isEqualTo(259);
        assertThat(IdentifyController.LPA_OFFSET).isEqualTo(261);
        assertThat(IdentifyController.KAS_OFFSET).isEqualTo(320);
        assertThat(IdentifyController.SQES_OFFSET).isEqualTo(512);
        assertThat(IdentifyController.MAXCMD_OFFSET).isEqualTo(514);
        assertThat(IdentifyController.NN_OFFSET).isEqualTo(516);
        assertThat(IdentifyController.ONCS_OFFSET).isEqualTo(520);
        assertThat(IdentifyController.VWC_OFFSET).isEqualTo(525);
        assertThat(IdentifyController.SGLS_OFFSET).isEqualTo(536);
        assertThat(IdentifyController.SUBNQN_OFFSET).isEqualTo(768);
        assertThat(IdentifyController.IOCCSZ_OFFSET).isEqualTo(1792);
        assertThat(IdentifyController.IORCSZ_OFFSET).isEqualTo(1796);
        assertThat(IdentifyController.ICDOFF_OFFSET).isEqualTo(1800);
        assertThat(IdentifyController.FCATT_OFFSET).isEqualTo(1802);
        assertThat(IdentifyController.MSDBD_OFFSET).isEqualTo(1803);
        assertThat(IdentifyController.OFCS_OFFSET).isEqualTo(1804);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment b = a.allocate(IdentifyController.SIZE);
            TcpPdu.asciiPadded(b, IdentifyController.SN_OFFSET, IdentifyController.SN_LENGTH, "PANA0001");
            TcpPdu.asciiZ(b, IdentifyController.SUBNQN_OFFSET, 256, "nqn.2019-05.io.openebs:x");
            TcpPdu.u8(b, IdentifyController.MDTS_OFFSET, 5);
            TcpPdu.u32(b, IdentifyController.IOCCSZ_OFFSET, (64 + 8192) / 16);
            assertThat(IdentifyController.serial(b, 0)).isEqualTo("PANA0001");
            assertThat(b.get(ValueLayout.JAVA_BYTE, IdentifyController.SN_OFFSET + 19)).as("space-padded").isEqualTo((byte) ' ');
            assertThat(IdentifyController.subNqn(b, 0)).isEqualTo("nqn.2019-05.io.openebs:x");
            assertThat(IdentifyController.maxTransferBytes(IdentifyController.mdts(b, 0))).isEqualTo(128 * 1024);
            assertThat(IdentifyController.inCapsuleBytes(IdentifyController.ioccsz(b, 0))).isEqualTo(8192);
        }
        assertThat(IdentifyController.maxTransferBytes(0)).as("MDTS 0: no limit").isEqualTo(-1);
        assertThat(IdentifyController.inCapsuleBytes(0)).isZero();
    }

    @Test
    void identifyNamespaceAndDescriptorsMatchFigures97And277() {
        assertThat(IdentifyNamespace.SIZE).isEqualTo(4096);
        assertThat(IdentifyNamespace.NSZE_OFFSET).isZero();
        assertThat(IdentifyNamespace.NCAP_OFFSET).isEqualTo(8);
        assertThat(IdentifyNamespace.NUSE_OFFSET).isEqualTo(16);
        assertThat(IdentifyNamespace.NLBAF_OFFSET).isEqualTo(25);
        assertThat(IdentifyNamespace.FLBAS_OFFSET).isEqualTo(26);
        assertThat(IdentifyNamespace.NMIC_OFFSET).isEqualTo(30);
        assertThat(IdentifyNamespace.DLFEAT_OFFSET).isEqualTo(33);
        assertThat(IdentifyNamespace.NGUID_OFFSET).isEqualTo(104);
        assertThat(IdentifyNamespace.EUI64_OFFSET).isEqualTo(120);
        assertThat(IdentifyNamespace.LBAF_OFFSET).isEqualTo(128);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment b = a.allocate(IdentifyNamespace.SIZE);
            TcpPdu.u64(b, 0, 1L << 40);
            TcpPdu.u8(b, IdentifyNamespace.NLBAF_OFFSET, 1);
            TcpPdu.u8(b, IdentifyNamespace.FLBAS_OFFSET, 0x11);
            IdentifyNamespace.format(b, 0, 1, 12);
            assertThat(IdentifyNamespace.size(b, 0)).isEqualTo(1L << 40);
            assertThat(IdentifyNamespace.formats(b, 0)).isEqualTo(2);
            assertThat(IdentifyNamespace.formatInUse(b, 0)).isEqualTo(1);
            assertThat(IdentifyNamespace.lbads(b, 0, 1)).isEqualTo(12);
            assertThat(TcpPdu.u32(b, 132)).isEqualTo(12L << 16);
            assertThat(IdentifyNamespace.metadataSize(b, 0, 1)).isZero();

            MemorySegment d = a.allocate(64);
            long next = NamespaceDescriptor.write(d, 0, NamespaceDescriptor.NIDT_UUID, new byte[16]);
            assertThat(next).isEqualTo(20);
            assertThat(NamespaceDescriptor.type(d, 0)).isEqualTo(3);
            assertThat(NamespaceDescriptor.length(d, 0)).isEqualTo(16);
            NamespaceDescriptor.write(d, next, NamespaceDescriptor.NIDT_CSI, new byte[] {NamespaceDescriptor.CSI_NVM});
            assertThat(NamespaceDescriptor.type(d, next)).isEqualTo(4);
        }
    }

    @Test
    void identifyCommandCarriesCnsAndCntid() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sqe = a.allocate(NvmeCommand.SIZE);
            IdentifyCommand.write(sqe, 0, 5, IdentifyCommand.CNS_NAMESPACE, 1);
            assertThat(NvmeCommand.opcode(sqe, 0)).isEqualTo(0x06);
            assertThat(NvmeCommand.nsid(sqe, 0)).isEqualTo(1);
            assertThat(NvmeCommand.sglId(sqe, 0)).isEqualTo(NvmeCommand.SGL_TRANSPORT);
            assertThat(NvmeCommand.sglLength(sqe, 0)).isEqualTo(4096);
            NvmeCommand.cdw(sqe, 0, 10, 0x0007_0001);
            assertThat(IdentifyCommand.cns(sqe, 0)).isEqualTo(1);
            assertThat(IdentifyCommand.cntid(sqe, 0)).isEqualTo(7);
        }
    }

    @Test
    void discoveryLogEntriesMatchFabricsFigure33() {
        assertThat(DiscoveryLog.HEADER_SIZE).isEqualTo(1024);
        assertThat(DiscoveryLog.ENTRY_SIZE).isEqualTo(1024);
        assertThat(DiscoveryLog.NUMREC_OFFSET).isEqualTo(8);
        assertThat(DiscoveryLog.RECFMT_OFFSET).isEqualTo(16);
        assertThat(DiscoveryLog.PORTID_OFFSET).isEqualTo(4);
        assertThat(DiscoveryLog.CNTLID_OFFSET).isEqualTo(6);
        assertThat(DiscoveryLog.ASQSZ_OFFSET).isEqualTo(8);
        assertThat(DiscoveryLog.TRSVCID_OFFSET).isEqualTo(32);
        assertThat(DiscoveryLog.SUBNQN_OFFSET).isEqualTo(256);
        assertThat(DiscoveryLog.TRADDR_OFFSET).isEqualTo(512);
        assertThat(DiscoveryLog.TSAS_OFFSET).isEqualTo(768);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment page = a.allocate(DiscoveryLog.entry(2));
            DiscoveryLog.header(page, 0, 42, 1);
            DiscoveryLog.writeTcpEntry(page, DiscoveryLog.entry(0), DiscoveryLog.SUBTYPE_NVM, DiscoveryLog.ADRFAM_IPV4, 1,
                    32, "127.0.0.1", 8420, "nqn.2019-05.io.openebs:r1");
            assertThat(DiscoveryLog.generation(page, 0)).isEqualTo(42);
            assertThat(DiscoveryLog.records(page, 0)).isEqualTo(1);
            long e = DiscoveryLog.entry(0);
            assertThat(e).isEqualTo(1024);
            assertThat(TcpPdu.u8(page, e)).as("TRTYPE TCP").isEqualTo(3);
            assertThat(TcpPdu.u8(page, e + 2)).as("SUBTYPE NVM").isEqualTo(2);
            assertThat(TcpPdu.u16(page, e + 6)).as("CNTLID dynamic").isEqualTo(0xFFFF);
            assertThat(DiscoveryLog.serviceId(page, e)).isEqualTo("8420");
            assertThat(DiscoveryLog.address(page, e)).isEqualTo("127.0.0.1");
            assertThat(DiscoveryLog.subNqn(page, e)).isEqualTo("nqn.2019-05.io.openebs:r1");
        }
    }

    @Property(tries = 200)
    void dsmRangesRoundTrip(@ForAll @IntRange(min = 0, max = 255) int i,
                            @ForAll @LongRange(min = 0, max = Long.MAX_VALUE) long slba,
                            @ForAll @LongRange(min = 0, max = 0xFFFFFFFFL) long blocks) {
        assertThat(DsmRange.SIZE).isEqualTo(16);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment list = a.allocate(DsmRange.SIZE * 256L);
            DsmRange.write(list, 0, i, slba, blocks);
            assertThat(DsmRange.slba(list, 0, i)).isEqualTo(slba);
            assertThat(DsmRange.length(list, 0, i)).isEqualTo(blocks);
            assertThat(TcpPdu.u64(list, 16L * i + 8)).isEqualTo(slba);
            MemorySegment sqe = a.allocate(NvmeCommand.SIZE);
            DsmRange.deallocateCommand(sqe, 0, i + 1);
            assertThat(DsmRange.ranges(sqe, 0)).isEqualTo(i + 1);
            assertThat(DsmRange.deallocate(sqe, 0)).isTrue();
        }
    }

    @Property(tries = 300)
    void getLogPageLengthsAndOffsetsRoundTrip(@ForAll @IntRange(min = 0, max = 255) int lid,
                                              @ForAll @LongRange(min = 1, max = 1L << 32) long dwords,
                                              @ForAll long offset) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sqe = a.allocate(NvmeCommand.SIZE);
            LogPage.write(sqe, 0, 1, lid, 0xFFFFFFFFL, offset, dwords * 4);
            assertThat(LogPage.lid(sqe, 0)).isEqualTo(lid);
            assertThat(LogPage.length(sqe, 0)).isEqualTo(dwords * 4);
            assertThat(LogPage.offset(sqe, 0)).isEqualTo(offset);
        }
    }

    @Test
    void logPageRangesAreCheckedForAnyOffset() {
        assertThat(LogPage.validRange(0, 512, LogPage.SMART_SIZE)).isTrue();
        assertThat(LogPage.validRange(508, 64, LogPage.SMART_SIZE)).as("runs past the end: zeroes").isTrue();
        assertThat(LogPage.validRange(512, 4, LogPage.SMART_SIZE)).isTrue();
        assertThat(LogPage.validRange(516, 4, LogPage.SMART_SIZE)).as("starts past the end").isFalse();
        assertThat(LogPage.validRange(0xFFFFFFFF00000000L, 4, LogPage.SMART_SIZE)).isFalse();
        assertThat(LogPage.validRange(Long.MIN_VALUE, 4, LogPage.SMART_SIZE)).isFalse();
        assertThat(LogPage.validRange(2, 4, LogPage.SMART_SIZE)).as("not dword aligned").isFalse();
        assertThat(LogPage.dataUnits(512_000)).isEqualTo(1);
        assertThat(LogPage.dataUnits(512_001)).isEqualTo(1);
        assertThat(LogPage.dataUnits(513 * 1000)).isEqualTo(2);
    }

    @Test
    void featureValuesAndAdminFields() {
        int q = Features.queues(64, 32);
        assertThat(q).isEqualTo((31 << 16) | 63);
        assertThat(Features.submissionQueues(q)).isEqualTo(64);
        assertThat(Features.completionQueues(q)).isEqualTo(32);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sqe = a.allocate(NvmeCommand.SIZE);
            Features.writeSet(sqe, 0, 3, Features.FID_NUMBER_OF_QUEUES, q);
            assertThat(NvmeCommand.opcode(sqe, 0)).isEqualTo(0x09);
            assertThat(Features.fid(sqe, 0)).isEqualTo(7);
            assertThat(Features.value(sqe, 0)).isEqualTo(q);
            assertThat(Features.save(sqe, 0)).isFalse();
            Features.writeGet(sqe, 0, 3, Features.FID_KEEP_ALIVE_TIMER, Features.SEL_SUPPORTED_CAPABILITIES);
            assertThat(Features.select(sqe, 0)).isEqualTo(3);
            AdminCommand.writeAbort(sqe, 0, 9, 2, 77);
            assertThat(NvmeCommand.opcode(sqe, 0)).isEqualTo(0x08);
            assertThat(AdminCommand.abortSqid(sqe, 0)).isEqualTo(2);
            assertThat(AdminCommand.abortCid(sqe, 0)).isEqualTo(77);
        }
        int aen = AdminCommand.asyncEvent(AdminCommand.AER_TYPE_NOTICE, AdminCommand.AER_NOTICE_NAMESPACE_ATTRIBUTE_CHANGED,
                LogPage.LID_CHANGED_NAMESPACES);
        assertThat(aen).isEqualTo(0x00040002);
        assertThat(AdminCommand.asyncEventLogPage(aen)).isEqualTo(4);
    }

    @Property(tries = 200)
    void nvmRangeRoundTrips(@ForAll long slba, @ForAll @IntRange(min = 1, max = NvmeCommand.MAX_NLB) int blocks) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sqe = a.allocate(NvmeCommand.SIZE);
            NvmeCommand.begin(sqe, 0, NvmeOpcodes.NVM_READ, 1);
            NvmeCommand.range(sqe, 0, slba, blocks);
            assertThat(NvmeCommand.slba(sqe, 0)).isEqualTo(slba).isEqualTo(NvmeCommand.cdw10_11(sqe, 0));
            assertThat(NvmeCommand.blocks(sqe, 0)).isEqualTo(blocks);
            assertThat(NvmeCommand.cdw(sqe, 0, 12)).isEqualTo(blocks - 1);
            assertThat(TcpPdu.u8(sqe, 1)).as("PSDT 01b").isEqualTo(0x40);
        }
    }

    @Test
    void statusesAreNamedForPeople() {
        assertThat(NvmeStatus.describe(NvmeStatus.CONNECT_INVALID_HOST)).isEqualTo("CONNECT_INVALID_HOST (SCT 1, SC 0x84, DNR)");
        assertThat(NvmeStatus.describe(NvmeStatus.TRANSIENT_TRANSPORT_ERROR))
                .isEqualTo("TRANSIENT_TRANSPORT_ERROR (SCT 0, SC 0x22)");
        assertThat(NvmeStatus.describe(0x4184)).isEqualTo("CONNECT_INVALID_HOST (SCT 1, SC 0x84, DNR)");
        assertThat(NvmeStatus.describe(NvmeStatus.of(NvmeStatus.SCT_VENDOR, 0xC1))).isEqualTo("UNKNOWN (SCT 7, SC 0xc1)");
        assertThat(NvmeStatus.describe(NvmeStatus.SUCCESS)).startsWith("SUCCESS");
        assertThat(NvmeStatus.name(NvmeStatus.LBA_OUT_OF_RANGE & ~NvmeStatus.DNR))
                .as("named without DNR too").isEqualTo("LBA_OUT_OF_RANGE");
        assertThat(NvmeStatus.sct(NvmeStatus.WRITE_FAULT)).isEqualTo(2);
        assertThat(NvmeStatus.sc(NvmeStatus.WRITE_FAULT)).isEqualTo(0x80);
    }
}
