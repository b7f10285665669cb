package io.panastor.bindings;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/** {@code <sys/stat.h>}: fstat(2) into a {@link stat}. */
public final class sys_stat_h {
    private sys_stat_h() {
    }

    private static final class fstat {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS);
        static final MethodHandle HANDLE = Downcalls.find("fstat", DESC, Downcalls.CAPTURE_ERRNO);
    }

    /** {@code int fstat(int fd, struct stat *buf)} */
    public static int fstat(MemorySegment errno, int fd, MemorySegment buf) {
        try {
            return (int) fstat.HANDLE.invokeExact(errno, fd, buf);
        } catch (Throwable t) {
            throw Downcalls.rethrow(t);
        }
    }
}
