package io.panastor.bindings;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct msghdr} (x86-64, 56 bytes): 0 msg_name | 8 msg_namelen | 16 msg_iov |
 * 24 msg_iovlen | 32 msg_control | 40 msg_controllen | 48 msg_flags.
 */
public final class msghdr {
    private msghdr() {
    }

    private static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_LONG.withName("msg_name"), JAVA_INT.withName("msg_namelen"), MemoryLayout.paddingLayout(4),
            JAVA_LONG.withName("msg_iov"), JAVA_LONG.withName("msg_iovlen"),
            JAVA_LONG.withName("msg_control"), JAVA_LONG.withName("msg_controllen"),
            JAVA_INT.withName("msg_flags"), MemoryLayout.paddingLayout(4)).withName("msghdr");

    public static StructLayout layout() {
        return LAYOUT;
    }

    public static final long SIZE = 56;
    public static final long msg_iov_OFFSET = 16;
    public static final long msg_iovlen_OFFSET = 24;

    public static void msg_iov(MemorySegment s, long address) {
        s.set(JAVA_LONG, msg_iov_OFFSET, address);
    }

    public static void msg_iovlen(MemorySegment s, long count) {
        s.set(JAVA_LONG, msg_iovlen_OFFSET, count);
    }
}
