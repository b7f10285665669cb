package io.panastor.engine.nvmf.proto;

/**
 * Reserved bytes of the NVMe/TCP PDU headers that {@link TcpPdu} leaves unnamed, which a
 * sender must zero (NVMe/TCP 1.0 §3.6.2.8, §3.6.2.9: bytes 20-23 of the C2HData, H2CData
 * and R2T headers). Written out so that no code outside proto carries the offset.
 */
public final class TcpPduReserved {
    private TcpPduReserved() {
    }

    /** Bytes 20-23 of a C2HData, H2CData or R2T header (after DATAL / R2TL): reserved. */
    public static final long DATA_RESERVED_OFFSET = TcpPdu.DATAL_OFFSET + 4;
}
