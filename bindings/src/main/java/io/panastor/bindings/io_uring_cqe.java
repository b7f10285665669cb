package io.panastor.bindings;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;

/**
 * {@code struct io_uring_cqe} (16 bytes without IORING_SETUP_CQE32).
 * <pre>
 *  0 user_data u64 | 8 res s32 | 12 flags u32
 * </pre>
 */
public final class io_uring_cqe {
    private io_uring_cqe() {
    }

    private static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_LONG.withName("user_data"),
            JAVA_INT.withName("res"),
            JAVA_INT.withName("flags")).withName("io_uring_cqe");

    public static StructLayout layout() {
        return LAYOUT;
    }

    public static final long SIZE = 16;
    public static final long user_data_OFFSET = 0;
    public static final long res_OFFSET = 8;
    public static final long flags_OFFSET = 12;
}
