package io.panastor.bindings;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;

/**
 * {@code <errno.h>} and {@code <string.h>}'s error-name functions. errno itself is read
 * from the call state captured by {@link Linker.Option#captureCallState}: every binding
 * that can fail takes that state segment as its first argument.
 */
public final class errno_h {
    private errno_h() {
    }

    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int EINTR = 4;
    public static final int EIO = 5;
    public static final int EBADF = 9;
    public static final int EAGAIN = 11;
    public static final int ENOMEM = 12;
    public static final int EACCES = 13;
    public static final int EFAULT = 14;
    public static final int EBUSY = 16;
    public static final int EEXIST = 17;
    public static final int ENODEV = 19;
    public static final int EISDIR = 21;
    public static final int EINVAL = 22;
    public static final int ENFILE = 23;
    public static final int EMFILE = 24;
    public static final int ENOSPC = 28;
    public static final int ENOSYS = 38;
    public static final int EOPNOTSUPP = 95;
    public static final int ETIME = 62;
    public static final int EPROTO = 71;
    public static final int EADDRINUSE = 98;
    public static final int EADDRNOTAVAIL = 99;
    public static final int ETIMEDOUT = 110;
    public static final int ECANCELED = 125;

    /** Layout of the captured call state (holds {@code errno}). */
    public static StructLayout captureStateLayout() {
        return Linker.Option.captureStateLayout();
    }

    private static final long ERRNO_OFFSET = Linker.Option.captureStateLayout()
            .byteOffset(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));

    /** The errno stored in a captured call state. */
    public static int errno(MemorySegment callState) {
        return callState.get(JAVA_INT, ERRNO_OFFSET);
    }

    private static final class strerror {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(ADDRESS, JAVA_INT);
        static final MethodHandle HANDLE = Downcalls.find("strerror", DESC);
    }

    /** {@code char *strerror(int errnum)}; the result is a zero-length segment. */
    public static MemorySegment strerror(int errnum) {
        try {
            return (MemorySegment) strerror.HANDLE.invokeExact(errnum);
        } catch (Throwable t) {
            throw Downcalls.rethrow(t);
        }
    }

    private static final class strerrorname_np {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(ADDRESS, JAVA_INT);
        static final MethodHandle HANDLE = Downcalls.find("strerrorname_np", DESC);
    }

    /** {@code const char *strerrorname_np(int errnum)} (glibc 2.32+): "ENOENT", or NULL. */
    public static MemorySegment strerrorname_np(int errnum) {
        try {
            return (MemorySegment) strerrorname_np.HANDLE.invokeExact(errnum);
        } catch (Throwable t) {
            throw Downcalls.rethrow(t);
        }
    }
}
