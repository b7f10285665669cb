package io.panastor.engine.nvmf.host;

import static io.panastor.engine.nvmf.host.MisbehavingProxy.*;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * One generated misbehaviour of a target, for {@link NvmfHostFuzzTest}: a {@link Kind} and
 * the random choices it makes (cut points, field values), all from one seed, so a failing
 * case is replayed by its seed.
 */
final class HostFuzzCase implements MisbehavingProxy.Mutation {
    /** What the initiator must make of it. */
    enum Expect {
        /** Legal (if unusual) behaviour: the IO succeeds with exactly the right data. */
        SUCCESS,
        /** A protocol violation: the IO fails (never succeeds). */
        FAILURE,
        /** Either, but a success must carry the right data. */
        EITHER
    }

    enum Kind {
        // reads (the first C2HData of the IO)
        PASS(Expect.SUCCESS, false),
        SPLIT(Expect.SUCCESS, false),
        MERGE_SUCCESS(Expect.SUCCESS, false),
        TRICKLE(Expect.SUCCESS, false),
        GAP(Expect.FAILURE, false),
        OVERLAP(Expect.FAILURE, false),
        DUPLICATE_DATA(Expect.FAILURE, false),
        SHORT_LAST(Expect.FAILURE, false),
        SUCCESS_ON_PARTIAL(Expect.FAILURE, false),
        RESP_BEFORE_DATA(Expect.FAILURE, false),
        RESP_WITHOUT_DATA(Expect.FAILURE, false),
        PDO_INTO_HEADER(Expect.FAILURE, false),
        DATAO_BOUNDARY(Expect.FAILURE, false),
        DATAL_BOUNDARY(Expect.FAILURE, false),
        PLEN_BOUNDARY(Expect.FAILURE, false),
        HLEN_BOUNDARY(Expect.FAILURE, false),
        TYPE_BOUNDARY(Expect.FAILURE, false),
        CID_OTHER(Expect.FAILURE, false),
        NO_LAST_PDU(Expect.FAILURE, false),
        SUCCESS_WITHOUT_LAST(Expect.FAILURE, false),
        STRAY_RESP_FIRST(Expect.FAILURE, false),
        DUPLICATE_RESP(Expect.EITHER, false),
        HEADER_DIGEST_FLIP(Expect.FAILURE, false),
        HEADER_DIGEST_MISSING(Expect.FAILURE, false),
        DATA_DIGEST_FLIP(Expect.FAILURE, false),
        DATA_DIGEST_MISSING(Expect.FAILURE, false),
        DATA_DIGEST_UNASKED(Expect.FAILURE, false),
        // writes (the first R2T of the IO)
        W_PASS(Expect.SUCCESS, true),
        W_R2T_REPLACED_BY_SUCCESS(Expect.FAILURE, true),
        W_R2T_HALF_THEN_SUCCESS(Expect.FAILURE, true),
        W_R2T_OFFSET(Expect.FAILURE, true),
        W_R2T_BEYOND(Expect.FAILURE, true),
        W_R2T_ZERO(Expect.FAILURE, true),
        W_R2T_DUPLICATE(Expect.FAILURE, true),
        W_R2T_CID_OTHER(Expect.FAILURE, true);

        final Expect expect;
        final boolean write;

        Kind(Expect expect, boolean write) {
            this.expect = expect;
            this.write = write;
        }

        /** Whether the kind needs (or must not have) digests on the connection. */
        boolean fits(boolean digests) {
            return switch (this) {
                case HEADER_DIGEST_FLIP, HEADER_DIGEST_MISSING, DATA_DIGEST_FLIP, DATA_DIGEST_MISSING -> digests;
                case DATA_DIGEST_UNASKED -> !digests;
                default -> true;
            };
        }
    }

    final long seed;
    final Kind kind;
    final Random rnd;
    private boolean done;
    /** The real CapsuleResp of the command still has to be swallowed. */
    private boolean dropResp;
    private String detail = "";

    HostFuzzCase(long seed, Kind kind) {
        this.seed = seed;
        this.kind = kind;
        this.rnd = new Random(seed);
    }

    @Override
    public boolean done() {
        return done;
    }

    @Override
    public String toString() {
        return kind + " seed " + seed + (detail.isEmpty() ? "" : " (" + detail + ")");
    }

    private static final long[] DATAO_VALUES = {0x7FFFFFFFL, 0x80000000L, 0xFFFFFFFFL, 0xFFFFF000L, 0x7FFFF000L, 4096,
        1};
    private static final int[] TYPE_VALUES = {0x00, 0x01, 0x02, 0x04, 0x06, 0x08, 0x0A, 0x7F, 0xFF};
    private static final int[] HLEN_VALUES = {0, 8, 23, 25, 72, 128, 255};

    @Override
    public List<byte[]> apply(byte[] p, MisbehavingProxy.Wire w) {
        int type = p[0] & 0xFF;
        ByteBuffer b = le(p);
        if (dropResp) {
            if (type == CAPSULE_RESP) {
                dropResp = false;
                done = true;
                return List.of();
            }
            return List.of(p);
        }
        if (kind.write) {
            return type == R2T ? onR2T(p, b, w) : List.of(p);
        }
        if (kind == Kind.DUPLICATE_RESP) {
            if (type != CAPSULE_RESP) {
                return List.of(p);
            }
            done = true;
            return list(p, p.clone());
        }
        if (type != C2H_DATA) {
            return List.of(p);
        }
        int cid = b.getShort(8) & 0xFFFF;
        int datao = b.getInt(12);
        int datal = b.getInt(16);
        int flags = p[1] & (FLAG_LAST_PDU | FLAG_SUCCESS);
        int pdo = p[3] & 0xFF;
        byte[] data = Arrays.copyOfRange(p, pdo, pdo + datal);
        done = true;
        switch (kind) {
            case PASS -> {
                return List.of(p);
            }
            case SPLIT -> {
                return split(w, cid, datao, data, flags, cuts(datal, 1 + rnd.nextInt(4)));
            }
            case MERGE_SUCCESS -> {
                done = false;
                dropResp = true;
                return List.of(w.c2hData(cid, datao, data, 0, datal, FLAG_LAST_PDU | FLAG_SUCCESS));
            }
            case TRICKLE -> {
                w.trickle = true;
                return List.of(p);
            }
            case GAP -> {
                List<byte[]> parts = split(w, cid, datao, data, flags, cuts(datal, 1 + rnd.nextInt(3)));
                int drop = rnd.nextInt(parts.size() - 1);
                detail = "drops piece " + drop + " of " + parts.size();
                parts.remove(drop);
                return parts;
            }
            case OVERLAP -> {
                int cut = 1 + rnd.nextInt(datal - 1);
                int back = 1 + rnd.nextInt(cut);
                detail = "cut " + cut + ", back " + back;
                return list(w.c2hData(cid, datao, data, 0, cut, 0),
                        w.c2hData(cid, datao + cut - back, data, cut - back, datal - cut + back, flags));
            }
            case DUPLICATE_DATA -> {
                List<byte[]> parts = split(w, cid, datao, data, flags, cuts(datal, 1 + rnd.nextInt(3)));
                int dup = rnd.nextInt(parts.size());
                parts.add(dup, parts.get(dup).clone());
                return parts;
            }
            case SHORT_LAST -> {
                int n = rnd.nextInt(datal);
                detail = "datal " + n + " of " + datal;
                return n == 0 ? List.of() : List.of(w.c2hData(cid, datao, data, 0, n, flags));
            }
            case SUCCESS_ON_PARTIAL -> {
                int n = 1 + rnd.nextInt(datal - 1);
                dropResp = true;
                done = false;
                return List.of(w.c2hData(cid, datao, data, 0, n, FLAG_LAST_PDU | FLAG_SUCCESS));
            }
            case RESP_BEFORE_DATA -> {
                dropResp = true;
                done = false;
                return list(w.capsuleResp(cid, 0), p);
            }
            case RESP_WITHOUT_DATA -> {
                return List.of();
            }
            case PDO_INTO_HEADER -> {
                int pd = rnd.nextInt(24 + w.hdLen());
                detail = "pdo " + pd;
                p[3] = (byte) pd;
                return List.of(w.resealHeader(p));
            }
            case DATAO_BOUNDARY -> {
                long v = DATAO_VALUES[rnd.nextInt(DATAO_VALUES.length)];
                detail = "datao " + v;
                b.putInt(12, (int) v);
                return List.of(w.resealHeader(p));
            }
            case DATAL_BOUNDARY -> {
                long[] values = {0, 1, datal - 1L, datal + 1L, 0x7FFFFFFFL, 0xFFFFFFFFL, datal + 4096L};
                long v = values[rnd.nextInt(values.length)];
                detail = "datal " + v;
                b.putInt(16, (int) v);
                return List.of(w.resealHeader(p));
            }
            case PLEN_BOUNDARY -> {
                long[] values = {0, 7, 8, 24, p.length - 1L, p.length + 1L, p.length - 4L, 0x7FFFFFFFL};
                long v = values[rnd.nextInt(values.length)];
                detail = "plen " + v;
                b.putInt(4, (int) v);
                return List.of(w.resealHeader(p));
            }
            case HLEN_BOUNDARY -> {
                int v = HLEN_VALUES[rnd.nextInt(HLEN_VALUES.length)];
                detail = "hlen " + v;
                p[2] = (byte) v;
                return List.of(p);
            }
            case TYPE_BOUNDARY -> {
                int v = TYPE_VALUES[rnd.nextInt(TYPE_VALUES.length)];
                detail = "type " + v;
                p[0] = (byte) v;
                return List.of(w.resealHeader(p));
            }
            case CID_OTHER -> {
                int v = (cid + 1 + rnd.nextInt(0xFFFF)) & 0xFFFF;
                detail = "cccid " + v;
                b.putShort(8, (short) v);
                return List.of(w.resealHeader(p));
            }
            case NO_LAST_PDU -> {
                p[1] &= (byte) ~FLAG_LAST_PDU;
                return List.of(w.resealHeader(p));
            }
            case SUCCESS_WITHOUT_LAST -> {
                p[1] = (byte) ((p[1] & ~FLAG_LAST_PDU) | FLAG_SUCCESS);
                dropResp = true;
                done = false;
                return List.of(w.resealHeader(p));
            }
            case STRAY_RESP_FIRST -> {
                return list(w.capsuleResp(cid ^ 0x40, 0), p);
            }
            case HEADER_DIGEST_FLIP -> {
                int at = rnd.nextInt(24 + 4);
                p[at] ^= (byte) (1 << rnd.nextInt(8));
                detail = "byte " + at;
                return List.of(p);
            }
            case HEADER_DIGEST_MISSING -> {
                // HDGSTF cleared and the digest taken out: a header without the negotiated digest.
                byte[] q = new byte[p.length - 4];
                System.arraycopy(p, 0, q, 0, 24);
                System.arraycopy(p, 28, q, 24, p.length - 28);
                q[1] &= (byte) ~FLAG_HDGSTF;
                q[3] = (byte) (pdo - 4);
                le(q).putInt(4, q.length);
                return List.of(q);
            }
            case DATA_DIGEST_FLIP -> {
                int at = pdo + rnd.nextInt(datal);
                p[at] ^= (byte) (1 << rnd.nextInt(8));
                detail = "data byte " + (at - pdo);
                return List.of(p);
            }
            case DATA_DIGEST_MISSING -> {
                byte[] q = Arrays.copyOf(p, p.length - 4);
                q[1] &= (byte) ~FLAG_DDGSTF;
                le(q).putInt(4, q.length);
                return List.of(w.resealHeader(q));
            }
            case DATA_DIGEST_UNASKED -> {
                byte[] q = Arrays.copyOf(p, p.length + 4);
                q[1] |= FLAG_DDGSTF;
                le(q).putInt(4, q.length);
                le(q).putInt(p.length, crc(data, 0, datal));
                return List.of(w.resealHeader(q));
            }
            default -> throw new IllegalStateException(kind.toString());
        }
    }

    private List<byte[]> onR2T(byte[] p, ByteBuffer b, MisbehavingProxy.Wire w) {
        int cid = b.getShort(8) & 0xFFFF;
        long r2to = Integer.toUnsignedLong(b.getInt(12));
        long r2tl = Integer.toUnsignedLong(b.getInt(16));
        done = true;
        switch (kind) {
            case W_PASS -> {
                return List.of(p);
            }
            case W_R2T_REPLACED_BY_SUCCESS -> {
                return List.of(w.capsuleResp(cid, 0));
            }
            case W_R2T_HALF_THEN_SUCCESS -> {
                b.putInt(16, (int) (r2tl / 2));
                return list(w.resealHeader(p), w.capsuleResp(cid, 0));
            }
            case W_R2T_OFFSET -> {
                b.putInt(12, (int) (r2to + 512 * (1 + rnd.nextInt(8))));
                return List.of(w.resealHeader(p));
            }
            case W_R2T_BEYOND -> {
                b.putInt(16, (int) (r2tl + 1 + rnd.nextInt(8192)));
                return List.of(w.resealHeader(p));
            }
            case W_R2T_ZERO -> {
                b.putInt(16, 0);
                return List.of(w.resealHeader(p));
            }
            case W_R2T_DUPLICATE -> {
                return list(p, p.clone());
            }
            case W_R2T_CID_OTHER -> {
                b.putShort(8, (short) (cid + 1 + rnd.nextInt(0xFFFE)));
                return List.of(w.resealHeader(p));
            }
            default -> throw new IllegalStateException(kind.toString());
        }
    }

    /** {@code n} distinct cut points strictly inside {@code (0, length)}, ascending (fewer if the data is short). */
    private int[] cuts(int length, int n) {
        java.util.TreeSet<Integer> at = new java.util.TreeSet<>();
        for (int i = 0; i < n && length > 1; i++) {
            at.add(1 + rnd.nextInt(length - 1));
        }
        if (at.isEmpty()) {
            at.add(length / 2 == 0 ? 1 : length / 2);
        }
        detail = "cuts " + at;
        return at.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The data as in-order pieces cut at {@code cuts}; only the last keeps {@code lastFlags}. */
    private static List<byte[]> split(MisbehavingProxy.Wire w, int cid, int datao, byte[] data, int lastFlags,
                                      int[] cuts) {
        List<byte[]> out = new ArrayList<>();
        int from = 0;
        for (int cut : cuts) {
            out.add(w.c2hData(cid, datao + from, data, from, cut - from, 0));
            from = cut;
        }
        out.add(w.c2hData(cid, datao + from, data, from, data.length - from, lastFlags));
        return out;
    }
}
