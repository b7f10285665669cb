package io.panastor.engine.nexus;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.BitSet;

/**
 * The segments written since a child left the IO path (went offline, timed out, was
 * hot-removed): Mayastor's rebuild log. Every channel marks it for each write, unmap or
 * write zeroes it sends while the child is out, and for one the child missed; when the child
 * comes back within the window, a partial rebuild copies only the marked segments.
 *
 * <p>Thread-safety: {@link #mark} from any reactor, lock-free and allocation-free (a plain
 * read, and an atomic OR only for a bit not yet set); the rest from the control path.
 */
final class DirtyLog {
    private static final VarHandle WORD = MethodHandles.arrayElementVarHandle(long[].class);

    /** When the child left (epoch milliseconds): the window is counted from here. */
    final long sinceMillis;
    final long segmentBlocks;
    /** The nexus's size in blocks when the log began; it covers no more. */
    final long blockCount;
    private final long segments;
    private final long[] words;

    DirtyLog(long sinceMillis, long segmentBlocks, long blockCount) {
        this.sinceMillis = sinceMillis;
        this.segmentBlocks = segmentBlocks;
        this.blockCount = blockCount;
        this.segments = (blockCount + segmentBlocks - 1) / segmentBlocks;
        this.words = new long[(int) ((segments + 63) >>> 6)];
    }

    /** A log read back from the health record. */
    DirtyLog(long sinceMillis, long segmentBlocks, long blockCount, BitSet bits) {
        this(sinceMillis, segmentBlocks, blockCount);
        long[] b = bits.toLongArray();
        System.arraycopy(b, 0, words, 0, Math.min(b.length, words.length));
    }

    /** Marks the segments blocks {@code [first, first + count)} touch. */
    void mark(long first, long count) {
        if (count <= 0 || first >= blockCount) {
            return;
        }
        long from = first / segmentBlocks;
        long to = Math.min(segments - 1, (first + count - 1) / segmentBlocks);
        for (long s = from; s <= to; s++) {
            int w = (int) (s >>> 6);
            long bit = 1L << (s & 63);
            if (((long) WORD.getAcquire(words, w) & bit) == 0) {
                WORD.getAndBitwiseOr(words, w, bit);
            }
        }
    }

    /** A copy of the marked segments. */
    BitSet snapshot() {
        long[] copy = new long[words.length];
        for (int i = 0; i < words.length; i++) {
            copy[i] = (long) WORD.getAcquire(words, i);
        }
        return BitSet.valueOf(copy);
    }

    long segments() {
        return segments;
    }
}
