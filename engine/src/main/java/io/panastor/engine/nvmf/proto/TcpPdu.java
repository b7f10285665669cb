package io.panastor.engine.nvmf.proto;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

import java.lang.foreign.MemorySegment;

/**
 * NVMe/TCP PDUs (NVMe/TCP transport specification 1.0, §3.6), as flyweight accessors over a
 * segment at a base offset; all fields little-endian. Target and initiator share these.
 * <pre>
 * Common header (§3.6.1), every PDU:
 *  0 PDU-TYPE u8 | 1 FLAGS u8 | 2 HLEN u8 | 3 PDO u8 | 4 PLEN u32
 * then the type's specific header (to HLEN), HDGST (4, if enabled), PAD (to PDO), DATA, DDGST (4).
 *
 * ICReq / ICResp (HLEN 128, PLEN 128):
 *  8 PFV u16 | 10 HPDA (ICReq) / CPDA (ICResp) u8 | 11 DGST u8 (bit0 HDGST, bit1 DDGST)
 * 12 MAXR2T (ICReq, 0's based) / MAXH2CDATA (ICResp) u32 | 16..127 reserved
 * CapsuleCmd (HLEN 72): 8 SQE (64)            CapsuleResp (HLEN 24): 8 CQE (16)
 * H2CData / C2HData (HLEN 24):  8 CCCID u16 | 10 TTAG u16 | 12 DATAO u32 | 16 DATAL u32 | 20 reserved
 * R2T (HLEN 24):                8 CCCID u16 | 10 TTAG u16 | 12 R2TO u32  | 16 R2TL u32  | 20 reserved
 * H2CTermReq / C2HTermReq (HLEN 24): 8 FES u16 | 10 FEI u32 | 14..23 reserved; data: the offending
 *  PDU header, so that PLEN is at most 152
 * </pre>
 */
public final class TcpPdu {
    private TcpPdu() {
    }

    // PDU types (§3.6.1)
    public static final int ICREQ = 0x00;
    public static final int ICRESP = 0x01;
    public static final int H2C_TERM_REQ = 0x02;
    public static final int C2H_TERM_REQ = 0x03;
    public static final int CAPSULE_CMD = 0x04;
    public static final int CAPSULE_RESP = 0x05;
    public static final int H2C_DATA = 0x06;
    public static final int C2H_DATA = 0x07;
    public static final int R2T = 0x09;

    // FLAGS
    public static final int FLAG_HDGSTF = 0x01;
    public static final int FLAG_DDGSTF = 0x02;
    /** H2CData/C2HData: the last PDU of a transfer. */
    public static final int FLAG_LAST_PDU = 0x04;
    /** C2HData: the command succeeded and no CapsuleResp follows. */
    public static final int FLAG_SUCCESS = 0x08;

    // header lengths
    public static final int COMMON_HEADER_LENGTH = 8;
    public static final int IC_LENGTH = 128;
    public static final int CAPSULE_CMD_HLEN = 72;
    public static final int CAPSULE_RESP_HLEN = 24;
    public static final int DATA_HLEN = 24;
    public static final int R2T_HLEN = 24;
    public static final int TERM_REQ_HLEN = 24;
    public static final int DIGEST_LENGTH = 4;
    /** Most header bytes a TermReq carries back (§3.6.2.3): PLEN at most 152. */
    public static final int TERM_REQ_MAX_DATA = 128;
    /** Longest header of any PDU type, with its digest. */
    public static final int MAX_HEADER_LENGTH = IC_LENGTH;

    // common header offsets
    public static final long TYPE_OFFSET = 0;
    public static final long FLAGS_OFFSET = 1;
    public static final long HLEN_OFFSET = 2;
    public static final long PDO_OFFSET = 3;
    public static final long PLEN_OFFSET = 4;

    // ICReq/ICResp
    public static final long PFV_OFFSET = 8;
    public static final long HPDA_OFFSET = 10;
    public static final long CPDA_OFFSET = 10;
    public static final long DGST_OFFSET = 11;
    public static final long MAXR2T_OFFSET = 12;
    public static final long MAXH2CDATA_OFFSET = 12;
    public static final int DGST_HDGST = 0x01;
    public static final int DGST_DDGST = 0x02;

    // capsules
    public static final long SQE_OFFSET = 8;
    public static final long CQE_OFFSET = 8;

    // data and R2T
    public static final long CCCID_OFFSET = 8;
    public static final long TTAG_OFFSET = 10;
    public static final long DATAO_OFFSET = 12;
    public static final long DATAL_OFFSET = 16;
    public static final long R2TO_OFFSET = 12;
    public static final long R2TL_OFFSET = 16;

    // TermReq
    public static final long FES_OFFSET = 8;
    public static final long FEI_OFFSET = 10;

    /** Fatal error status of a TermReq (§3.6.2.3). */
    public static final int FES_INVALID_PDU_HEADER_FIELD = 0x01;
    public static final int FES_PDU_SEQUENCE_ERROR = 0x02;
    public static final int FES_HEADER_DIGEST_ERROR = 0x03;
    public static final int FES_DATA_TRANSFER_OUT_OF_RANGE = 0x04;
    public static final int FES_DATA_TRANSFER_LIMIT_EXCEEDED = 0x05;
    public static final int FES_UNSUPPORTED_PARAMETER = 0x06;

    public static int type(MemorySegment s, long base) {
        return Byte.toUnsignedInt(s.get(JAVA_BYTE, base + TYPE_OFFSET));
    }

    public static int flags(MemorySegment s, long base) {
        return Byte.toUnsignedInt(s.get(JAVA_BYTE, base + FLAGS_OFFSET));
    }

    public static int hlen(MemorySegment s, long base) {
        return Byte.toUnsignedInt(s.get(JAVA_BYTE, base + HLEN_OFFSET));
    }

    public static int pdo(MemorySegment s, long base) {
        return Byte.toUnsignedInt(s.get(JAVA_BYTE, base + PDO_OFFSET));
    }

    public static long plen(MemorySegment s, long base) {
        return Integer.toUnsignedLong(s.get(JAVA_INT_UNALIGNED, base + PLEN_OFFSET));
    }

    /** Writes the common header. */
    public static void header(MemorySegment s, long base, int type, int flags, int hlen, int pdo, long plen) {
        s.set(JAVA_BYTE, base + TYPE_OFFSET, (byte) type);
        s.set(JAVA_BYTE, base + FLAGS_OFFSET, (byte) flags);
        s.set(JAVA_BYTE, base + HLEN_OFFSET, (byte) hlen);
        s.set(JAVA_BYTE, base + PDO_OFFSET, (byte) pdo);
        s.set(JAVA_INT_UNALIGNED, base + PLEN_OFFSET, (int) plen);
    }

    public static int u8(MemorySegment s, long at) {
        return Byte.toUnsignedInt(s.get(JAVA_BYTE, at));
    }

    public static int u16(MemorySegment s, long at) {
        return Short.toUnsignedInt(s.get(JAVA_SHORT_UNALIGNED, at));
    }

    public static long u32(MemorySegment s, long at) {
        return Integer.toUnsignedLong(s.get(JAVA_INT_UNALIGNED, at));
    }

    public static long u64(MemorySegment s, long at) {
        return s.get(JAVA_LONG_UNALIGNED, at);
    }

    public static void u64(MemorySegment s, long at, long v) {
        s.set(JAVA_LONG_UNALIGNED, at, v);
    }

    /**
     * An ASCII text field of {@code width} bytes: trailing NULs and spaces are dropped
     * (NQNs are NUL-terminated, serial and model numbers space-padded). Control path.
     */
    public static String ascii(MemorySegment s, long at, int width) {
        int n = 0;
        while (n < width && s.get(JAVA_BYTE, at + n) != 0) {
            n++;
        }
        byte[] b = new byte[n];
        MemorySegment.copy(s, JAVA_BYTE, at, b, 0, n);
        return new String(b, java.nio.charset.StandardCharsets.US_ASCII).strip();
    }

    /** Writes {@code text} into a {@code width}-byte field padded with spaces (serial, model, firmware). */
    public static void asciiPadded(MemorySegment s, long at, int width, String text) {
        byte[] t = text.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        for (int i = 0; i < width; i++) {
            s.set(JAVA_BYTE, at + i, i < t.length ? t[i] : (byte) ' ');
        }
    }

    /** Writes {@code text} into a {@code width}-byte field, NUL-terminated and NUL-padded (NQNs). */
    public static void asciiZ(MemorySegment s, long at, int width, String text) {
        byte[] t = text.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        for (int i = 0; i < width; i++) {
            s.set(JAVA_BYTE, at + i, i < t.length && i < width - 1 ? t[i] : 0);
        }
    }

    public static void u8(MemorySegment s, long at, int v) {
        s.set(JAVA_BYTE, at, (byte) v);
    }

    public static void u16(MemorySegment s, long at, int v) {
        s.set(JAVA_SHORT_UNALIGNED, at, (short) v);
    }

    public static void u32(MemorySegment s, long at, long v) {
        s.set(JAVA_INT_UNALIGNED, at, (int) v);
    }

    /** The expected header length of a PDU type, or -1 for a type that does not exist. */
    public static int expectedHlen(int type) {
        return switch (type) {
            case ICREQ, ICRESP -> IC_LENGTH;
            case CAPSULE_CMD -> CAPSULE_CMD_HLEN;
            case CAPSULE_RESP -> CAPSULE_RESP_HLEN;
            case H2C_DATA, C2H_DATA -> DATA_HLEN;
            case R2T -> R2T_HLEN;
            case H2C_TERM_REQ, C2H_TERM_REQ -> TERM_REQ_HLEN;
            default -> -1;
        };
    }
}
