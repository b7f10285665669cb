package io.panastor.engine.nvmf.tgt;

import static io.panastor.engine.nvmf.proto.TcpPdu.u16;
import static io.panastor.engine.nvmf.proto.TcpPdu.u32;
import static io.panastor.engine.nvmf.proto.TcpPdu.u8;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

import io.panastor.engine.nvmf.proto.NvmeOpcodes;
import io.panastor.engine.nvmf.proto.NvmeStatus;
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

    static final int IDENTIFY_SIZE = 4096;
    static final String FIRMWARE_REVISION = "0.1.0";
    /** Identify Controller MDTS: 2^5 pages of 4 KiB = {@link QueuePair#MAX_TRANSFER}. */
    static final int MDTS = 5;

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
        int cns = req.cdw(10) & 0xFF;
        MemorySegment b = req.buffer;
        if (req.length == 0) {
            req.complete(NvmeStatus.DATA_SGL_LENGTH_INVALID, 0);
            return;
        }
        b.asSlice(0, IDENTIFY_SIZE).fill((byte) 0);
        Subsystem s = c.subsystem();
        long nsid = req.nsid();
        switch (cns) {
            case NvmeOpcodes.CNS_CONTROLLER -> identifyController(c, b);
            case NvmeOpcodes.CNS_NAMESPACE -> {
                if (s.isDiscovery() || nsid == 0 || nsid > Subsystem.MAX_NAMESPACES) {
                    req.complete(NvmeStatus.INVALID_NAMESPACE, 0);
                    return;
                }
                Namespace ns = s.namespace(nsid);
                if (ns != null) {
                    identifyNamespace(ns, b);
                }
            }
            case NvmeOpcodes.CNS_ACTIVE_NAMESPACES -> {
                if (nsid >= 0xFFFFFFFEL) {
                    req.complete(NvmeStatus.INVALID_NAMESPACE, 0);
                    return;
                }
                int i = 0;
                for (Namespace ns : s.namespaces()) {
                    if (ns.nsid() > nsid && i < 1024) {
                        u32(b, 4L * i++, ns.nsid());
                    }
                }
            }
            case NvmeOpcodes.CNS_NAMESPACE_DESCRIPTORS -> {
                Namespace ns = s.namespace(nsid);
                if (ns == null) {
                    req.complete(NvmeStatus.INVALID_NAMESPACE, 0);
                    return;
                }
                long at = 0;
                at = descriptor(b, at, 0x2, ns.nguid());
                byte[] uuid = new byte[16];
                long hi = ns.uuid().getMostSignificantBits();
                long lo = ns.uuid().getLeastSignificantBits();
                for (int k = 0; k < 8; k++) {
                    uuid[k] = (byte) (hi >>> (56 - 8 * k));
                    uuid[8 + k] = (byte) (lo >>> (56 - 8 * k));
                }
                at = descriptor(b, at, 0x3, uuid);
                descriptor(b, at, 0x4, new byte[] {0});
            }
            default -> {
                req.complete(NvmeStatus.INVALID_FIELD, 0);
                return;
            }
        }
        req.transfer = Math.min(req.length, IDENTIFY_SIZE);
        req.complete(NvmeStatus.SUCCESS, 0);
    }

    private static long descriptor(MemorySegment b, long at, int type, byte[] id) {
        u8(b, at, type);
        u8(b, at + 1, id.length);
        MemorySegment.copy(id, 0, b, java.lang.foreign.ValueLayout.JAVA_BYTE, at + 4, id.length);
        return at + 4 + id.length;
    }

    private static void identifyController(Controller c, MemorySegment b) {
        Subsystem s = c.subsystem();
        ascii(b, 4, 20, s.serial());
        ascii(b, 24, 40, s.model());
        ascii(b, 64, 8, FIRMWARE_REVISION);
        u8(b, 72, 6);                                  // RAB
        u8(b, 76, s.isDiscovery() ? 0 : 0x2);          // CMIC: more than one controller may attach
        u8(b, 77, MDTS);
        u16(b, 78, c.cntlid());
        u32(b, 80, Controller.VS);
        u32(b, 92, s.isDiscovery() ? 0 : 1 << 8);      // OAES: namespace attribute notices
        u32(b, 96, 1);                                 // CTRATT: 128-bit host identifier
        u8(b, 111, s.isDiscovery() ? 2 : 1);           // CNTRLTYPE: discovery or IO controller
        u8(b, 258, 3);                                 // ACL (0's based)
        u8(b, 259, Controller.MAX_AERS - 1);           // AERL (0's based)
        u8(b, 260, 0x3);                               // FRMW: one slot, read-only
        u8(b, 261, 0x4);                               // LPA: extended data for Get Log Page
        u8(b, 262, 0);                                 // ELPE: one error log entry
        u16(b, 320, 10);                               // KAS: keep-alive granularity 1 s (100 ms units)
        u8(b, 512, 0x66);                              // SQES: 64-byte entries
        u8(b, 513, 0x44);                              // CQES: 16-byte entries
        u16(b, 514, QueuePair.MAX_QUEUE_DEPTH);        // MAXCMD
        u32(b, 516, s.isDiscovery() ? 0 : Subsystem.MAX_NAMESPACES);   // NN
        u16(b, 520, s.isDiscovery() ? 0 : 0x0C);       // ONCS: Dataset Management, Write Zeroes
        u8(b, 525, s.isDiscovery() ? 0 : 0x05);        // VWC: present; no broadcast flush (bits 2:1 = 10b)
        u32(b, 536, 0x1 | (1 << 20));                  // SGLS: SGLs, address as offset
        ascii0(b, 768, 256, s.nqn());                  // SUBNQN
        int ioccsz = (io.panastor.engine.nvmf.proto.NvmeCommand.SIZE + QueuePair.IN_CAPSULE_DATA) / 16;
        u32(b, 1792, ioccsz);                          // IOCCSZ (16-byte units)
        u32(b, 1796, 1);                               // IORCSZ
        u16(b, 1800, 0);                               // ICDOFF
        u8(b, 1802, 0);                                // FCATT: dynamic controller model
        u8(b, 1803, 1);                                // MSDBD
        u16(b, 1804, 1);                               // OFCS: Disconnect supported
    }

    private static void identifyNamespace(Namespace ns, MemorySegment b) {
        long blocks = ns.bdev().blockCount();
        b.set(JAVA_LONG_UNALIGNED, 0, blocks);         // NSZE
        b.set(JAVA_LONG_UNALIGNED, 8, blocks);         // NCAP
        b.set(JAVA_LONG_UNALIGNED, 16, blocks);        // NUSE
        u8(b, 25, 0);                                  // NLBAF: one format
        u8(b, 26, 0);                                  // FLBAS: format 0
        u8(b, 30, 1);                                  // NMIC: may be shared
        u8(b, 33, 0x1);                                // DLFEAT: deallocated blocks read as zeroes
        MemorySegment.copy(ns.nguid(), 0, b, java.lang.foreign.ValueLayout.JAVA_BYTE, 104, 16);
        int lbads = Integer.numberOfTrailingZeros(ns.bdev().blockSize());
        u32(b, 128, (long) lbads << 16);               // LBAF0: no metadata, LBADS
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
        int cdw10 = req.cdw(10);
        int lid = cdw10 & 0xFF;
        boolean retain = (cdw10 & 0x8000) != 0;
        long numd = (((long) (req.cdw(11) & 0xFFFF) << 16) | (cdw10 >>> 16)) + 1;
        long offset = Integer.toUnsignedLong(req.cdw(12)) | ((long) req.cdw(13) << 32);
        long bytes = numd * 4;
        if ((offset & 3) != 0 || bytes > req.length) {
            req.complete(NvmeStatus.INVALID_FIELD, 0);
            return;
        }
        byte[] page;
        Subsystem s = c.subsystem();
        switch (lid) {
            case NvmeOpcodes.LOG_DISCOVERY -> {
                if (!s.isDiscovery()) {
                    req.complete(NvmeStatus.INVALID_LOG_PAGE, 0);
                    return;
                }
                page = q.target.discoveryLog(c.hostNqn());
            }
            case NvmeOpcodes.LOG_ERROR -> page = new byte[64];
            case NvmeOpcodes.LOG_SMART -> page = smart(c);
            case NvmeOpcodes.LOG_FIRMWARE_SLOT -> {
                page = new byte[512];
                page[0] = 1;
                byte[] fr = (FIRMWARE_REVISION + "        ").substring(0, 8).getBytes(StandardCharsets.US_ASCII);
                System.arraycopy(fr, 0, page, 8, 8);
            }
            case NvmeOpcodes.LOG_CHANGED_NAMESPACES -> {
                page = new byte[4096];
                List<Integer> changed = c.takeChangedNamespaces(retain);
                MemorySegment p = MemorySegment.ofArray(page);
                if (changed.size() >= 1024) {
                    u32(p, 0, 0xFFFFFFFFL);
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
        if (Long.compareUnsigned(offset, page.length) > 0) {
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
        byte[] page = new byte[512];
        MemorySegment p = MemorySegment.ofArray(page);
        u16(p, 1, 313);                                // composite temperature, Kelvin
        u8(p, 3, 100);                                 // available spare %
        u8(p, 4, 10);                                  // spare threshold %
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
        // Data units are thousands of 512-byte units, rounded up (§5.16.1.3).
        p.set(JAVA_LONG_UNALIGNED, 32, (read / 512 + 999) / 1000);
        p.set(JAVA_LONG_UNALIGNED, 48, (written / 512 + 999) / 1000);
        p.set(JAVA_LONG_UNALIGNED, 64, reads);
        p.set(JAVA_LONG_UNALIGNED, 80, writes);
        p.set(JAVA_LONG_UNALIGNED, 112, 1);            // power cycles
        return page;
    }
}
