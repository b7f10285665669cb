package io.panastor.reactor;

import java.util.Locale;

/**
 * Whether a reactor has a core to itself, which decides what it does with an empty duty
 * cycle (see {@link ReactorIdleStrategy}).
 *
 * <p>A reactor alone on its core polls: it spins, keeps polling while its IO is in flight,
 * and parks only when nothing is coming, so a completion is seen within a cycle (SPDK's
 * model, and the engine's peak). Two polling reactors on one core, or several engines on
 * one machine, take the core from each other while they wait: the one with work waits for
 * the spinner's time slice to end. A reactor that shares its core therefore parks in
 * {@code io_uring_enter} as soon as a cycle finds nothing to do; it is woken by the
 * completion, the message or the timer it waits for, so when busy it runs cycle after
 * cycle as fast as a polling one, and when waiting it leaves the core to the others.
 */
public enum CoreMode {
    /** Polls as if it had its core to itself, whatever else runs there. */
    DEDICATED,
    /** Parks as soon as a cycle finds nothing to do. */
    SHARED,
    /**
     * {@link #SHARED} while reactors of this process outnumber the cores they may run on
     * (two pinned on one core, or more unpinned ones than cores), {@link #DEDICATED}
     * otherwise; re-decided whenever a reactor starts or stops. The default.
     */
    AUTO;

    /** System property that sets the default mode of every reactor set: auto, shared or dedicated. */
    public static final String PROPERTY = "panastor.coreMode";

    /** The mode {@link #PROPERTY} names, or {@link #AUTO}. */
    public static CoreMode fromProperty() {
        String v = System.getProperty(PROPERTY);
        return v == null || v.isBlank() ? AUTO : parse(v);
    }

    /** {@code auto}, {@code shared} or {@code dedicated}, any case; anything else is a clear error. */
    public static CoreMode parse(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("core mode '" + name + "' is none of auto, shared, dedicated");
        }
    }
}
