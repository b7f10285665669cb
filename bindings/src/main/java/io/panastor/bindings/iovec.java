package io.panastor.bindings;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/** {@code struct iovec} (16 bytes): 0 iov_base | 8 iov_len. */
public final class iovec {
    private iovec() {
    }

    private static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_LONG.withName("iov_base"), JAVA_LONG.withName("iov_len")).withName("iovec");

    public static StructLayout layout() {
        return LAYOUT;
    }

    public static final long SIZE = 16;
    public static final long iov_base_OFFSET = 0;
    public static final long iov_len_OFFSET = 8;

    public static void iov_base(MemorySegment s, long offset, long address) {
        s.set(JAVA_LONG, offset + iov_base_OFFSET, address);
    }

    public static void iov_len(MemorySegment s, long offset, long len) {
        s.set(JAVA_LONG, offset + iov_len_OFFSET, len);
    }
}
