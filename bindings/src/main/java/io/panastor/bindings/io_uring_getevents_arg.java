package io.panastor.bindings;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;

/**
 * {@code struct io_uring_getevents_arg} (24 bytes), passed to io_uring_enter(2) with
 * IORING_ENTER_EXT_ARG so that a wait has a timeout ({@code ts} points at a
 * {@code struct __kernel_timespec}: tv_sec s64, tv_nsec s64).
 * <pre>
 *  0 sigmask u64 | 8 sigmask_sz u32 | 12 min_wait_usec u32 | 16 ts u64
 * </pre>
 */
public final class io_uring_getevents_arg {
    private io_uring_getevents_arg() {
    }

    private static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_LONG.withName("sigmask"),
            JAVA_INT.withName("sigmask_sz"),
            JAVA_INT.withName("min_wait_usec"),
            JAVA_LONG.withName("ts")).withName("io_uring_getevents_arg");

    public static StructLayout layout() {
        return LAYOUT;
    }

    public static final long SIZE = 24;
    public static final long sigmask_OFFSET = 0;
    public static final long sigmask_sz_OFFSET = 8;
    public static final long ts_OFFSET = 16;

    /** {@code struct __kernel_timespec} */
    public static final StructLayout KERNEL_TIMESPEC = MemoryLayout.structLayout(
            JAVA_LONG.withName("tv_sec"), JAVA_LONG.withName("tv_nsec")).withName("__kernel_timespec");
}
