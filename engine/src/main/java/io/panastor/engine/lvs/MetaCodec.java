package io.panastor.engine.lvs;

import io.panastor.engine.lvs.Records.Create;
import io.panastor.engine.lvs.Records.Record;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.zip.CRC32C;

/**
 * Encodes and decodes a pool's metadata blocks (FORMAT.md): the superblock, a checkpoint
 * image and log pages. Each carries a magic, a CRC32C over the whole block (its CRC field
 * read as zero) and, for checkpoints and log pages, the epoch they belong to.
 */
final class MetaCodec {
    private MetaCodec() {
    }

    static final int VERSION = 1;
    static final long SUPER_MAGIC = 0x3153564C414E4150L;   // "PANALVS1" little-endian
    static final long CHECKPOINT_MAGIC = 0x54504B43414E4150L; // "PANACKPT"
    static final int LOG_MAGIC = 0x474C4E50;                 // "PNLG"
    static final int MAX_NAME = 128;
    static final int CHECKPOINT_HEADER = 32;
    static final int LOG_HEADER = 32;
    static final int LOG_PAYLOAD = Layout.PAGE - LOG_HEADER;

    /** What the superblock says. */
    record Superblock(UUID uuid, String name, Layout layout) {
    }

    static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }

    static int crc(ByteBuffer b, int from, int to, int crcAt) {
        CRC32C c = new CRC32C();
        ByteBuffer d = b.duplicate();
        d.limit(crcAt).position(from);
        c.update(d);
        c.update(new byte[4]);
        d.limit(to).position(crcAt + 4);
        c.update(d);
        return (int) c.getValue();
    }

    // ------------------------------------------------------------ superblock

    static ByteBuffer encodeSuperblock(Superblock s) {
        Layout l = s.layout();
        ByteBuffer b = le(Layout.PAGE);
        b.putLong(SUPER_MAGIC).putInt(VERSION).putInt(0);
        Records.putUuid(b, s.uuid());
        b.putLong(l.clusterSize()).putInt(l.blockSize()).putInt(0).putLong(l.diskBytes())
                .putLong(l.slotA()).putLong(l.slotBytes()).putLong(l.logStart()).putLong(l.logBytes())
                .putLong(l.dataStart()).putLong(l.clusterLimit());
        Records.putString(b, s.name());
        b.putInt(12, crc(b, 0, Layout.PAGE, 12));
        return b.rewind();
    }

    /** The superblock in {@code b} (one page); null if it has no pool magic; {@link BadBlock} if it is damaged. */
    static Superblock decodeSuperblock(ByteBuffer b) {
        b = b.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (b.getLong(0) != SUPER_MAGIC) {
            return null;
        }
        if (b.getInt(12) != crc(b, 0, Layout.PAGE, 12)) {
            throw new BadBlock("its checksum does not match");
        }
        int version = b.getInt(8);
        if (version != VERSION) {
            throw new BadBlock("format version " + version + " is not one this engine reads (" + VERSION + ")");
        }
        b.position(16);
        UUID uuid = Records.getUuid(b);
        long clusterSize = b.getLong();
        int blockSize = b.getInt();
        b.getInt();
        Layout l = new Layout(clusterSize, blockSize, b.getLong(), b.getLong(), b.getLong(), b.getLong(), b.getLong(),
                b.getLong(), b.getLong());
        String name = Records.getString(b);
        return new Superblock(uuid, name, l);
    }

    /** A metadata block that is there but damaged. */
    static final class BadBlock extends RuntimeException {
        private static final long serialVersionUID = 1L;

        BadBlock(String message) {
            super(message);
        }
    }

    // ------------------------------------------------------------ checkpoint

    /** A checkpoint's content: the pool's clusters and replicas as they were at its epoch. */
    record Checkpoint(long epoch, long clusters, int nextId, List<Create> replicas) {
    }

    /** The checkpoint image, padded to whole pages; null when it would not fit {@code slotBytes}. */
    static ByteBuffer encodeCheckpoint(Checkpoint c, long slotBytes) {
        long size = CHECKPOINT_HEADER + 16;
        for (Create r : c.replicas()) {
            size += Records.replicaSize(r);
        }
        if (size > slotBytes) {
            return null;
        }
        ByteBuffer b = le((int) Layout.roundUp(size, Layout.PAGE));
        b.putLong(CHECKPOINT_MAGIC).putInt(VERSION).putInt(0).putLong(c.epoch()).putInt((int) size - CHECKPOINT_HEADER)
                .putInt(0);
        b.putLong(c.clusters()).putInt(c.nextId()).putInt(c.replicas().size());
        for (Create r : c.replicas()) {
            Records.writeReplica(b, r);
        }
        b.putInt(12, crc(b, 0, (int) size, 12));
        return b.rewind();
    }

    /** The body length of the checkpoint whose first page is {@code first}, or -1 if it has no checkpoint magic. */
    static long checkpointLength(ByteBuffer first) {
        ByteBuffer b = first.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (b.getLong(0) != CHECKPOINT_MAGIC) {
            return -1;
        }
        return CHECKPOINT_HEADER + Integer.toUnsignedLong(b.getInt(24));
    }

    static Checkpoint decodeCheckpoint(ByteBuffer b, int length) {
        b = b.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (b.getLong(0) != CHECKPOINT_MAGIC) {
            throw new BadBlock("it has no checkpoint magic");
        }
        if (b.getInt(12) != crc(b, 0, length, 12)) {
            throw new BadBlock("its checksum does not match");
        }
        long epoch = b.getLong(16);
        b.position(CHECKPOINT_HEADER).limit(length);
        long clusters = b.getLong();
        int nextId = b.getInt();
        int n = b.getInt();
        List<Create> reps = new ArrayList<>(Math.min(n, 1 << 16));
        try {
            for (int i = 0; i < n; i++) {
                reps.add(Records.readReplica(b));
            }
        } catch (RuntimeException e) {
            throw new BadBlock("its replica records do not parse: " + e.getMessage());
        }
        return new Checkpoint(epoch, clusters, nextId, reps);
    }

    // ------------------------------------------------------------ log

    /**
     * Log pages holding {@code records} in order (a record may run across pages), numbered
     * from {@code seq} in {@code epoch}: one batch, every page of it naming the batch's first
     * page and its page count, so that import takes the batch whole or not at all.
     */
    static ByteBuffer encodeLog(List<Record> records, long epoch, int seq) {
        int bytes = 0;
        for (Record r : records) {
            bytes += Records.size(r);
        }
        ByteBuffer stream = le(bytes);
        for (Record r : records) {
            Records.write(stream, r);
        }
        int pages = pagesFor(bytes);
        ByteBuffer out = le(pages * Layout.PAGE);
        for (int i = 0; i < pages; i++) {
            int base = i * Layout.PAGE;
            int used = Math.min(LOG_PAYLOAD, bytes - i * LOG_PAYLOAD);
            out.putInt(base, LOG_MAGIC).putLong(base + 8, epoch).putInt(base + 16, seq + i)
                    .putShort(base + 20, (short) used).putShort(base + 22, (short) pages).putInt(base + 24, seq);
            out.put(base + LOG_HEADER, stream.array(), i * LOG_PAYLOAD, used);
            ByteBuffer page = out.slice(base, Layout.PAGE).order(ByteOrder.LITTLE_ENDIAN);
            out.putInt(base + 4, crc(page, 0, Layout.PAGE, 4));
        }
        return out;
    }

    static int pagesFor(int recordBytes) {
        return Math.max(1, (recordBytes + LOG_PAYLOAD - 1) / LOG_PAYLOAD);
    }

    /** What an intact log page says about itself. */
    record LogPage(long epoch, int seq, int batchFirst, int batchPages, ByteBuffer payload) {
    }

    /** Log page {@code page}'s header and payload if it is intact (magic, CRC, sane fields); else null. */
    static LogPage logPage(ByteBuffer page) {
        ByteBuffer b = page.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (b.getInt(0) != LOG_MAGIC || b.getInt(4) != crc(b, 0, Layout.PAGE, 4)) {
            return null;
        }
        int used = Short.toUnsignedInt(b.getShort(20));
        int batchPages = Short.toUnsignedInt(b.getShort(22));
        int seq = b.getInt(16);
        int first = b.getInt(24);
        if (used > LOG_PAYLOAD || batchPages == 0 || seq < first || seq >= first + batchPages) {
            return null;
        }
        return new LogPage(b.getLong(8), seq, first, batchPages, b.slice(LOG_HEADER, used));
    }

    /** The records of one whole batch's payloads; bytes left over that make no record are a damaged batch. */
    static List<Record> decodeRecords(ByteBuffer stream) {
        List<Record> out = new ArrayList<>();
        ByteBuffer b = stream.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            if (b.remaining() < 5) {
                throw new IllegalArgumentException(b.remaining() + " bytes after the last record");
            }
            int length = b.getInt(b.position() + 1);
            if (length < 0 || length > b.remaining() - 5) {
                throw new IllegalArgumentException("a record of " + length + " bytes runs past its batch");
            }
            out.add(Records.read(b));
        }
        return out;
    }

    static boolean validName(String name) {
        return name != null && !name.isBlank() && !name.contains("/")
                && name.getBytes(StandardCharsets.UTF_8).length <= MAX_NAME;
    }
}
