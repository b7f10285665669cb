package io.panastor.engine.nvmf.proto;

import java.lang.foreign.MemorySegment;

/**
 * Fabrics Property Get and Property Set (NVMe over Fabrics 1.1 §3.4, §3.5), offsets from the
 * SQE; the properties are {@link ControllerRegisters}.
 * <pre>
 *  0 OPC 0x7F | 2 CID u16 | 4 FCTYPE (0x04 Get, 0x00 Set)
 * 40 ATTRIB u8 (bits 2:0 SIZE: 0 = 4 bytes, 1 = 8 bytes) | 44 OFST u32
 * 48 VALUE u64 (Set only)
 * Property Get response: DW0 the value's low 32 bits, DW1 its high 32 bits (8-byte size).
 * </pre>
 */
public final class PropertyCommand {
    private PropertyCommand() {
    }

    public static final long ATTRIB_OFFSET = 40;
    public static final long OFST_OFFSET = 44;
    public static final long VALUE_OFFSET = 48;
    public static final int SIZE_4_BYTES = 0;
    public static final int SIZE_8_BYTES = 1;

    /** ATTRIB.SIZE: {@link #SIZE_4_BYTES} or {@link #SIZE_8_BYTES} (anything else is invalid). */
    public static int size(MemorySegment s, long sqe) {
        return TcpPdu.u8(s, sqe + ATTRIB_OFFSET) & 0x7;
    }

    public static long offset(MemorySegment s, long sqe) {
        return TcpPdu.u32(s, sqe + OFST_OFFSET);
    }

    public static long value(MemorySegment s, long sqe) {
        return TcpPdu.u64(s, sqe + VALUE_OFFSET);
    }

    /** A whole Property Get SQE for the property at {@code offset}, of 4 or 8 bytes. */
    public static void writeGet(MemorySegment s, long sqe, int cid, int offset, boolean eightBytes) {
        NvmeCommand.begin(s, sqe, NvmeOpcodes.FABRICS, cid);
        NvmeCommand.fctype(s, sqe, NvmeOpcodes.FCTYPE_PROPERTY_GET);
        TcpPdu.u8(s, sqe + ATTRIB_OFFSET, eightBytes ? SIZE_8_BYTES : SIZE_4_BYTES);
        TcpPdu.u32(s, sqe + OFST_OFFSET, offset);
    }

    /** A whole Property Set SQE writing the 4-byte {@code value} to the property at {@code offset}. */
    public static void writeSet(MemorySegment s, long sqe, int cid, int offset, long value) {
        NvmeCommand.begin(s, sqe, NvmeOpcodes.FABRICS, cid);
        NvmeCommand.fctype(s, sqe, NvmeOpcodes.FCTYPE_PROPERTY_SET);
        TcpPdu.u8(s, sqe + ATTRIB_OFFSET, SIZE_4_BYTES);
        TcpPdu.u32(s, sqe + OFST_OFFSET, offset);
        TcpPdu.u64(s, sqe + VALUE_OFFSET, value);
    }

    /** The value a Property Get returned, from its completion's DW0 and DW1. */
    public static long value(int dw0, int dw1) {
        return Integer.toUnsignedLong(dw0) | ((long) dw1 << 32);
    }
}
