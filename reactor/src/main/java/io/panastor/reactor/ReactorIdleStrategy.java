package io.panastor.reactor;

import org.agrona.concurrent.IdleStrategy;

/**
 * Spins while work flows (and while IO is in flight, up to {@link #IO_POLL_NANOS}), yields a little, then parks the reactor in
 * {@code io_uring_enter} (woken by a completion, a message's eventfd signal, or the next
 * timer's deadline). While IO is in flight its completions wake the reactor from the ring
 * itself, so parking never delays work: peak throughput is that of pure polling, and an
 * idle reactor costs almost nothing.
 *
 * Thread-safety: reactor-confined.
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

    private final Reactor reactor;
    private int spins;
    private int yields;
    private long idleSince;

    ReactorIdleStrategy(Reactor reactor) {
        this.reactor = reactor;
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
        if (spins < MAX_SPINS) {
            if (spins++ == 0) {
                idleSince = System.nanoTime();
            }
            Thread.onSpinWait();
        } else if (reactor.ioInFlight() && System.nanoTime() - idleSince < IO_POLL_NANOS) {
            // Keep polling, but give the core to anything else runnable on it (another reactor,
            // the kernel thread completing our IO) between polls.
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
