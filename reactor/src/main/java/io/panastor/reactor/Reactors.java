package io.panastor.reactor;

import io.panastor.natives.Cpu;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.SystemNanoClock;

/**
 * The set of reactors of an engine: one per configured core, started together and closed
 * together. Control path; any thread.
 */
public final class Reactors implements AutoCloseable {
    /** SQ entries of each reactor's ring. */
    public static final int DEFAULT_RING_ENTRIES = 1024;

    private final List<Reactor> reactors;

    private Reactors(List<Reactor> reactors) {
        this.reactors = List.copyOf(reactors);
    }

    /** One reactor per entry of {@code cpus}, each pinned to that core. */
    public static Reactors start(List<Integer> cpus) {
        return builder().cpus(cpus).start();
    }

    /**
     * {@code count} reactors, each pinned to one of the cores this process may use; more
     * reactors than cores run unpinned and share them ({@link CoreMode#AUTO}).
     */
    public static Reactors start(int count) {
        return builder().count(count).start();
    }

    /** {@code count} reactors as {@link #start(int)}, whose cycles and timers run off {@code clock}. */
    public static Reactors start(int count, NanoClock clock) {
        return builder().count(count).clock(clock).start();
    }

    /** {@code count} reactors as {@link #start(int)}, in {@code mode}. */
    public static Reactors start(int count, CoreMode mode) {
        return builder().count(count).mode(mode).start();
    }

    public static Reactors start(List<Integer> cpus, boolean pin, int ringEntries) {
        return builder().cpus(cpus).pin(pin).ringEntries(ringEntries).start();
    }

    /** How to start a set of reactors when the shorthands above do not say enough. */
    public static Builder builder() {
        return new Builder();
    }

    /** Options of {@link #start}: cores (or a count), pinning, ring size, clock, core mode. Control path. */
    public static final class Builder {
        private List<Integer> cpus;
        private int count = -1;
        private boolean pin = true;
        private int ringEntries = DEFAULT_RING_ENTRIES;
        private NanoClock clock = SystemNanoClock.INSTANCE;
        private CoreMode mode = CoreMode.fromProperty();

        private Builder() {
        }

        /** One reactor per entry, on that core (default: one on every core this process may use). */
        public Builder cpus(List<Integer> cpus) {
            this.cpus = List.copyOf(cpus);
            this.count = -1;
            return this;
        }

        /**
         * {@code count} reactors: one pinned to each of the first cores this process may use;
         * when they outnumber those cores, all of them unpinned, left to the kernel to spread.
         */
        public Builder count(int count) {
            if (count < 1) {
                throw new IllegalArgumentException("an engine needs at least one reactor, not " + count);
            }
            this.count = count;
            this.cpus = null;
            return this;
        }

        /** Pin each reactor's thread to its core (default true). */
        public Builder pin(boolean pin) {
            this.pin = pin;
            return this;
        }

        /** SQ entries of each reactor's ring (default {@link #DEFAULT_RING_ENTRIES}). */
        public Builder ringEntries(int ringEntries) {
            this.ringEntries = ringEntries;
            return this;
        }

        /** The clock of the reactors' cycles and timers (default the system's; a {@link ManualNanoClock} in tests). */
        public Builder clock(NanoClock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** Dedicated (poll), shared (park when idle) or auto (default: {@link CoreMode#fromProperty()}). */
        public Builder mode(CoreMode mode) {
            this.mode = Objects.requireNonNull(mode, "mode");
            return this;
        }

        public Reactors start() {
            List<Integer> allowed = Cpu.allowedCpus();
            List<Integer> chosen = cpus;
            boolean pinned = pin;
            if (chosen == null) {
                int n = count > 0 ? count : allowed.size();
                chosen = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    chosen.add(allowed.get(i % allowed.size()));
                }
                // Pinned round robin, two reactors would share a core while another idles.
                pinned &= n <= allowed.size();
            }
            if (chosen.isEmpty()) {
                throw new IllegalArgumentException("an engine needs at least one reactor core");
            }
            for (int cpu : chosen) {
                if (!allowed.contains(cpu)) {
                    throw new IllegalArgumentException("core " + cpu + " is not available to this process (available: "
                            + allowed + ")");
                }
            }
            List<Reactor> started = new ArrayList<>();
            try {
                for (int i = 0; i < chosen.size(); i++) {
                    started.add(new Reactor(i, pinned ? chosen.get(i) : -1, ringEntries, clock, mode).start());
                }
            } catch (RuntimeException e) {
                started.forEach(Reactor::close);
                throw e;
            }
            return new Reactors(started);
        }
    }

    /**
     * Completes once every reactor has run the timers due at its clock's present time
     * ({@link Reactor#awaitTimersDue()} on each): after moving a {@link ManualNanoClock}, what
     * a test joins before it looks. Any thread.
     */
    public CompletableFuture<Void> awaitTimersDue() {
        CompletableFuture<?>[] each = new CompletableFuture<?>[reactors.size()];
        for (int i = 0; i < each.length; i++) {
            each[i] = reactors.get(i).awaitTimersDue();
        }
        return CompletableFuture.allOf(each);
    }

    public Reactor get(int index) {
        return reactors.get(index);
    }

    public int size() {
        return reactors.size();
    }

    public List<Reactor> all() {
        return reactors;
    }

    @Override
    public void close() {
        RuntimeException first = null;
        for (Reactor r : reactors) {
            try {
                r.close();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
