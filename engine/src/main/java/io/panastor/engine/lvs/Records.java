package io.panastor.engine.lvs;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The metadata changes a pool's log holds, one record per operation, and their encoding
 * (little-endian; see FORMAT.md). Replaying them in order over a checkpoint gives the pool
 * as it was when the last complete record was written.
 */
final class Records {
    private Records() {
    }

    static final byte CREATE = 1;
    static final byte DESTROY = 2;
    static final byte RESIZE = 3;
    static final byte ALLOC = 4;
    static final byte FREE = 5;
    static final byte GROW = 6;
    static final byte PROPS = 7;

    /** A run of clusters: logical {@code lstart..lstart+count} of a replica at physical {@code pstart..}. */
    record Run(int lstart, int pstart, int count) {
    }

    sealed interface Record permits Create, Destroy, Resize, Alloc, Free, Grow, Props {
    }

    /** A replica, as the log creates it and a checkpoint holds it: with the clusters it owns. */
    record Create(int id, UUID uuid, String name, long size, boolean thin, UUID parent, String entity,
                  Map<String, String> props, List<Run> runs) implements Record {
    }

    record Destroy(int id) implements Record {
    }

    /** Grows replica {@code id} to {@code size}; {@code runs} are the clusters a thick one gained. */
    record Resize(int id, long size, List<Run> runs) implements Record {
    }

    record Alloc(int id, int lcluster, int pcluster) implements Record {
    }

    record Free(int id, int[] lclusters) implements Record {
    }

    record Grow(long clusters) implements Record {
    }

    record Props(int id, Map<String, String> props) implements Record {
    }

    static final int FLAG_THIN = 1;
    static final UUID NIL = new UUID(0, 0);

    static void write(ByteBuffer b, Record r) {
        int start = b.position();
        b.put(type(r)).putInt(0);
        switch (r) {
            case Create c -> writeReplica(b, c);
            case Destroy d -> b.putInt(d.id());
            case Resize z -> {
                b.putInt(z.id()).putLong(z.size());
                writeRuns(b, z.runs());
            }
            case Alloc a -> b.putInt(a.id()).putInt(a.lcluster()).putInt(a.pcluster());
            case Free f -> {
                b.putInt(f.id()).putInt(f.lclusters().length);
                for (int l : f.lclusters()) {
                    b.putInt(l);
                }
            }
            case Grow g -> b.putLong(g.clusters());
            case Props p -> {
                b.putInt(p.id());
                writeProps(b, p.props());
            }
        }
        b.putInt(start + 1, b.position() - start - 5);
    }

    /** Bytes {@code r} takes encoded. */
    static int size(Record r) {
        return 5 + switch (r) {
            case Create c -> replicaSize(c);
            case Destroy d -> 4;
            case Resize z -> 12 + 4 + 12 * z.runs().size();
            case Alloc a -> 12;
            case Free f -> 8 + 4 * f.lclusters().length;
            case Grow g -> 8;
            case Props p -> 4 + propsSize(p.props());
        };
    }

    /** The next record of {@code b}, which holds at least its header and {@code length} bytes. */
    static Record read(ByteBuffer b) {
        byte type = b.get();
        int length = b.getInt();
        int end = b.position() + length;
        Record r = switch (type) {
            case CREATE -> readReplica(b);
            case DESTROY -> new Destroy(b.getInt());
            case RESIZE -> new Resize(b.getInt(), b.getLong(), readRuns(b));
            case ALLOC -> new Alloc(b.getInt(), b.getInt(), b.getInt());
            case FREE -> {
                int id = b.getInt();
                int n = count(b.getInt(), b, 4);
                int[] ls = new int[n];
                for (int i = 0; i < n; i++) {
                    ls[i] = b.getInt();
                }
                yield new Free(id, ls);
            }
            case GROW -> new Grow(b.getLong());
            case PROPS -> new Props(b.getInt(), readProps(b));
            default -> throw new IllegalStateException("unknown record type " + type);
        };
        if (b.position() != end) {
            throw new IllegalStateException("record of type " + type + " is " + (b.position() - end + length)
                    + " bytes, its header says " + length);
        }
        return r;
    }

    private static byte type(Record r) {
        return switch (r) {
            case Create c -> CREATE;
            case Destroy d -> DESTROY;
            case Resize z -> RESIZE;
            case Alloc a -> ALLOC;
            case Free f -> FREE;
            case Grow g -> GROW;
            case Props p -> PROPS;
        };
    }

    static void writeReplica(ByteBuffer b, Create c) {
        b.putInt(c.id());
        putUuid(b, c.uuid());
        b.putLong(c.size()).put((byte) (c.thin() ? FLAG_THIN : 0));
        putUuid(b, c.parent() == null ? NIL : c.parent());
        putString(b, c.name());
        putString(b, c.entity());
        writeProps(b, c.props());
        writeRuns(b, c.runs());
    }

    static int replicaSize(Create c) {
        return 4 + 16 + 8 + 1 + 16 + stringSize(c.name()) + stringSize(c.entity()) + propsSize(c.props())
                + 4 + 12 * c.runs().size();
    }

    static Create readReplica(ByteBuffer b) {
        int id = b.getInt();
        UUID uuid = getUuid(b);
        long size = b.getLong();
        int flags = b.get();
        UUID parent = getUuid(b);
        String name = getString(b);
        String entity = getString(b);
        Map<String, String> props = readProps(b);
        List<Run> runs = readRuns(b);
        return new Create(id, uuid, name, size, (flags & FLAG_THIN) != 0, parent, entity, props, runs);
    }

    private static void writeRuns(ByteBuffer b, List<Run> runs) {
        b.putInt(runs.size());
        for (Run r : runs) {
            b.putInt(r.lstart()).putInt(r.pstart()).putInt(r.count());
        }
    }

    private static List<Run> readRuns(ByteBuffer b) {
        int n = count(b.getInt(), b, 12);
        List<Run> runs = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            runs.add(new Run(b.getInt(), b.getInt(), b.getInt()));
        }
        return runs;
    }

    private static void writeProps(ByteBuffer b, Map<String, String> props) {
        b.putShort((short) props.size());
        for (Map.Entry<String, String> e : props.entrySet()) {
            putString(b, e.getKey());
            putString(b, e.getValue());
        }
    }

    private static int propsSize(Map<String, String> props) {
        int n = 2;
        for (Map.Entry<String, String> e : props.entrySet()) {
            n += stringSize(e.getKey()) + stringSize(e.getValue());
        }
        return n;
    }

    private static Map<String, String> readProps(ByteBuffer b) {
        int n = Short.toUnsignedInt(b.getShort());
        Map<String, String> props = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            props.put(getString(b), getString(b));
        }
        return props;
    }

    private static int count(int n, ByteBuffer b, int each) {
        if (n < 0 || (long) n * each > b.remaining()) {
            throw new IllegalStateException("count " + n + " runs past the record");
        }
        return n;
    }

    static void putUuid(ByteBuffer b, UUID u) {
        b.putLong(u.getMostSignificantBits()).putLong(u.getLeastSignificantBits());
    }

    static UUID getUuid(ByteBuffer b) {
        return new UUID(b.getLong(), b.getLong());
    }

    static void putString(ByteBuffer b, String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        b.putShort((short) bytes.length).put(bytes);
    }

    static int stringSize(String s) {
        return 2 + s.getBytes(StandardCharsets.UTF_8).length;
    }

    static String getString(ByteBuffer b) {
        int n = Short.toUnsignedInt(b.getShort());
        if (n > b.remaining()) {
            throw new IllegalStateException("a string of " + n + " bytes runs past the record");
        }
        byte[] bytes = new byte[n];
        b.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
