package io.panastor.control.store;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Random;

/**
 * The child process of {@link FileStoreKillTest}: puts {@code k/N} (N = seq mod 16) with a
 * self-describing value (its sequence number, a length, a pattern) forever, and prints
 * {@code acked SEQ} after each put returned. Killed with SIGKILL by the test.
 */
public final class StoreWriter {
    private StoreWriter() {
    }

    static byte[] value(long seq) {
        int len = 16 + (int) (new Random(seq).nextInt(48 * 1024));
        ByteBuffer b = ByteBuffer.allocate(len);
        b.putLong(seq).putInt(len);
        Random r = new Random(seq * 31 + 7);
        while (b.remaining() > 0) {
            b.put((byte) r.nextInt());
        }
        return b.array();
    }

    /** The sequence number a value holds, or -1 if it is not one {@link #value} made. */
    static long check(byte[] v) {
        if (v.length < 12) {
            return -1;
        }
        ByteBuffer b = ByteBuffer.wrap(v);
        long seq = b.getLong();
        return java.util.Arrays.equals(v, value(seq)) ? seq : -1;
    }

    public static void main(String[] args) throws Exception {
        FileStore s = new FileStore(Path.of(args[0]));
        for (long seq = 1; ; seq++) {
            s.put("k/" + (seq % 16), value(seq));
            if (seq % 5 == 0) {
                s.delete("d/" + ((seq / 5) % 4));
            } else {
                s.put("d/" + ((seq / 5) % 4), value(seq));
            }
            System.out.println("acked " + seq);
            System.out.flush();
        }
    }
}
