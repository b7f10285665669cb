package io.panastor.bindings;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/** {@code <signal.h>}: sigaction(2) and signal(2), enough to find and undo an inherited SIG_IGN. */
public final class signal_h {
    private signal_h() {
    }

    public static final int SIGINT = 2;
    public static final int SIGTERM = 15;
    /** {@code SIG_DFL}: the default action. */
    public static final long SIG_DFL = 0;
    /** {@code SIG_IGN}: ignore the signal. */
    public static final long SIG_IGN = 1;
    /** {@code sizeof(struct sigaction)} on x86_64 glibc: handler, 128-byte mask, flags, restorer. */
    public static final long SIGACTION_SIZE = 152;
    /** {@code offsetof(struct sigaction, sa_handler)}: the first member (a union with sa_sigaction). */
    public static final long SA_HANDLER_OFFSET = 0;

    private static final class sigaction {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
        static final MethodHandle HANDLE = Downcalls.find("sigaction", DESC, Downcalls.CAPTURE_ERRNO);
    }

    /** {@code int sigaction(int signum, const struct sigaction *act, struct sigaction *oldact)} */
    public static int sigaction(MemorySegment errno, int signum, MemorySegment act, MemorySegment oldact) {
        try {
            return (int) sigaction.HANDLE.invokeExact(errno, signum, act, oldact);
        } catch (Throwable t) {
            throw Downcalls.rethrow(t);
        }
    }

    private static final class signal {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(ADDRESS, JAVA_INT, ADDRESS);
        static final MethodHandle HANDLE = Downcalls.find("signal", DESC);
    }

    /** {@code sighandler_t signal(int signum, sighandler_t handler)} */
    public static MemorySegment signal(int signum, MemorySegment handler) {
        try {
            return (MemorySegment) signal.HANDLE.invokeExact(signum, handler);
        } catch (Throwable t) {
            throw Downcalls.rethrow(t);
        }
    }
}
