package io.panastor.bindings;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct io_sqring_offsets} (40 bytes): where the SQ ring's fields lie in its mapping.
 * <pre>
 *  0 head | 4 tail | 8 ring_mask | 12 ring_entries | 16 flags | 20 dropped | 24 array | 28 resv1 | 32 user_addr u64
 * </pre>
 */
public final class io_sqring_offsets {
    private io_sqring_offsets() {
    }

    private static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("head"),
            JAVA_INT.withName("tail"),
            JAVA_INT.withName("ring_mask"),
            JAVA_INT.withName("ring_entries"),
            JAVA_INT.withName("flags"),
            JAVA_INT.withName("dropped"),
            JAVA_INT.withName("array"),
            JAVA_INT.withName("resv1"),
            JAVA_LONG.withName("user_addr")).withName("io_sqring_offsets");

    public static StructLayout layout() {
        return LAYOUT;
    }

    public static int head(MemorySegment s) {
        return s.get(JAVA_INT, 0);
    }

    public static int tail(MemorySegment s) {
        return s.get(JAVA_INT, 4);
    }

    public static int ring_mask(MemorySegment s) {
        return s.get(JAVA_INT, 8);
    }

    public static int ring_entries(MemorySegment s) {
        return s.get(JAVA_INT, 12);
    }

    public static int flags(MemorySegment s) {
        return s.get(JAVA_INT, 16);
    }

    public static int dropped(MemorySegment s) {
        return s.get(JAVA_INT, 20);
    }

    public static int array(MemorySegment s) {
        return s.get(JAVA_INT, 24);
    }
}
