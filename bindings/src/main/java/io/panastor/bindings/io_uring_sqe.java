package io.panastor.bindings;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;

/**
 * {@code struct io_uring_sqe} (64 bytes), the first union member of each field named.
 * <pre>
 *  0 opcode u8 | 1 flags u8 | 2 ioprio u16 | 4 fd s32
 *  8 off / addr2 u64
 * 16 addr / splice_off_in u64
 * 24 len u32 | 28 rw_flags / fsync_flags / poll32_events ... u32
 * 32 user_data u64
 * 40 buf_index u16 | 42 personality u16 | 44 splice_fd_in / file_index u32
 * 48 addr3 u64 | 56 __pad2 u64
 * </pre>
 * The ring writes these fields in place at {@code sqeBase + *_OFFSET}.
 */
public final class io_uring_sqe {
    private io_uring_sqe() {
    }

    private static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_BYTE.withName("opcode"),
            JAVA_BYTE.withName("flags"),
            JAVA_SHORT.withName("ioprio"),
            JAVA_INT.withName("fd"),
            JAVA_LONG.withName("off"),
            JAVA_LONG.withName("addr"),
            JAVA_INT.withName("len"),
            JAVA_INT.withName("rw_flags"),
            JAVA_LONG.withName("user_data"),
            JAVA_SHORT.withName("buf_index"),
            JAVA_SHORT.withName("personality"),
            JAVA_INT.withName("file_index"),
            JAVA_LONG.withName("addr3"),
            JAVA_LONG.withName("__pad2")).withName("io_uring_sqe");

    public static StructLayout layout() {
        return LAYOUT;
    }

    public static final long SIZE = 64;
    public static final long opcode_OFFSET = 0;
    public static final long flags_OFFSET = 1;
    public static final long ioprio_OFFSET = 2;
    public static final long fd_OFFSET = 4;
    public static final long off_OFFSET = 8;
    public static final long addr_OFFSET = 16;
    public static final long len_OFFSET = 24;
    public static final long rw_flags_OFFSET = 28;
    public static final long user_data_OFFSET = 32;
    public static final long buf_index_OFFSET = 40;
    public static final long personality_OFFSET = 42;
    public static final long file_index_OFFSET = 44;
    public static final long addr3_OFFSET = 48;
    public static final long pad2_OFFSET = 56;
}
