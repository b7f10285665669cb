package io.panastor.bindings;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct io_uring_params} (120 bytes), filled in by io_uring_setup(2).
 * <pre>
 *  0 sq_entries | 4 cq_entries | 8 flags | 12 sq_thread_cpu | 16 sq_thread_idle | 20 features
 * 24 wq_fd | 28 resv[3] | 40 sq_off (io_sqring_offsets, 40) | 80 cq_off (io_cqring_offsets, 40)
 * </pre>
 */
public final class io_uring_params {
    private io_uring_params() {
    }

    private static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("sq_entries"),
            JAVA_INT.withName("cq_entries"),
            JAVA_INT.withName("flags"),
            JAVA_INT.withName("sq_thread_cpu"),
            JAVA_INT.withName("sq_thread_idle"),
            JAVA_INT.withName("features"),
            JAVA_INT.withName("wq_fd"),
            MemoryLayout.sequenceLayout(3, JAVA_INT).withName("resv"),
            io_sqring_offsets.layout().withName("sq_off"),
            io_cqring_offsets.layout().withName("cq_off")).withName("io_uring_params");

    public static StructLayout layout() {
        return LAYOUT;
    }

    public static final long sq_off_OFFSET = 40;
    public static final long cq_off_OFFSET = 80;

    public static int sq_entries(MemorySegment s) {
        return s.get(JAVA_INT, 0);
    }

    public static int cq_entries(MemorySegment s) {
        return s.get(JAVA_INT, 4);
    }

    public static void cq_entries(MemorySegment s, int v) {
        s.set(JAVA_INT, 4, v);
    }

    public static int flags(MemorySegment s) {
        return s.get(JAVA_INT, 8);
    }

    public static void flags(MemorySegment s, int v) {
        s.set(JAVA_INT, 8, v);
    }

    public static int features(MemorySegment s) {
        return s.get(JAVA_INT, 20);
    }

    public static MemorySegment sq_off(MemorySegment s) {
        return s.asSlice(sq_off_OFFSET, io_sqring_offsets.layout());
    }

    public static MemorySegment cq_off(MemorySegment s) {
        return s.asSlice(cq_off_OFFSET, io_cqring_offsets.layout());
    }
}
