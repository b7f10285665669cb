package io.panastor.engine.nvmf.tgt;

import static io.panastor.engine.nvmf.proto.TcpPdu.u16;
import static io.panastor.engine.nvmf.proto.TcpPdu.u32;
import static io.panastor.engine.nvmf.proto.TcpPdu.u8;
import io.panastor.engine.nvmf.proto.IdentifyCommand;
import io.panastor.engine.nvmf.proto.IdentifyController;
import io.panastor.engine.nvmf.proto.IdentifyNamespace;
import io.panastor.engine.nvmf.proto.LogPage;
import io.panastor.engine.nvmf.proto.NamespaceDescriptor;
import io.panastor.engine.nvmf.proto.NvmeCommand;
import io.panastor.engine.nvmf.proto.NvmeOpcodes;
import io.panastor.engine.nvmf.proto.NvmeStatus;
import io.panastor.engine.nvmf.proto.TcpPdu;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The admin command set on a controller's admin queue: Identify, Get Log Page, Get/Set
 * Features, Asynchronous Event Request, Keep Alive, Abort (NVMe base 2.0 §5). Data is built
 * in the request's buffer. Runs on the admin queue's reactor; control-path rate.
 */
final class AdminCommands {
    private AdminCommands() {
    }

    static final int IDENTIFY_SIZE = IdentifyCommand.DATA_SIZE;
    static final String FIRMWARE_REVISION = "0.1.0";
    /** Identify Controller MDTS: 2^5 pages of 4 KiB = {@link QueuePair#MAX_TRANSFER}. */
    static final int MDTS = 5;
    /** RAB: commands the host may hand the controller at once for arbitration (2^6). */
    static final int RECOMMENDED_ARBITRATION_BURST = 6;
    /** ACL: concurrent Abort commands (answered at once, they never wait). */
    static final int ABORT_LIMIT = 4;
    /** FRMW: one firmware slot, read-only. */
    static final int FRMW_ONE_READ_ONLY_SLOT = 0x3;
    /** KAS: keep-alive granularity in 100 ms units (1 s). */
    static final int KEEP_ALIVE_GRANULARITY_100MS = 10;

    /** Runs one admin command; false when the request is held (an AER) and completes later. */
    static boolean execute(Controller c, QueuePair q, NvmfRequest req) {
        switch (req.opcode()) {
            case NvmeOpcodes.ADMIN_IDENTIFY -> identify(c, req);
            case NvmeOpcodes.ADMIN_GET_LOG_PAGE -> getLogPage(c, q, req);
            case NvmeOpcodes.ADMIN_SET_FEATURES -> c.onSetFeatures(req);
            case NvmeOpcodes.ADMIN_GET_FEATURES -> c.onGetFeatures(req);
            case NvmeOpcodes.ADMIN_KEEP_ALIVE -> {
                c.onKeepAlive();
                req.complete(NvmeStatus.SUCCESS, 0);
            }
            case NvmeOpcodes.ADMIN_ASYNC_EVENT_REQUEST -> {
                if (c.subsystem().isDiscovery()) {
                    req.complete(NvmeStatus.INVALID_OPCODE, 0);
                } else if (c.holdAsyncEvent(req)) {
                    return false;
                }
            }
            // Commands complete in order and fast: nothing is ever aborted (DW0 bit 0 = 1).
            case NvmeOpcodes.ADMIN_ABORT -> req.complete(NvmeStatus.SUCCESS, 1);
            default -> req.complete(NvmeStatus.INVALID_OPCODE, 0);
        }
        return true;
    }

    // ---------------------------------------------------------------- Identify

    private static void identify(Controller c, NvmfRequest req) {
        int cns = IdentifyCommand.cns(req.sqe, 0);
        MemorySegment b = req.buffer;
        if (req.length == 0) {
            req.complete(NvmeStatus.DATA_SGL_LENGTH_INVALID, 0);
            return;
        }
        b.asSlice(0, IDENTIFY_SIZE).fill((byte) 0);
        Subsystem s = c.subsystem();
        long nsid = req.nsid();
        switch (cns) {
            case IdentifyCommand.CNS_CONTROLLER -> identifyController(c, b);
            case IdentifyCommand.CNS_NAMESPACE -> {
                if (s.isDiscovery() || nsid == 0 || nsid > Subsystem.MAX_NAMESPACES) {
                    req.complete(NvmeStatus.INVALID_NAMESPACE, 0);
                    return;
                }
                Namespace ns = s.namespace(nsid);
                if (ns != null) {
                    identifyNamespace(ns, b);
                }
            }
            case IdentifyCommand.CNS_ACTIVE_NAMESPACES -> {
                if (nsid >= 0xFFFFFFFEL) {
                    req.complete(NvmeStatus.INVALID_NAMESPACE, 0);
                    return;
                }
                int i = 0;
                for (Namespace ns : s.namespaces()) {
                    if (ns.nsid() > nsid && i < IdentifyCommand.LIST_ENTRIES) {
                        u32(b, 4L * i++, ns.nsid());
                    }
                }
            }
            case IdentifyCommand.CNS_NAMESPACE_DESCRIPTORS -> {
                Namespace ns = s.namespace(nsid);
                if (ns == null) {
                    req.complete(NvmeStatus.INVALID_NAMESPACE, 0);
                    return;
                }
                long at = 0;
                at = NamespaceDescriptor.write(b, at, NamespaceDescriptor.NIDT_NGUID, ns.nguid());
                byte[] uuid = new byte[16];
                long hi = ns.uuid().getMostSignificantBits();
                long lo = ns.uuid().getLeastSignificantBits();
                for (int k = 0; k < 8; k++) {
                    uuid[k] = (byte) (hi >>> (56 - 8 * k));
                    uuid[8 + k] = (byte) (lo >>> (56 - 8 * k));
                }
                at = NamespaceDescriptor.write(b, at, NamespaceDescriptor.NIDT_UUID, uuid);
                NamespaceDescriptor.write(b, at, NamespaceDescriptor.NIDT_CSI, new byte[] {NamespaceDescriptor.CSI_NVM});
            }
            default -> {
                req.complete(NvmeStatus.INVALID_FIELD, 0);
                return;
            }
        }
        req.transfer = Math.min(req.length, IDENTIFY_SIZE);
        req.complete(NvmeStatus.SUCCESS, 0);
    }

    private static void identifyController(Controller c, MemorySegment b) {
        Subsystem s = c.subsystem();
        ascii(b, IdentifyController.SN_OFFSET, IdentifyController.SN_LENGTH, s.serial());
        ascii(b, IdentifyController.MN_OFFSET, IdentifyController.MN_LENGTH, s.model());
        ascii(b, IdentifyController.FR_OFFSET, IdentifyController.FR_LENGTH, FIRMWARE_REVISION);
        u8(b, IdentifyController.RAB_OFFSET, RECOMMENDED_ARBITRATION_BURST);
        // CMIC: more than one controller may attach to an NVM subsystem.
        u8(b, IdentifyController.CMIC_OFFSET, s.isDiscovery() ? 0 : IdentifyController.CMIC_MULTI_CONTROLLER);
        u8(b, IdentifyController.MDTS_OFFSET, MDTS);
        u16(b, IdentifyController.CNTLID_OFFSET, c.cntlid());
        u32(b, IdentifyController.VER_OFFSET, Controller.VS);
        u32(b, IdentifyController.OAES_OFFSET, s.isDiscovery() ? 0 : IdentifyController.OAES_NAMESPACE_ATTRIBUTE);
        u32(b, IdentifyController.CTRATT_OFFSET, IdentifyController.CTRATT_HOST_ID_128);
        u8(b, IdentifyController.CNTRLTYPE_OFFSET, s.isDiscovery() ? IdentifyController.CNTRLTYPE_DISCOVERY
                : IdentifyController.CNTRLTYPE_IO);
        u8(b, IdentifyController.ACL_OFFSET, ABORT_LIMIT - 1);                   // 0's based
        u8(b, IdentifyController.AERL_OFFSET, Controller.MAX_AERS - 1);          // 0's based
        u8(b, IdentifyController.FRMW_OFFSET, FRMW_ONE_READ_ONLY_SLOT);
        u8(b, IdentifyController.LPA_OFFSET, IdentifyController.LPA_EXTENDED_DATA);
        u8(b, IdentifyController.ELPE_OFFSET, 0);                                // one error log entry (0's based)
        u16(b, IdentifyController.KAS_OFFSET, KEEP_ALIVE_GRANULARITY_100MS);
        u8(b, IdentifyController.SQES_OFFSET, IdentifyController.SQES_64);
        u8(b, IdentifyController.CQES_OFFSET, IdentifyController.CQES_16);
        u16(b, IdentifyController.MAXCMD_OFFSET, QueuePair.MAX_QUEUE_DEPTH);
        u32(b, IdentifyController.NN_OFFSET, s.isDiscovery() ? 0 : Subsystem.MAX_NAMESPACES);
        u16(b, IdentifyController.ONCS_OFFSET, s.isDiscovery() ? 0
                : IdentifyController.ONCS_DATASET_MANAGEMENT | IdentifyController.ONCS_WRITE_ZEROES);
        u8(b, IdentifyController.VWC_OFFSET, s.isDiscovery() ? 0 : IdentifyController.VWC_PRESENT_NO_BROADCAST_FLUSH);
        u32(b, IdentifyController.SGLS_OFFSET, IdentifyController.SGLS_SUPPORTED_OFFSET);
        ascii0(b, IdentifyController.SUBNQN_OFFSET, io.panastor.engine.nvmf.proto.ConnectData.NQN_FIELD_LENGTH, s.nqn());
        // IOCCSZ and IORCSZ count 16-byte units: the SQE and its in-capsule data, the CQE.
        u32(b, IdentifyController.IOCCSZ_OFFSET, (NvmeCommand.SIZE + QueuePair.IN_CAPSULE_DATA) / 16);
        u32(b, IdentifyController.IORCSZ_OFFSET, 1);
        u16(b, IdentifyController.ICDOFF_OFFSET, 0);
        u8(b, IdentifyController.FCATT_OFFSET, 0);                               // dynamic controller model
        u8(b, IdentifyController.MSDBD_OFFSET, 1);
        u16(b, IdentifyController.OFCS_OFFSET, IdentifyController.OFCS_DISCONNECT);
    }

    private static void identifyNamespace(Namespace ns, MemorySegment b) {
        long blocks = ns.bdev().blockCount();
        TcpPdu.u64(b, IdentifyNamespace.NSZE_OFFSET, blocks);
        TcpPdu.u64(b, IdentifyNamespace.NCAP_OFFSET, blocks);
        TcpPdu.u64(b, IdentifyNamespace.NUSE_OFFSET, blocks);
        u8(b, IdentifyNamespace.NLBAF_OFFSET, 0);                                // one format (0's based)
        u8(b, IdentifyNamespace.FLBAS_OFFSET, 0);                                // format 0 in use
        u8(b, IdentifyNamespace.NMIC_OFFSET, IdentifyNamespace.NMIC_SHARED);
        u8(b, IdentifyNamespace.DLFEAT_OFFSET, IdentifyNamespace.DLFEAT_READS_ZEROES);
        MemorySegment.copy(ns.nguid(), 0, b, java.lang.foreign.ValueLayout.JAVA_BYTE, IdentifyNamespace.NGUID_OFFSET,
                IdentifyNamespace.NGUID_LENGTH);
        IdentifyNamespace.format(b, 0, 0, Integer.numberOfTrailingZeros(ns.bdev().blockSize()));  // no metadata
    }

    static void ascii(MemorySegment b, long at, int width, String text) {
        byte[] t = text.getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < width; i++) {
            u8(b, at + i, i < t.length ? t[i] : ' ');
        }
    }

    static void ascii0(MemorySegment b, long at, int width, String text) {
        byte[] t = text.getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < width; i++) {
            u8(b, at + i, i < t.length && i < width - 1 ? t[i] : 0);
        }
    }

    // ---------------------------------------------------------------- Get Log Page

    private static void getLogPage(Controller c, QueuePair q, NvmfRequest req) {
        int lid = LogPage.lid(req.sqe, 0);
        boolean retain = LogPage.retainAsyncEvent(req.sqe, 0);
        long offset = LogPage.offset(req.sqe, 0);
        long bytes = LogPage.length(req.sqe, 0);
        if ((offset & 3) != 0 || bytes > req.length) {
            req.complete(NvmeStatus.INVALID_FIELD, 0);
            return;
        }
        byte[] page;
        Subsystem s = c.subsystem();
        switch (lid) {
            case LogPage.LID_DISCOVERY -> {
                if (!s.isDiscovery()) {
                    req.complete(NvmeStatus.INVALID_LOG_PAGE, 0);
                    return;
                }
                page = q.target.discoveryLog(c.hostNqn());
            }
            case LogPage.LID_ERROR -> page = new byte[LogPage.ERROR_ENTRY_SIZE];
            case LogPage.LID_SMART -> page = smart(c);
            case LogPage.LID_FIRMWARE_SLOT -> {
                page = new byte[LogPage.FIRMWARE_SLOT_SIZE];
                MemorySegment p = MemorySegment.ofArray(page);
                u8(p, LogPage.FIRMWARE_AFI_OFFSET, 1);                               // slot 1 active
                ascii(p, LogPage.FIRMWARE_SLOT1_OFFSET, IdentifyController.FR_LENGTH, FIRMWARE_REVISION);
            }
            case LogPage.LID_CHANGED_NAMESPACES -> {
                page = new byte[LogPage.CHANGED_NAMESPACES_SIZE];
                List<Integer> changed = c.takeChangedNamespaces(retain);
                MemorySegment p = MemorySegment.ofArray(page);
                if (changed.size() >= LogPage.CHANGED_NAMESPACES_MAX) {
                    u32(p, 0, LogPage.CHANGED_NAMESPACES_OVERFLOW);
                } else {
                    for (int i = 0; i < changed.size(); i++) {
                        u32(p, 4L * i, changed.get(i));
                    }
                }
            }
            default -> {
                req.complete(NvmeStatus.INVALID_LOG_PAGE, 0);
                return;
            }
        }
        // LPOL/LPOU form an unsigned 64-bit byte offset: one past the end of the page is
        // Invalid Field in Command (NVMe base 2.0 §5.16), and so is any offset with the top
        // bit set (which a signed compare would take for a small one).
        if (!LogPage.validRange(offset, bytes, page.length)) {
            req.complete(NvmeStatus.INVALID_FIELD, 0);
            return;
        }
        MemorySegment b = req.buffer;
        b.asSlice(0, bytes).fill((byte) 0);
        int n = (int) Math.min(bytes, page.length - offset);
        if (n > 0) {
            MemorySegment.copy(page, (int) offset, b, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, n);
        }
        req.transfer = (int) bytes;
        req.complete(NvmeStatus.SUCCESS, 0);
    }

    private static byte[] smart(Controller c) {
        byte[] page = new byte[LogPage.SMART_SIZE];
        MemorySegment p = MemorySegment.ofArray(page);
        u16(p, LogPage.SMART_TEMPERATURE_OFFSET, 313);                            // Kelvin
        u8(p, LogPage.SMART_AVAILABLE_SPARE_OFFSET, 100);                         // %
        u8(p, LogPage.SMART_SPARE_THRESHOLD_OFFSET, 10);                          // %
        long read = 0;
        long written = 0;
        long reads = 0;
        long writes = 0;
        for (QueuePair q : c.ioQueues()) {
            read += q.bytesRead;
            written += q.bytesWritten;
            reads += q.readCommands;
            writes += q.writeCommands;
        }
        TcpPdu.u64(p, LogPage.SMART_DATA_UNITS_READ_OFFSET, LogPage.dataUnits(read));
        TcpPdu.u64(p, LogPage.SMART_DATA_UNITS_WRITTEN_OFFSET, LogPage.dataUnits(written));
        TcpPdu.u64(p, LogPage.SMART_HOST_READS_OFFSET, reads);
        TcpPdu.u64(p, LogPage.SMART_HOST_WRITES_OFFSET, writes);
        TcpPdu.u64(p, LogPage.SMART_POWER_CYCLES_OFFSET, 1);
        return page;
    }
}
