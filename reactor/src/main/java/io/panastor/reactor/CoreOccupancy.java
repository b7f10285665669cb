package io.panastor.reactor;

import io.panastor.natives.Cpu;
import java.util.ArrayList;
import java.util.List;

/**
 * The live reactors of this process and where they run, so that an {@link CoreMode#AUTO}
 * reactor knows whether it shares its core: a reactor pinned to a core shares it when
 * another reactor is pinned there too, or when unpinned reactors make the process's
 * reactors outnumber its cores; an unpinned reactor shares when reactors outnumber cores.
 * Every start and stop re-decides it for every AUTO reactor, so that a second engine started
 * in the same process turns the first one's reactors considerate too (and back when it stops).
 *
 * <p>Only reactors are counted: threads that are not reactors (a test's, the JDK's, other
 * processes) are not, which is why {@link CoreMode#SHARED} can also be asked for.
 *
 * <p>Thread-safety: any thread (control path; one lock).
 */
final class CoreOccupancy {
    private static final List<Reactor> LIVE = new ArrayList<>();
    /** The cores the process may use, as seen by the thread that started the latest reactor. */
    private static int allowedCores;

    private CoreOccupancy() {
    }

    static synchronized void register(Reactor r) {
        allowedCores = Cpu.allowedCpus().size();
        LIVE.add(r);
        decide();
    }

    static synchronized void unregister(Reactor r) {
        if (LIVE.remove(r)) {
            decide();
        }
    }

    /** Reactors of this process alive now. */
    static synchronized int live() {
        return LIVE.size();
    }

    private static void decide() {
        int unpinned = 0;
        for (Reactor r : LIVE) {
            if (r.cpu() < 0) {
                unpinned++;
            }
        }
        boolean outnumbered = LIVE.size() > allowedCores;
        for (Reactor r : LIVE) {
            boolean shares = switch (r.mode()) {
                case DEDICATED -> false;
                case SHARED -> true;
                case AUTO -> r.cpu() < 0 ? outnumbered : (unpinned > 0 && outnumbered) || pinnedTo(r.cpu()) > 1;
            };
            r.sharesCore(shares);
        }
    }

    private static int pinnedTo(int cpu) {
        int n = 0;
        for (Reactor r : LIVE) {
            if (r.cpu() == cpu) {
                n++;
            }
        }
        return n;
    }
}
