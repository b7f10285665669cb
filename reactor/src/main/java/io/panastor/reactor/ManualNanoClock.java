package io.panastor.reactor;

import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.agrona.concurrent.NanoClock;

/**
 * A clock that moves only when told to: give it to reactors ({@link Reactors.Builder#clock})
 * and a test can make "two IO timeouts later" happen at once, with no sleep and no window a
 * busy machine could miss. Time never goes backwards.
 *
 * <p>Every reactor built on this clock registers itself, so that {@link #advance} wakes it:
 * a parked reactor then starts a cycle, reads the new time and fires the timers that became
 * due. To wait for those timers, join {@link Reactor#awaitTimersDue()} on each reactor.
 *
 * <p>Thread-safety: any thread. {@link #advance}/{@link #set} publish the new time (a volatile
 * write) before they wake the reactors, so a reactor's next cycle sees at least that time.
 * Several threads may move it; each move is atomic.
 */
public final class ManualNanoClock implements NanoClock {
    /**
     * Where a clock starts when not told: not zero, so that code which takes 0 for "never"
     * is not fooled into thinking something happened at the start of time.
     */
    public static final long DEFAULT_START_NANOS = TimeUnit.HOURS.toNanos(1);

    private final AtomicLong now;
    private final CopyOnWriteArrayList<Runnable> wakers = new CopyOnWriteArrayList<>();

    public ManualNanoClock() {
        this(DEFAULT_START_NANOS);
    }

    public ManualNanoClock(long startNanos) {
        this.now = new AtomicLong(startNanos);
    }

    @Override
    public long nanoTime() {
        return now.get();
    }

    /** Moves the clock forward by {@code nanos} (>= 0) and wakes every reactor on it; returns the new time. */
    public long advance(long nanos) {
        if (nanos < 0) {
            throw new IllegalArgumentException("a clock does not go backwards: advance by " + nanos + " ns");
        }
        long t = now.addAndGet(nanos);
        wakeAll();
        return t;
    }

    /** {@link #advance(long)} in any unit. */
    public long advance(long amount, TimeUnit unit) {
        return advance(unit.toNanos(amount));
    }

    /** Sets the clock to {@code nanos}, which must not be before its current time; wakes every reactor on it. */
    public void set(long nanos) {
        long before = now.getAndAccumulate(nanos, Math::max);
        if (nanos - before < 0) {
            throw new IllegalArgumentException("a clock does not go backwards: from " + before + " to " + nanos);
        }
        wakeAll();
    }

    /** Called by a reactor built on this clock, with how to wake it. */
    void register(Runnable waker) {
        wakers.add(waker);
    }

    /** Called by a reactor on this clock when it closes. */
    void unregister(Runnable waker) {
        wakers.remove(waker);
    }

    /** Reactors listening to this clock. */
    int wakerCount() {
        return wakers.size();
    }

    private void wakeAll() {
        for (Runnable w : wakers) {
            w.run();
        }
    }

    @Override
    public String toString() {
        return "ManualNanoClock[" + now.get() + " ns]";
    }
}
