package io.panastor.natives;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.panastor.bindings.sched_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/** CPU affinity of the calling thread. Any thread; each call affects only the caller. */
public final class Cpu {
    private static final int MAX_CPUS = 1024;

    private Cpu() {
    }

    /** Pins the calling thread to {@code cpu}. */
    public static void pinCurrentThread(int cpu) {
        if (cpu < 0 || cpu >= MAX_CPUS) {
            throw new IllegalArgumentException("cpu " + cpu + " out of range 0.." + (MAX_CPUS - 1));
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = Errno.newCallState(a);
            MemorySegment set = a.allocate(sched_h.CPU_SET_T);
            set.setAtIndex(JAVA_LONG, cpu / 64, 1L << (cpu % 64));
            if (sched_h.sched_setaffinity(cs, 0, set.byteSize(), set) < 0) {
                throw Errno.failure("sched_setaffinity(cpu " + cpu + ")", cs);
            }
        }
    }

    /** The CPUs the calling thread may run on, ascending. */
    public static List<Integer> allowedCpus() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = Errno.newCallState(a);
            MemorySegment set = a.allocate(sched_h.CPU_SET_T);
            if (sched_h.sched_getaffinity(cs, 0, set.byteSize(), set) < 0) {
                throw Errno.failure("sched_getaffinity", cs);
            }
            List<Integer> cpus = new ArrayList<>();
            for (int cpu = 0; cpu < MAX_CPUS; cpu++) {
                if ((set.getAtIndex(JAVA_LONG, cpu / 64) & (1L << (cpu % 64))) != 0) {
                    cpus.add(cpu);
                }
            }
            return cpus;
        }
    }

    /** The CPU the calling thread runs on now. */
    public static int current() {
        return sched_h.sched_getcpu();
    }
}
