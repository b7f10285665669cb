package io.panastor.bindings;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/** {@code <sys/eventfd.h>} */
public final class sys_eventfd_h {
    private sys_eventfd_h() {
    }

    public static final int EFD_SEMAPHORE = 1;
    public static final int EFD_NONBLOCK = 04000;
    public static final int EFD_CLOEXEC = 02000000;

    private static final class eventfd {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT);
        static final MethodHandle HANDLE = Downcalls.find("eventfd", DESC, Downcalls.CAPTURE_ERRNO);
    }

    /** {@code int eventfd(unsigned int initval, int flags)} */
    public static int eventfd(MemorySegment errno, int initval, int flags) {
        try {
            return (int) eventfd.HANDLE.invokeExact(errno, initval, flags);
        } catch (Throwable t) {
            throw Downcalls.rethrow(t);
        }
    }
}
