package io.panastor.engine.nvmf.tgt.fuzz;

import static io.panastor.engine.nvmf.proto.TcpPdu.*;

import io.panastor.engine.nvmf.TestHost;
import io.panastor.engine.nvmf.proto.NvmeOpcodes;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.SplittableRandom;

/**
 * Makes hostile inputs for the NVMe/TCP target from a seed: every host PDU type (and others),
 * header fields (flags, HLEN, PDO, PLEN, digests) right, wrong and at their boundaries,
 * truncated PDUs, and capsules whose every field that matters — opcode, flags and PSDT, CID,
 * NSID, SGL type/subtype/length/offset, CDW10-15, log page ids/offsets/lengths, feature ids,
 * property offsets and sizes, Connect SQE fields and data — is drawn from boundary values
 * (0, 1, max, max+1, 2^31, 2^32-1, 2^63, ...) or at random. Deterministic for a seed.
 */
final class PduFuzzer {
    /** Where the connection stands when the case's PDUs are sent. */
    enum Stage {
        /** Nothing sent yet: the PDU stands where the ICReq should. */
        RAW,
        /** ICReq/ICResp done, nothing connected. */
        IC,
        /** A new admin queue connected (to the NVM or the discovery subsystem) and enabled. */
        ADMIN,
        /** An IO queue of the shared controller connected. */
        IO,
        /** An IO queue with a write waiting for its data: the PDU stands where the H2CData should. */
        R2T
    }

    /**
     * One case.
     *
     * @param mayWait the target may rightly say nothing yet (a truncated PDU, a held AER, a
     *                partial H2CData): the case passes without an answer if the connection
     *                is then dropped cleanly
     */
    record Case(long index, Stage stage, boolean digests, boolean discovery, String what, byte[] bytes,
                boolean mayWait) {
        String describe() {
            return "case " + index + " [" + stage + (digests ? ", digests" : "") + (discovery ? ", discovery" : "")
                    + "] " + what + ": " + bytes.length + " bytes " + HexFormat.of().formatHex(bytes, 0,
                    Math.min(bytes.length, 256)) + (bytes.length > 256 ? "..." : "");
        }
    }

    static final long[] U8 = {0, 1, 0x7F, 0x80, 0xFE, 0xFF};
    static final long[] U16 = {0, 1, 2, 0x7F, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFE, 0xFFFF};
    static final long[] U32 = {0, 1, 2, 3, 4, 8, 16, 64, 72, 512, 1023, 1024, 4095, 4096, 8192, 8193, 32768, 32769,
        131072, 131073, 0x7FFFFFFFL, 0x80000000L, 0xFFFFFFFEL, 0xFFFFFFFFL};
    static final long[] U64 = {0, 1, 4, 508, 512, 4096, 0xFFFFFFFFL, 0x100000000L, 0x7FFFFFFFFFFFFFFFL,
        0x8000000000000000L, 0xFFFFFFFF00000000L, 0xFFFFFFFFFFFFFFFCL, -1L};
    static final int[] ADMIN_OPCODES = {NvmeOpcodes.ADMIN_IDENTIFY, NvmeOpcodes.ADMIN_GET_LOG_PAGE,
        NvmeOpcodes.ADMIN_GET_FEATURES, NvmeOpcodes.ADMIN_SET_FEATURES, NvmeOpcodes.ADMIN_KEEP_ALIVE,
        NvmeOpcodes.ADMIN_ASYNC_EVENT_REQUEST, NvmeOpcodes.ADMIN_ABORT, NvmeOpcodes.FABRICS, 0x01, 0x05, 0x7E, 0xFF};
    static final int[] IO_OPCODES = {NvmeOpcodes.NVM_READ, NvmeOpcodes.NVM_WRITE, NvmeOpcodes.NVM_FLUSH,
        NvmeOpcodes.NVM_WRITE_ZEROES, NvmeOpcodes.NVM_DATASET_MANAGEMENT, NvmeOpcodes.FABRICS, 0x05, 0x0C, 0x7F, 0xFF};
    static final int[] FCTYPES = {NvmeOpcodes.FCTYPE_CONNECT, NvmeOpcodes.FCTYPE_PROPERTY_GET,
        NvmeOpcodes.FCTYPE_PROPERTY_SET, NvmeOpcodes.FCTYPE_DISCONNECT, 0x05, 0x7F, 0xFF};
    static final int[] LOG_IDS = {NvmeOpcodes.LOG_ERROR, NvmeOpcodes.LOG_SMART, NvmeOpcodes.LOG_FIRMWARE_SLOT,
        NvmeOpcodes.LOG_CHANGED_NAMESPACES, NvmeOpcodes.LOG_DISCOVERY, 0x00, 0x05, 0x7F, 0xFF};
    static final int[] FEATURE_IDS = {0x01, 0x02, 0x04, 0x05, 0x06, 0x07, 0x08, 0x0A, 0x0B, 0x0F, 0x81, 0x00, 0xFF};
    static final int[] PROPERTY_OFFSETS = {0x00, 0x04, 0x08, 0x0C, 0x10, 0x14, 0x1C, 0x20, 0x1000, 0x7FFFFFFF, -1};
    static final int[] SGL_IDS = {0x01, 0x5A, 0x00, 0x0A, 0x40, 0x50, 0x5B, 0x02, 0xFF};

    private final SplittableRandom random;
    private final String nqn;

    PduFuzzer(long seed, String nqn) {
        this.random = new SplittableRandom(seed);
        this.nqn = nqn;
    }

    private long pick(long[] values) {
        return random.nextInt(4) == 0 ? random.nextLong() : values[random.nextInt(values.length)];
    }

    private int pickInt(int[] values) {
        return random.nextInt(8) == 0 ? random.nextInt(256) : values[random.nextInt(values.length)];
    }

    private static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** The next case. */
    Case next(long index) {
        Stage stage = Stage.values()[random.nextInt(Stage.values().length)];
        boolean digests = stage != Stage.RAW && random.nextInt(4) == 0;
        boolean discovery = stage == Stage.ADMIN && random.nextInt(4) == 0;
        int kind = random.nextInt(10);
        Built b;
        if (stage == Stage.R2T && kind < 6) {
            b = h2cData(digests);
        } else if (stage == Stage.RAW && kind < 4) {
            b = icReq();
        } else if (kind < 7) {
            b = capsule(stage, digests);
        } else if (kind < 8) {
            b = h2cData(digests);
        } else if (kind < 9) {
            b = termReq();
        } else {
            b = garbage();
        }
        byte[] bytes = b.bytes;
        boolean truncated = false;
        if (random.nextInt(8) == 0 && bytes.length > 1) {
            // Cut short: the target must wait for the rest (or see the header is bad), never hang on it.
            int keep = 1 + random.nextInt(bytes.length - 1);
            bytes = java.util.Arrays.copyOf(bytes, keep);
            truncated = true;
        }
        boolean mayWait = truncated || b.mayWait || declaredPlenExceeds(bytes);
        return new Case(index, stage, digests, discovery, b.what + (truncated ? " (truncated)" : ""), bytes, mayWait);
    }

    /** A PDU whose PLEN promises more than is sent may be waited on. */
    private static boolean declaredPlenExceeds(byte[] bytes) {
        if (bytes.length < 8) {
            return true;
        }
        long plen = Integer.toUnsignedLong(ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getInt(4));
        return plen > bytes.length;
    }

    private record Built(String what, byte[] bytes, boolean mayWait) {
    }

    // ---------------------------------------------------------------- PDU kinds

    private Built icReq() {
        int hlen = random.nextInt(4) == 0 ? (int) pick(U8) : IC_LENGTH;
        int plen = random.nextInt(4) == 0 ? (int) pick(U32) : IC_LENGTH;
        ByteBuffer b = le(IC_LENGTH);
        b.put(0, (byte) ICREQ).put(1, (byte) (random.nextInt(4) == 0 ? random.nextInt(256) : 0)).put(2, (byte) hlen)
                .put(3, (byte) (random.nextInt(4) == 0 ? random.nextInt(256) : 0)).putInt(4, plen);
        b.putShort(8, (short) (random.nextInt(3) == 0 ? pick(U16) : 0));          // PFV
        b.put(10, (byte) (random.nextInt(3) == 0 ? pick(U8) : 0));                // HPDA
        b.put(11, (byte) random.nextInt(256));                                    // DGST
        b.putInt(12, (int) pick(U32));                                            // MAXR2T
        return new Built("ICReq hlen " + hlen + " plen " + Integer.toUnsignedString(plen), b.array(), false);
    }

    private Built termReq() {
        int n = random.nextInt(200);
        int plen = random.nextInt(4) == 0 ? (int) pick(U32) : TERM_REQ_HLEN + n;
        ByteBuffer b = le(TERM_REQ_HLEN + n);
        b.put(0, (byte) H2C_TERM_REQ).put(2, (byte) TERM_REQ_HLEN).putInt(4, plen);
        b.putShort(8, (short) pick(U16)).putInt(10, (int) pick(U32));
        return new Built("H2CTermReq plen " + Integer.toUnsignedString(plen), b.array(), false);
    }

    private Built garbage() {
        int n = 8 + random.nextInt(120);
        byte[] a = new byte[n];
        random.nextBytes(a);
        ByteBuffer b = ByteBuffer.wrap(a).order(ByteOrder.LITTLE_ENDIAN);
        if (random.nextBoolean()) {
            b.putInt(4, n);
        }
        return new Built("garbage type 0x" + Integer.toHexString(a[0] & 0xFF), a, false);
    }

    private Built h2cData(boolean digests) {
        int n = random.nextInt(3) == 0 ? (int) Math.min(pick(U32) & 0x3FFFF, 40_000) : 4096 * (1 + random.nextInt(4));
        int hd = digests ? DIGEST_LENGTH : 0;
        int dd = digests ? DIGEST_LENGTH : 0;
        int plen = DATA_HLEN + hd + n + dd;
        ByteBuffer b = le(plen);
        boolean last = random.nextBoolean();
        int flags = (last ? FLAG_LAST_PDU : 0) | (digests ? FLAG_HDGSTF | FLAG_DDGSTF : 0);
        if (random.nextInt(5) == 0) {
            flags = random.nextInt(256);
        }
        int declared = random.nextInt(5) == 0 ? (int) pick(U32) : plen;
        b.put(0, (byte) H2C_DATA).put(1, (byte) flags).put(2, (byte) (random.nextInt(6) == 0 ? pick(U8) : DATA_HLEN))
                .put(3, (byte) (random.nextInt(6) == 0 ? pick(U8) : DATA_HLEN + hd)).putInt(4, declared);
        // The R2T stage's write has CID 0x4242 and its transfer tag is usually 0 or 1.
        b.putShort(8, (short) (random.nextInt(3) == 0 ? pick(U16) : 0x4242));
        b.putShort(10, (short) (random.nextInt(3) == 0 ? pick(U16) : random.nextInt(2)));
        long datao = random.nextInt(2) == 0 ? 0 : pick(U32);
        long datal = random.nextInt(3) == 0 ? pick(U32) : n;
        b.putInt(12, (int) datao).putInt(16, (int) datal);
        for (int i = 0; i < n; i++) {
            b.put(DATA_HLEN + hd + i, (byte) i);
        }
        if (hd > 0) {
            b.putInt(DATA_HLEN, random.nextInt(6) == 0 ? random.nextInt() : TestHost.crc(b.array(), 0, DATA_HLEN));
        }
        if (dd > 0) {
            b.putInt(DATA_HLEN + hd + n, random.nextInt(6) == 0 ? random.nextInt()
                    : TestHost.crc(b.array(), DATA_HLEN + hd, n));
        }
        // A well-formed H2CData that does not end its transfer is rightly waited on.
        boolean partial = (flags & FLAG_LAST_PDU) == 0;
        return new Built("H2CData flags 0x" + Integer.toHexString(flags) + " datao " + Long.toUnsignedString(datao
                & 0xFFFFFFFFL) + " datal " + Long.toUnsignedString(datal & 0xFFFFFFFFL) + " n " + n, b.array(), partial);
    }

    private Built capsule(Stage stage, boolean digests) {
        boolean io = stage == Stage.IO || stage == Stage.R2T;
        int opcode = pickInt(io ? IO_OPCODES : ADMIN_OPCODES);
        ByteBuffer sqe = le(64);
        int psdt = random.nextInt(4) == 0 ? random.nextInt(4) : 1;
        int fuse = random.nextInt(8) == 0 ? random.nextInt(4) : 0;
        sqe.put(0, (byte) opcode).put(1, (byte) ((psdt << 6) | fuse)).putShort(2, (short) random.nextInt(0x10000));
        sqe.putInt(4, (int) (random.nextInt(3) == 0 ? pick(U32) : 1 + random.nextInt(2)));   // NSID
        String what;
        byte[] data = null;
        int sglId = pickInt(SGL_IDS);
        long sglLength = random.nextInt(3) == 0 ? pick(U32) : 0;
        long sglAddress = random.nextInt(4) == 0 ? pick(U64) : 0;
        for (int dw = 10; dw <= 15; dw++) {
            sqe.putInt(40 + 4 * (dw - 10), (int) (random.nextInt(3) == 0 ? pick(U32) : 0));
        }
        switch (opcode) {
            case NvmeOpcodes.FABRICS -> {
                int fctype = pickInt(FCTYPES);
                sqe.put(4, (byte) fctype);
                what = "fabrics fctype 0x" + Integer.toHexString(fctype);
                if (fctype == NvmeOpcodes.FCTYPE_CONNECT) {
                    sqe.putShort(40, (short) (random.nextInt(4) == 0 ? pick(U16) : 0));      // RECFMT
                    sqe.putShort(42, (short) (random.nextInt(2) == 0 ? pick(U16) : 1));      // QID
                    sqe.putShort(44, (short) (random.nextInt(2) == 0 ? pick(U16) : 31));     // SQSIZE
                    sqe.put(46, (byte) pick(U8));                                            // CATTR
                    sqe.putInt(48, (int) pick(U32));                                         // KATO
                    data = connectData();
                    sglId = random.nextInt(4) == 0 ? sglId : 0x01;
                    sglLength = random.nextInt(4) == 0 ? sglLength : data.length;
                } else if (fctype == NvmeOpcodes.FCTYPE_PROPERTY_GET || fctype == NvmeOpcodes.FCTYPE_PROPERTY_SET) {
                    sqe.put(40, (byte) (random.nextInt(3) == 0 ? random.nextInt(256) : random.nextInt(2)));   // ATTRIB
                    sqe.putInt(44, pickInt(PROPERTY_OFFSETS));
                    sqe.putLong(48, pick(U64));
                }
            }
            case NvmeOpcodes.ADMIN_GET_LOG_PAGE -> {
                if (!io) {
                    int lid = pickInt(LOG_IDS);
                    long numd = random.nextInt(2) == 0 ? pick(U32) : 127;
                    sqe.putInt(40, (int) ((lid & 0xFF) | (random.nextInt(4) == 0 ? 0x8000 : 0) | (numd << 16)));
                    sqe.putInt(44, (int) (numd >>> 16));
                    sqe.putLong(48, random.nextInt(2) == 0 ? pick(U64) : 0);
                    sglId = 0x5A;
                    sglLength = random.nextInt(3) == 0 ? pick(U32) : 512;
                    what = "Get Log Page lid 0x" + Integer.toHexString(lid);
                } else {
                    what = "opcode 0x02 on an IO queue (Read)";
                }
            }
            case NvmeOpcodes.ADMIN_SET_FEATURES, NvmeOpcodes.ADMIN_GET_FEATURES -> {
                int fid = pickInt(FEATURE_IDS);
                sqe.putInt(40, fid | (random.nextInt(3) == 0 ? (int) pick(U32) & 0xFFFFFF00 : 0));
                sqe.putInt(44, (int) pick(U32));
                what = "features fid 0x" + Integer.toHexString(fid) + " opcode 0x" + Integer.toHexString(opcode);
            }
            case NvmeOpcodes.ADMIN_IDENTIFY -> {
                if (!io) {
                    sqe.putInt(40, (int) (random.nextInt(3) == 0 ? pick(U32) : random.nextInt(4)));
                    sglId = 0x5A;
                    sglLength = random.nextInt(3) == 0 ? pick(U32) : 4096;
                    what = "Identify";
                } else {
                    what = "opcode 0x06 on an IO queue";
                }
            }
            default -> {
                if (io && (opcode == NvmeOpcodes.NVM_READ || opcode == NvmeOpcodes.NVM_WRITE
                        || opcode == NvmeOpcodes.NVM_WRITE_ZEROES)) {
                    // SLBA near the fuzz namespace's end (4096 blocks) and past it, NLB at its limits.
                    sqe.putLong(40, random.nextInt(2) == 0 ? pick(U64) : random.nextInt(4200));
                    int nlb = random.nextInt(2) == 0 ? (int) pick(U16) : random.nextInt(32);
                    sqe.putInt(48, nlb | (random.nextInt(6) == 0 ? (int) pick(U32) & 0xFFFF0000 : 0));
                    if (random.nextInt(3) > 0) {
                        sglLength = (long) (nlb + 1) * 4096;
                        sglId = opcode == NvmeOpcodes.NVM_WRITE && sglLength <= 8192 && random.nextBoolean() ? 0x01
                                : 0x5A;
                    }
                } else if (io && opcode == NvmeOpcodes.NVM_DATASET_MANAGEMENT) {
                    int ranges = random.nextInt(3) == 0 ? 256 : 1 + random.nextInt(4);
                    sqe.putInt(40, ranges - 1).putInt(44, random.nextInt(2) == 0 ? 4 : (int) pick(U32));
                    data = new byte[16 * ranges];
                    ByteBuffer d = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
                    for (int r = 0; r < ranges; r++) {
                        d.putInt(16 * r + 4, (int) (random.nextInt(2) == 0 ? pick(U32) : random.nextInt(64)));
                        d.putLong(16 * r + 8, random.nextInt(2) == 0 ? pick(U64) : random.nextInt(4100));
                    }
                    sglId = 0x01;
                    sglLength = data.length;
                }
                what = "opcode 0x" + Integer.toHexString(opcode);
            }
        }
        if (data == null && sglId == 0x01 && sglLength > 0 && sglLength <= 9000 && random.nextBoolean()) {
            data = new byte[(int) sglLength];
            random.nextBytes(data);
        }
        if (data != null && random.nextInt(5) == 0) {
            data = java.util.Arrays.copyOf(data, random.nextInt(data.length + 64));  // in-capsule data of another length
        }
        sqe.putLong(24, sglAddress).putInt(32, (int) sglLength).put(39, (byte) sglId);
        boolean aer = !io && opcode == NvmeOpcodes.ADMIN_ASYNC_EVENT_REQUEST;
        return new Built(what + " sgl 0x" + Integer.toHexString(sglId) + "/" + Long.toUnsignedString(sglLength)
                + (data != null ? " with " + data.length + " B in capsule" : ""),
                capsuleBytes(sqe.array(), data, digests), aer);
    }

    private byte[] connectData() {
        byte[] d = new byte[1024];
        ByteBuffer b = ByteBuffer.wrap(d).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0, random.nextLong()).putLong(8, random.nextLong());
        b.putShort(16, (short) (random.nextInt(2) == 0 ? pick(U16) : 1));
        String[] subs = {nqn, NvmeOpcodes.DISCOVERY_NQN, "nqn.2026-11.io.panastor:nope", "", "x".repeat(300)};
        String sub = subs[random.nextInt(subs.length)];
        String host = random.nextInt(3) == 0 ? "nqn." + "h".repeat(random.nextInt(260)) : TestHost.HOST_NQN;
        byte[] s = sub.getBytes(StandardCharsets.US_ASCII);
        byte[] h = host.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(s, 0, d, 256, Math.min(s.length, 256));
        System.arraycopy(h, 0, d, 512, Math.min(h.length, 256));
        if (random.nextInt(6) == 0) {
            for (int i = 256; i < 1024; i++) {
                d[i] = (byte) (1 + random.nextInt(255));   // no NUL anywhere
            }
        }
        return d;
    }

    /** A CapsuleCmd PDU around {@code sqe}, with header fields sometimes wrong. */
    private byte[] capsuleBytes(byte[] sqe, byte[] data, boolean digests) {
        int hd = digests ? DIGEST_LENGTH : 0;
        int n = data == null ? 0 : data.length;
        int dd = n > 0 && digests ? DIGEST_LENGTH : 0;
        int plen = CAPSULE_CMD_HLEN + hd + n + dd;
        ByteBuffer p = le(plen);
        int flags = (digests ? FLAG_HDGSTF : 0) | (dd > 0 ? FLAG_DDGSTF : 0);
        if (random.nextInt(10) == 0) {
            flags = random.nextInt(256);
        }
        int hlen = random.nextInt(12) == 0 ? (int) pick(U8) : CAPSULE_CMD_HLEN;
        int pdo = n > 0 ? CAPSULE_CMD_HLEN + hd : 0;
        if (random.nextInt(12) == 0) {
            pdo = (int) pick(U8);
        }
        int declared = random.nextInt(12) == 0 ? (int) pick(U32) : plen;
        p.put(0, (byte) CAPSULE_CMD).put(1, (byte) flags).put(2, (byte) hlen).put(3, (byte) pdo).putInt(4, declared);
        p.put(8, sqe, 0, 64);
        if (hd > 0) {
            p.putInt(CAPSULE_CMD_HLEN, random.nextInt(8) == 0 ? random.nextInt()
                    : TestHost.crc(p.array(), 0, CAPSULE_CMD_HLEN));
        }
        if (n > 0) {
            p.put(CAPSULE_CMD_HLEN + hd, data);
            if (dd > 0) {
                p.putInt(CAPSULE_CMD_HLEN + hd + n, random.nextInt(8) == 0 ? random.nextInt()
                        : TestHost.crc(data, 0, n));
            }
        }
        return p.array();
    }
}
