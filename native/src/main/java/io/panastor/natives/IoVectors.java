package io.panastor.natives;

import io.panastor.bindings.iovec;
import io.panastor.bindings.msghdr;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Arrays of {@code struct iovec} and the {@code struct msghdr} that points a
 * {@code sendmsg(2)} at them, in memory the caller owns: what a gathered send fills, and reads
 * back to resume a short one. Static accessors over the bindings' layouts, so that code above
 * {@code native} never touches the bindings; they compile to plain stores and loads.
 *
 * <p>Thread-safety: none of its own (the memory is the caller's).
 */
public final class IoVectors {
    /** Bytes of one {@code struct iovec}. */
    public static final long IOVEC_SIZE = iovec.SIZE;
    /** Bytes of one {@code struct msghdr}. */
    public static final long MSGHDR_SIZE = msghdr.SIZE;

    private IoVectors() {
    }

    /** Sets entry {@code i} of the iovec array {@code v} to {@code length} bytes at {@code address}. */
    public static void set(MemorySegment v, int i, long address, long length) {
        iovec.iov_base(v, i * IOVEC_SIZE, address);
        iovec.iov_len(v, i * IOVEC_SIZE, length);
    }

    /** The address of entry {@code i}. */
    public static long base(MemorySegment v, int i) {
        return v.get(ValueLayout.JAVA_LONG, i * IOVEC_SIZE + iovec.iov_base_OFFSET);
    }

    /** The length of entry {@code i}. */
    public static long length(MemorySegment v, int i) {
        return v.get(ValueLayout.JAVA_LONG, i * IOVEC_SIZE + iovec.iov_len_OFFSET);
    }

    /** Points the (otherwise zeroed) msghdr {@code msg} at {@code count} iovecs starting at {@code iovAddress}. */
    public static void point(MemorySegment msg, long iovAddress, long count) {
        msghdr.msg_iov(msg, iovAddress);
        msghdr.msg_iovlen(msg, count);
    }
}
