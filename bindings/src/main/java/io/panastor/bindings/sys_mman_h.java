package io.panastor.bindings;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/** {@code <sys/mman.h>} (x86_64 values): mmap, munmap, madvise. */
public final class sys_mman_h {
    private sys_mman_h() {
    }

    public static final int PROT_READ = 0x1;
    public static final int PROT_WRITE = 0x2;
    public static final int MAP_SHARED = 0x01;
    public static final int MAP_PRIVATE = 0x02;
    public static final int MAP_ANONYMOUS = 0x20;
    public static final int MAP_POPULATE = 0x8000;
    public static final long MAP_FAILED = -1L;
    public static final int MADV_WILLNEED = 3;
    public static final int MADV_DONTFORK = 10;
    public static final int MADV_HUGEPAGE = 14;

    private static final class mmap {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(ADDRESS,
                ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG);
        static final MethodHandle HANDLE = Downcalls.find("mmap", DESC, Downcalls.CAPTURE_ERRNO);
    }

    /** {@code void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)} */
    public static MemorySegment mmap(MemorySegment errno, MemorySegment addr, long length, int prot, int flags,
                                     int fd, long offset) {
        try {
            return (MemorySegment) mmap.HANDLE.invokeExact(errno, addr, length, prot, flags, fd, offset);
        } catch (Throwable t) {
            throw Downcalls.rethrow(t);
        }
    }

    private static final class munmap {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG);
        static final MethodHandle HANDLE = Downcalls.find("munmap", DESC, Downcalls.CAPTURE_ERRNO);
    }

    /** {@code int munmap(void *addr, size_t length)} */
    public static int munmap(MemorySegment errno, MemorySegment addr, long length) {
        try {
            return (int) munmap.HANDLE.invokeExact(errno, addr, length);
        } catch (Throwable t) {
            throw Downcalls.rethrow(t);
        }
    }

    private static final class madvise {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT);
        static final MethodHandle HANDLE = Downcalls.find("madvise", DESC, Downcalls.CAPTURE_ERRNO);
    }

    /** {@code int madvise(void *addr, size_t length, int advice)} */
    public static int madvise(MemorySegment errno, MemorySegment addr, long length, int advice) {
        try {
            return (int) madvise.HANDLE.invokeExact(errno, addr, length, advice);
        } catch (Throwable t) {
            throw Downcalls.rethrow(t);
        }
    }
}
