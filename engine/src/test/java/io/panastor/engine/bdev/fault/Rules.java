package io.panastor.engine.bdev.fault;

import io.panastor.engine.bdev.IoType;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What a {@link FaultBdev} does to each IO type: an immutable value, replaced whole (copy on
 * write) by the test thread and read by the reactors through one volatile field per IO.
 * The countdown of {@link Mode#FAIL_AFTER} is an atomic shared by every reactor.
 */
final class Rules {
    enum Mode {
        /** Forward to the base. */
        PASS,
        /** Complete IO_ERROR with the errno, without reaching the base. */
        FAIL,
        /** Forward to the base, then complete IO_ERROR with the errno whatever the base said. */
        FAIL_AT_BASE,
        /** Forward the next n, then as {@link #FAIL}. */
        FAIL_AFTER,
        /** Complete NO_SPACE without reaching the base. */
        NO_SPACE,
        /** Complete NO_RESOURCES without reaching the base (no submission slot free: try again). */
        NO_RESOURCES,
        /** Hold until released (then forward) or until the timeout (then IO_ERROR, ETIMEDOUT). */
        HANG,
        /** Hold for the given time on the reactor clock, then forward. */
        DELAY
    }

    static final Rules NORMAL = new Rules(new Mode[IoType.values().length], new int[IoType.values().length],
            new long[IoType.values().length], new AtomicInteger[IoType.values().length], false);

    private final Mode[] modes;
    private final int[] errnos;
    /** HANG: its timeout (0 = none); DELAY: the delay. */
    private final long[] nanos;
    private final AtomicInteger[] remaining;
    final boolean corruptReads;

    private Rules(Mode[] modes, int[] errnos, long[] nanos, AtomicInteger[] remaining, boolean corruptReads) {
        this.modes = modes;
        this.errnos = errnos;
        this.nanos = nanos;
        this.remaining = remaining;
        this.corruptReads = corruptReads;
    }

    Mode mode(IoType t) {
        Mode m = modes[t.ordinal()];
        return m == null ? Mode.PASS : m;
    }

    int errno(IoType t) {
        return errnos[t.ordinal()];
    }

    long nanos(IoType t) {
        return nanos[t.ordinal()];
    }

    /** FAIL_AFTER: true while this IO is still one of the n to let through. */
    boolean takeOne(IoType t) {
        return remaining[t.ordinal()].getAndDecrement() > 0;
    }

    Rules with(IoType t, Mode mode, int errno, long ns, int n) {
        Mode[] m = modes.clone();
        int[] e = errnos.clone();
        long[] ts = nanos.clone();
        AtomicInteger[] r = remaining.clone();
        m[t.ordinal()] = mode;
        e[t.ordinal()] = errno;
        ts[t.ordinal()] = ns;
        r[t.ordinal()] = new AtomicInteger(n);
        return new Rules(m, e, ts, r, corruptReads);
    }

    Rules corrupting(boolean on) {
        return new Rules(modes, errnos, nanos, remaining, on);
    }

    /** These rules with every HANG back to PASS. */
    Rules withoutHangs() {
        Mode[] m = modes.clone();
        for (int i = 0; i < m.length; i++) {
            if (m[i] == Mode.HANG) {
                m[i] = Mode.PASS;
            }
        }
        return new Rules(m, errnos, nanos, remaining, corruptReads);
    }
}
