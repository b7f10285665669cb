package io.panastor.bindings;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/** {@code <sys/resource.h>}: getrlimit(2) and setrlimit(2). */
public final class sys_resource_h {
    private sys_resource_h() {
    }

    public static final int RLIMIT_NOFILE = 7;
    /** {@code RLIM_INFINITY} as the unsigned 64-bit value it is. */
    public static final long RLIM_INFINITY = -1L;
    /** {@code struct rlimit { rlim_t rlim_cur; rlim_t rlim_max; }} */
    public static final long RLIMIT_SIZE = 16;
    public static final long RLIM_CUR_OFFSET = 0;
    public static final long RLIM_MAX_OFFSET = 8;

    private static final class getrlimit {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS);
        static final MethodHandle HANDLE = Downcalls.find("getrlimit", DESC, Downcalls.CAPTURE_ERRNO);
    }

    /** {@code int getrlimit(int resource, struct rlimit *rlim)} */
    public static int getrlimit(MemorySegment errno, int resource, MemorySegment rlim) {
        try {
            return (int) getrlimit.HANDLE.invokeExact(errno, resource, rlim);
        } catch (Throwable t) {
            throw Downcalls.rethrow(t);
        }
    }

    private static final class setrlimit {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS);
        static final MethodHandle HANDLE = Downcalls.find("setrlimit", DESC, Downcalls.CAPTURE_ERRNO);
    }

    /** {@code int setrlimit(int resource, const struct rlimit *rlim)} */
    public static int setrlimit(MemorySegment errno, int resource, MemorySegment rlim) {
        try {
            return (int) setrlimit.HANDLE.invokeExact(errno, resource, rlim);
        } catch (Throwable t) {
            throw Downcalls.rethrow(t);
        }
    }
}
