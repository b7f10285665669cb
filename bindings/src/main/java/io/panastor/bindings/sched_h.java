package io.panastor.bindings;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/** {@code <sched.h>}: CPU affinity of the calling thread. */
public final class sched_h {
    private sched_h() {
    }

    /** {@code cpu_set_t}: a bit mask of 1024 CPUs. */
    public static final MemoryLayout CPU_SET_T = MemoryLayout.sequenceLayout(16, JAVA_LONG).withName("cpu_set_t");

    private static final class sched_setaffinity {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS);
        static final MethodHandle HANDLE = Downcalls.find("sched_setaffinity", DESC, Downcalls.CAPTURE_ERRNO);
    }

    /** {@code int sched_setaffinity(pid_t pid, size_t cpusetsize, const cpu_set_t *mask)}; pid 0 = this thread. */
    public static int sched_setaffinity(MemorySegment errno, int pid, long cpusetsize, MemorySegment mask) {
        try {
            return (int) sched_setaffinity.HANDLE.invokeExact(errno, pid, cpusetsize, mask);
        } catch (Throwable t) {
            throw Downcalls.rethrow(t);
        }
    }

    private static final class sched_getaffinity {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS);
        static final MethodHandle HANDLE = Downcalls.find("sched_getaffinity", DESC, Downcalls.CAPTURE_ERRNO);
    }

    /** {@code int sched_getaffinity(pid_t pid, size_t cpusetsize, cpu_set_t *mask)} */
    public static int sched_getaffinity(MemorySegment errno, int pid, long cpusetsize, MemorySegment mask) {
        try {
            return (int) sched_getaffinity.HANDLE.invokeExact(errno, pid, cpusetsize, mask);
        } catch (Throwable t) {
            throw Downcalls.rethrow(t);
        }
    }

    private static final class sched_getcpu {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_INT);
        static final MethodHandle HANDLE = Downcalls.find("sched_getcpu", DESC);
    }

    /** {@code int sched_getcpu(void)} */
    public static int sched_getcpu() {
        try {
            return (int) sched_getcpu.HANDLE.invokeExact();
        } catch (Throwable t) {
            throw Downcalls.rethrow(t);
        }
    }
}
