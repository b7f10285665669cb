package io.panastor.reactor;

import io.panastor.natives.Cpu;
import java.util.ArrayList;
import java.util.List;

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
        return start(cpus, true, DEFAULT_RING_ENTRIES);
    }

    /** {@code count} reactors on the first cores this process may use (round robin when fewer). */
    public static Reactors start(int count) {
        List<Integer> allowed = Cpu.allowedCpus();
        List<Integer> cpus = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            cpus.add(allowed.get(i % allowed.size()));
        }
        return start(cpus, true, DEFAULT_RING_ENTRIES);
    }

    public static Reactors start(List<Integer> cpus, boolean pin, int ringEntries) {
        if (cpus.isEmpty()) {
            throw new IllegalArgumentException("an engine needs at least one reactor core");
        }
        List<Integer> allowed = Cpu.allowedCpus();
        for (int cpu : cpus) {
            if (!allowed.contains(cpu)) {
                throw new IllegalArgumentException("core " + cpu + " is not available to this process (available: "
                        + allowed + ")");
            }
        }
        List<Reactor> started = new ArrayList<>();
        try {
            for (int i = 0; i < cpus.size(); i++) {
                started.add(new Reactor(i, pin ? cpus.get(i) : -1, ringEntries).start());
            }
        } catch (RuntimeException e) {
            started.forEach(Reactor::close);
            throw e;
        }
        return new Reactors(started);
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
