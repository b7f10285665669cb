package io.panastor.reactor;

import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.NanoClock;

/**
 * What a reactor does with a duty cycle that found no work, by whether it has its core to
 * itself ({@link CoreMode}).
 *
 * <p>Dedicated core: spins while work flows (and while IO is in flight, up to
 * {@link #IO_POLL_NANOS}), yields a little, then parks the reactor in {@code io_uring_enter}
 * (woken by a completion, a message's eventfd signal, or the next timer's deadline). While IO
 * is in flight its completions wake the reactor from the ring itself, so parking never delays
 * work: peak throughput is that of pure polling, and an idle reactor costs almost nothing.
 *
 * <p>Shared core: parks at once. Spinning or yielding there would hold the core another
 * reactor needs to produce what this one waits for; the park ends with the completion,
 * message or timer itself, so a busy reactor (whose cycles find work) never parks at all.
 *
 * <p>The IO polling window is measured on the system clock, not the reactor's: it is about
 * how long the CPU is spent, and a test's manual clock that stands still must not keep a
 * reactor polling for ever.
 *
 * <p>Thread-safety: reactor-confined.
 */
final class ReactorIdleStrategy implements IdleStrategy {
    /** Empty duty cycles spun through before yielding (a few microseconds of polling). */
    static final int MAX_SPINS = Integer.getInteger("panastor.spins", 200);
    /** Empty duty cycles that yield the core before parking. */
    static final int MAX_YIELDS = Integer.getInteger("panastor.yields", 10);
    /**
     * How long a reactor keeps polling, rather than parking, while IO it submitted is still
     * in flight. Waking a parked thread costs tens of microseconds (more in a VM), which a
     * device answering in a few hundred would feel; a device slower than this lets the
     * reactor park.
     */
    static final long IO_POLL_NANOS = Long.getLong("panastor.ioPollNanos", 2_000_000L);

    /** What the strategy needs of its reactor (an interface so that a test can drive it alone). */
    interface Host {
        /** True when the reactor shares its core (re-read on every empty cycle: it may change). */
        boolean sharesCore();

        /** True when the reactor's ring owes completions of IO it submitted. */
        boolean ioInFlight();

        /** Sleeps until a completion, a message or the next timer. */
        void park();
    }

    private final Host reactor;
    private final NanoClock realTime;
    private int spins;
    private int yields;
    private long idleSince;

    ReactorIdleStrategy(Host reactor, NanoClock realTime) {
        this.reactor = reactor;
        this.realTime = realTime;
    }

    @Override
    public void idle(int workCount) {
        if (workCount > 0) {
            reset();
        } else {
            idle();
        }
    }

    @Override
    public void idle() {
        if (reactor.sharesCore()) {
            reactor.park();
            reset();
        } else if (spins < MAX_SPINS) {
            if (spins++ == 0) {
                idleSince = realTime.nanoTime();
            }
            Thread.onSpinWait();
        } else if (reactor.ioInFlight() && realTime.nanoTime() - idleSince < IO_POLL_NANOS) {
            // Keep polling, but give the core to anything else runnable on it (the kernel
            // thread completing our IO) between polls.
            Thread.yield();
        } else if (yields < MAX_YIELDS) {
            yields++;
            Thread.yield();
        } else {
            reactor.park();
            reset();
        }
    }

    @Override
    public void reset() {
        spins = 0;
        yields = 0;
    }

    @Override
    public String alias() {
        return "reactor-spin-yield-park";
    }
}
