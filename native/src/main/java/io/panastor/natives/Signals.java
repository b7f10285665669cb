package io.panastor.natives;

import static java.lang.foreign.ValueLayout.ADDRESS;

import io.panastor.bindings.signal_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Signal dispositions a process inherited. A shell starts a background job with SIGINT (and
 * SIGQUIT) set to SIG_IGN, and the JVM then installs no handler for it — not even one asked
 * for through {@code sun.misc.Signal.handle}, which quietly does nothing for an ignored
 * signal. {@link #unignore} puts the default action back first, so that a handler can be
 * installed after it. Control plane only (process start).
 */
public final class Signals {
    public static final int SIGINT = signal_h.SIGINT;
    public static final int SIGTERM = signal_h.SIGTERM;

    private Signals() {
    }

    /** Whether {@code signum} is ignored now (SIG_IGN). */
    public static boolean isIgnored(int signum) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = Errno.newCallState(a);
            MemorySegment old = a.allocate(signal_h.SIGACTION_SIZE, 8);
            if (signal_h.sigaction(state, signum, MemorySegment.NULL, old) != 0) {
                throw Errno.failure("sigaction(" + signum + ")", state);
            }
            return old.get(ADDRESS, signal_h.SA_HANDLER_OFFSET).address() == signal_h.SIG_IGN;
        }
    }

    /** When {@code signum} is ignored, restores its default action; true when it did. */
    public static boolean unignore(int signum) {
        if (!isIgnored(signum)) {
            return false;
        }
        signal_h.signal(signum, MemorySegment.ofAddress(signal_h.SIG_DFL));
        return true;
    }
}
