package io.panastor.bindings;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/** {@code <unistd.h>}: close, read, write, pread, pwrite, fsync, fdatasync and syscall(2). */
public final class unistd_h {
    private unistd_h() {
    }

    /** {@code <sys/syscall.h>} numbers on x86_64. */
    public static final long SYS_io_uring_setup = 425;
    public static final long SYS_io_uring_enter = 426;
    public static final long SYS_io_uring_register = 427;
    public static final long SYS_gettid = 186;

    private static final class close {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT);
        static final MethodHandle HANDLE = Downcalls.find("close", DESC, Downcalls.CAPTURE_ERRNO);
    }

    /** {@code int close(int fd)} */
    public static int close(MemorySegment errno, int fd) {
        try {
            return (int) close.HANDLE.invokeExact(errno, fd);
        } catch (Throwable t) {
            throw Downcalls.rethrow(t);
        }
    }

    private static final class read {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG);
        static final MethodHandle HANDLE = Downcalls.find("read", DESC, Downcalls.CAPTURE_ERRNO);
    }

    /** {@code ssize_t read(int fd, void *buf, size_t count)} */
    public static long read(MemorySegment errno, int fd, MemorySegment buf, long count) {
        try {
            return (long) read.HANDLE.invokeExact(errno, fd, buf, count);
        } catch (Throwable t) {
            throw Downcalls.rethrow(t);
        }
    }

    private static final class write {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG);
        static final MethodHandle HANDLE = Downcalls.find("write", DESC, Downcalls.CAPTURE_ERRNO);
    }

    /** {@code ssize_t write(int fd, const void *buf, size_t count)} */
    public static long write(MemorySegment errno, int fd, MemorySegment buf, long count) {
        try {
            return (long) write.HANDLE.invokeExact(errno, fd, buf, count);
        } catch (Throwable t) {
            throw Downcalls.rethrow(t);
        }
    }

    private static final class pread {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG);
        static final MethodHandle HANDLE = Downcalls.find("pread", DESC, Downcalls.CAPTURE_ERRNO);
    }

    /** {@code ssize_t pread(int fd, void *buf, size_t count, off_t offset)} */
    public static long pread(MemorySegment errno, int fd, MemorySegment buf, long count, long offset) {
        try {
            return (long) pread.HANDLE.invokeExact(errno, fd, buf, count, offset);
        } catch (Throwable t) {
            throw Downcalls.rethrow(t);
        }
    }

    private static final class pwrite {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG);
        static final MethodHandle HANDLE = Downcalls.find("pwrite", DESC, Downcalls.CAPTURE_ERRNO);
    }

    /** {@code ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset)} */
    public static long pwrite(MemorySegment errno, int fd, MemorySegment buf, long count, long offset) {
        try {
            return (long) pwrite.HANDLE.invokeExact(errno, fd, buf, count, offset);
        } catch (Throwable t) {
            throw Downcalls.rethrow(t);
        }
    }

    private static final class fsync {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT);
        static final MethodHandle HANDLE = Downcalls.find("fsync", DESC, Downcalls.CAPTURE_ERRNO);
    }

    /** {@code int fsync(int fd)} */
    public static int fsync(MemorySegment errno, int fd) {
        try {
            return (int) fsync.HANDLE.invokeExact(errno, fd);
        } catch (Throwable t) {
            throw Downcalls.rethrow(t);
        }
    }

    private static final class fdatasync {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT);
        static final MethodHandle HANDLE = Downcalls.find("fdatasync", DESC, Downcalls.CAPTURE_ERRNO);
    }

    /** {@code int fdatasync(int fd)} */
    public static int fdatasync(MemorySegment errno, int fd) {
        try {
            return (int) fdatasync.HANDLE.invokeExact(errno, fd);
        } catch (Throwable t) {
            throw Downcalls.rethrow(t);
        }
    }

    private static final class syscall3 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS);
        static final MethodHandle HANDLE = Downcalls.find("syscall", DESC,
                Downcalls.CAPTURE_ERRNO, Linker.Option.firstVariadicArg(1));
    }

    /** {@code long syscall(long number, long a, void *b)}: io_uring_setup(2). */
    public static long syscall(MemorySegment errno, long number, long a, MemorySegment b) {
        try {
            return (long) syscall3.HANDLE.invokeExact(errno, number, a, b);
        } catch (Throwable t) {
            throw Downcalls.rethrow(t);
        }
    }

    private static final class syscall5 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG);
        static final MethodHandle HANDLE = Downcalls.find("syscall", DESC,
                Downcalls.CAPTURE_ERRNO, Linker.Option.firstVariadicArg(1));
    }

    /** {@code long syscall(long number, long a, long b, void *c, long d)}: io_uring_register(2). */
    public static long syscall(MemorySegment errno, long number, long a, long b, MemorySegment c, long d) {
        try {
            return (long) syscall5.HANDLE.invokeExact(errno, number, a, b, c, d);
        } catch (Throwable t) {
            throw Downcalls.rethrow(t);
        }
    }

    private static final class syscall7 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_LONG,
                JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG);
        static final MethodHandle HANDLE = Downcalls.find("syscall", DESC,
                Downcalls.CAPTURE_ERRNO, Linker.Option.firstVariadicArg(1));
    }

    /** {@code long syscall(long number, long a, long b, long c, long d, void *e, long f)}: io_uring_enter(2). */
    public static long syscall(MemorySegment errno, long number, long a, long b, long c, long d,
                               MemorySegment e, long f) {
        try {
            return (long) syscall7.HANDLE.invokeExact(errno, number, a, b, c, d, e, f);
        } catch (Throwable t) {
            throw Downcalls.rethrow(t);
        }
    }
}
