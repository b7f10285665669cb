package io.panastor.bindings;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/** {@code <fcntl.h>} (x86_64 values): open(2) and fallocate(2). */
public final class fcntl_h {
    private fcntl_h() {
    }

    public static final int O_RDONLY = 0;
    public static final int O_WRONLY = 1;
    public static final int O_RDWR = 2;
    public static final int O_CREAT = 0100;
    public static final int O_EXCL = 0200;
    public static final int O_TRUNC = 01000;
    public static final int O_NONBLOCK = 04000;
    public static final int O_DSYNC = 010000;
    public static final int O_DIRECT = 040000;
    public static final int O_CLOEXEC = 02000000;

    /** linux/falloc.h */
    public static final int FALLOC_FL_KEEP_SIZE = 0x01;
    public static final int FALLOC_FL_PUNCH_HOLE = 0x02;
    public static final int FALLOC_FL_ZERO_RANGE = 0x10;

    private static final class open {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT);
        static final MethodHandle HANDLE = Downcalls.find("open", DESC,
                Downcalls.CAPTURE_ERRNO, Linker.Option.firstVariadicArg(2));
    }

    /** {@code int open(const char *path, int flags, ... mode_t mode)} */
    public static int open(MemorySegment errno, MemorySegment path, int flags, int mode) {
        try {
            return (int) open.HANDLE.invokeExact(errno, path, flags, mode);
        } catch (Throwable t) {
            throw Downcalls.rethrow(t);
        }
    }

    private static final class fallocate {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG);
        static final MethodHandle HANDLE = Downcalls.find("fallocate", DESC, Downcalls.CAPTURE_ERRNO);
    }

    /** {@code int fallocate(int fd, int mode, off_t offset, off_t len)} */
    public static int fallocate(MemorySegment errno, int fd, int mode, long offset, long len) {
        try {
            return (int) fallocate.HANDLE.invokeExact(errno, fd, mode, offset, len);
        } catch (Throwable t) {
            throw Downcalls.rethrow(t);
        }
    }
}
