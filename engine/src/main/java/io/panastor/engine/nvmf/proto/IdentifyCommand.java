package io.panastor.engine.nvmf.proto;

import java.lang.foreign.MemorySegment;

/**
 * The Identify admin command (NVMe base 2.0 §5.17), offsets from its SQE; it returns 4096
 * bytes: {@link IdentifyController}, {@link IdentifyNamespace}, a namespace list (up to 1024
 * NSIDs, u32 each, ascending, zero-terminated) or {@link NamespaceDescriptor}s.
 * <pre>
 *  4 NSID u32 | 40 CDW10: 7:0 CNS, 31:16 CNTID | 44 CDW11: 15:0 CNS-specific id, 31:24 CSI
 * </pre>
 */
public final class IdentifyCommand {
    private IdentifyCommand() {
    }

    public static final int DATA_SIZE = 4096;
    /** NSIDs one namespace list holds. */
    public static final int LIST_ENTRIES = 1024;

    public static final int CNS_NAMESPACE = 0x00;
    public static final int CNS_CONTROLLER = 0x01;
    public static final int CNS_ACTIVE_NAMESPACES = 0x02;
    public static final int CNS_NAMESPACE_DESCRIPTORS = 0x03;

    public static int cns(MemorySegment s, long sqe) {
        return NvmeCommand.cdw(s, sqe, 10) & 0xFF;
    }

    public static int cntid(MemorySegment s, long sqe) {
        return NvmeCommand.cdw(s, sqe, 10) >>> 16;
    }

    /** A whole Identify SQE for {@code cns} and {@code nsid}, its 4096 bytes of data moved by C2HData. */
    public static void write(MemorySegment s, long sqe, int cid, int cns, long nsid) {
        NvmeCommand.begin(s, sqe, NvmeOpcodes.ADMIN_IDENTIFY, cid);
        NvmeCommand.nsid(s, sqe, nsid);
        NvmeCommand.sgl(s, sqe, NvmeCommand.SGL_TRANSPORT, 0, DATA_SIZE);
        NvmeCommand.cdw(s, sqe, 10, cns);
    }
}
