package io.panastor.engine.nvmf.proto;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * One Namespace Identification Descriptor of Identify CNS 03h (NVMe base 2.0 §5.17.2.3,
 * Figure 277); they follow each other, and a zero NIDT ends the list.
 * <pre>
 * 0 NIDT u8 | 1 NIDL u8 | 2..3 reserved | 4 NID (NIDL bytes)
 * </pre>
 */
public final class NamespaceDescriptor {
    private NamespaceDescriptor() {
    }

    public static final long NIDT_OFFSET = 0;
    public static final long NIDL_OFFSET = 1;
    public static final long NID_OFFSET = 4;
    public static final int HEADER_SIZE = 4;

    public static final int NIDT_EUI64 = 0x1;
    public static final int NIDT_NGUID = 0x2;
    public static final int NIDT_UUID = 0x3;
    public static final int NIDT_CSI = 0x4;
    /** CSI 00h: the NVM command set. */
    public static final int CSI_NVM = 0x0;

    public static int type(MemorySegment s, long at) {
        return TcpPdu.u8(s, at + NIDT_OFFSET);
    }

    public static int length(MemorySegment s, long at) {
        return TcpPdu.u8(s, at + NIDL_OFFSET);
    }

    /** Writes one descriptor at {@code at}; returns where the next one goes. */
    public static long write(MemorySegment s, long at, int type, byte[] id) {
        TcpPdu.u8(s, at + NIDT_OFFSET, type);
        TcpPdu.u8(s, at + NIDL_OFFSET, id.length);
        TcpPdu.u16(s, at + 2, 0);
        MemorySegment.copy(id, 0, s, ValueLayout.JAVA_BYTE, at + NID_OFFSET, id.length);
        return at + HEADER_SIZE + id.length;
    }
}
