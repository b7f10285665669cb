package io.panastor.bindings;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct stat} of glibc on x86_64 (144 bytes).
 * <pre>
 *   0 st_dev   8 st_ino   16 st_nlink   24 st_mode(u32) 28 st_uid 32 st_gid 36 pad
 *  40 st_rdev 48 st_size  56 st_blksize 64 st_blocks   72 st_atim 88 st_mtim 104 st_ctim 120 reserved[3]
 * </pre>
 */
public final class stat {
    private stat() {
    }

    private static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_LONG.withName("st_dev"),
            JAVA_LONG.withName("st_ino"),
            JAVA_LONG.withName("st_nlink"),
            JAVA_INT.withName("st_mode"),
            JAVA_INT.withName("st_uid"),
            JAVA_INT.withName("st_gid"),
            JAVA_INT.withName("__pad0"),
            JAVA_LONG.withName("st_rdev"),
            JAVA_LONG.withName("st_size"),
            JAVA_LONG.withName("st_blksize"),
            JAVA_LONG.withName("st_blocks"),
            MemoryLayout.sequenceLayout(6, JAVA_LONG).withName("st_times"),
            MemoryLayout.sequenceLayout(3, JAVA_LONG).withName("__glibc_reserved")).withName("stat");

    public static StructLayout layout() {
        return LAYOUT;
    }

    public static final long st_mode_OFFSET = 24;
    public static final long st_rdev_OFFSET = 40;
    public static final long st_size_OFFSET = 48;
    public static final long st_blksize_OFFSET = 56;
    public static final long st_blocks_OFFSET = 64;

    public static final int S_IFMT = 0170000;
    public static final int S_IFBLK = 0060000;
    public static final int S_IFREG = 0100000;
    public static final int S_IFDIR = 0040000;

    public static int st_mode(MemorySegment s) {
        return s.get(JAVA_INT, st_mode_OFFSET);
    }

    public static long st_size(MemorySegment s) {
        return s.get(JAVA_LONG, st_size_OFFSET);
    }

    public static long st_blksize(MemorySegment s) {
        return s.get(JAVA_LONG, st_blksize_OFFSET);
    }

    /** 512-byte units allocated, whatever {@code st_blksize} is (stat(2)). */
    public static long st_blocks(MemorySegment s) {
        return s.get(JAVA_LONG, st_blocks_OFFSET);
    }
}
