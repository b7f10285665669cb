package io.panastor.reactor;

import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.natives.Cpu;
import io.panastor.natives.EventFd;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Reactors that share cores: when they do, that each one parks when idle and all make progress. */
class SharedCoreTest {
    private static final int CORES = Cpu.allowedCpus().size();
    private static final long NOP = 1;
    private static final long NEVER = 2;

    @Test
    void reactorsAloneOnTheirCoresPollAndOnesThatShareACoreParkAndBackWhenTheOtherStops() {
        assertThat(CoreOccupancy.live()).as("reactors left running by an earlier test").isZero();
        int core = Cpu.allowedCpus().getFirst();
        try (Reactors first = Reactors.start(List.of(core))) {
            assertThat(first.get(0).sharesCore()).isFalse();
            try (Reactors second = Reactors.start(List.of(core))) {
                assertThat(first.get(0).sharesCore()).as("a second engine on the same core").isTrue();
                assertThat(second.get(0).sharesCore()).isTrue();
            }
            assertThat(first.get(0).sharesCore()).as("alone again").isFalse();
        }
    }

    @Test
    void moreReactorsThanCoresRunUnpinnedAndShare() {
        try (Reactors reactors = Reactors.start(CORES + 1)) {
            for (Reactor r : reactors.all()) {
                assertThat(r.cpu()).as("%s pinned", r).isEqualTo(-1);
                assertThat(r.sharesCore()).as("%s shares", r).isTrue();
            }
        }
        try (Reactors reactors = Reactors.start(CORES)) {
            for (Reactor r : reactors.all()) {
                assertThat(r.cpu()).isNotNegative();
                assertThat(r.sharesCore()).isFalse();
            }
        }
    }

    @Test
    void anExplicitModeIsKeptWhateverElseRuns() {
        try (Reactors dedicated = Reactors.start(CORES + 1, CoreMode.DEDICATED);
                Reactors shared = Reactors.start(1, CoreMode.SHARED)) {
            assertThat(dedicated.all()).noneMatch(Reactor::sharesCore);
            assertThat(shared.get(0).sharesCore()).isTrue();
        }
    }

    @Test
    void coreModesParseByNameAndRefuseAnythingElse() {
        assertThat(CoreMode.parse(" Shared ")).isEqualTo(CoreMode.SHARED);
        assertThat(CoreMode.parse("dedicated")).isEqualTo(CoreMode.DEDICATED);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> CoreMode.parse("spin"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'spin' is none of auto, shared, dedicated");
    }

    /**
     * Pollers that watch their reactor's counters: an idle reactor that shares its core runs
     * a cycle only when its park ends, a dedicated one spins through a few hundred before each
     * park. Counted, not timed: the park is kept short so that many happen.
     */
    @Test
    void anIdleSharedReactorParksAfterEveryEmptyCycleAndAnIdleDedicatedOneSpinsFirst() throws Exception {
        long parkNanos = TimeUnit.MILLISECONDS.toNanos(1);
        Reactor shared = new Reactor(0, -1, 64, org.agrona.concurrent.SystemNanoClock.INSTANCE, CoreMode.SHARED)
                .maxParkNanos(parkNanos).start();
        Reactor dedicated = new Reactor(1, -1, 64, org.agrona.concurrent.SystemNanoClock.INSTANCE, CoreMode.DEDICATED)
                .maxParkNanos(parkNanos).start();
        try {
            long[] s = cyclesPerParks(shared, 50);
            assertThat(s[0]).as("cycles of %d parks of the shared reactor", s[1]).isLessThanOrEqualTo(s[1] + 2);
            long[] d = cyclesPerParks(dedicated, 20);
            assertThat(d[0]).as("cycles of %d parks of the dedicated reactor", d[1])
                    .isGreaterThanOrEqualTo((d[1] - 1) * (ReactorIdleStrategy.MAX_SPINS + ReactorIdleStrategy.MAX_YIELDS));
        } finally {
            shared.close();
            dedicated.close();
        }
    }

    /** Waits (in this thread) for {@code parks} more parks of an idle reactor; returns {cycles, parks} it took. */
    private static long[] cyclesPerParks(Reactor r, int parks) throws InterruptedException {
        ReactorTest.awaitParked(r);
        long c0 = r.cycles();
        long p0 = r.parks();
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (r.parks() - p0 < parks && System.nanoTime() < until) {
            java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
        }
        long p = r.parks() - p0;
        long c = r.cycles() - c0;
        assertThat(p).isGreaterThanOrEqualTo(parks);
        return new long[] {c, p};
    }

    /**
     * Three times as many reactors as cores, each with a read that never completes standing
     * in its ring (as a socket's receive does), and all kept busy at once: a token passed
     * round the ring of reactors by message, a chain of timers, and a chain of ring IO on
     * each. Every reactor completes every stream.
     */
    @Test
    void threeReactorsPerCoreAllCompleteTheirMessagesTimersAndIo() throws Exception {
        int n = 3 * CORES;
        int laps = 300;
        int timerChain = 200;
        int ioChain = 2_000;
        List<EventFd> silent = new ArrayList<>();
        try (Reactors reactors = Reactors.start(n)) {
            assertThat(reactors.all()).allMatch(Reactor::sharesCore);
            List<CompletableFuture<Void>> done = new ArrayList<>();
            int[][] seen = new int[n][3];  // per reactor: token visits, timers, IO completions (each reactor-confined)
            for (Reactor r : reactors.all()) {
                EventFd never = new EventFd();
                silent.add(never);
                CompletableFuture<Void> timersDone = new CompletableFuture<>();
                CompletableFuture<Void> ioDone = new CompletableFuture<>();
                done.add(timersDone);
                done.add(ioDone);
                int[] mine = seen[r.id()];
                r.run(() -> {
                    int[] handler = new int[1];
                    handler[0] = r.registerCompletionHandler((token, res, flags) -> {
                        if (token == NOP) {
                            if (++mine[2] == ioChain) {
                                ioDone.complete(null);
                            } else {
                                r.ring().prepNop(Reactor.userData(handler[0], NOP));
                            }
                        }
                    });
                    r.ring().prepRead(never.fd(), never.readBuffer().address(), Long.BYTES, 0,
                            Reactor.userData(handler[0], NEVER));
                    r.ring().prepNop(Reactor.userData(handler[0], NOP));
                    chainTimer(r, mine, timerChain, timersDone);
                }).join();
            }
            CompletableFuture<Void> tokenHome = new CompletableFuture<>();
            pass(reactors, seen, 0, laps * n, tokenHome);
            done.add(tokenHome);
            CompletableFuture.allOf(done.toArray(CompletableFuture[]::new)).get(5, TimeUnit.MINUTES);
            for (Reactor r : reactors.all()) {
                int[] counts = r.submit(() -> seen[r.id()].clone()).join();
                assertThat(counts).as("%s: token visits, timers, IO", r).containsExactly(laps, timerChain, ioChain);
            }
        } finally {
            silent.forEach(EventFd::close);
        }
    }

    private static void chainTimer(Reactor r, int[] mine, int left, CompletableFuture<Void> done) {
        r.scheduleTimer(TimeUnit.MICROSECONDS.toNanos(100), () -> {
            mine[1]++;
            if (left == 1) {
                done.complete(null);
            } else {
                chainTimer(r, mine, left - 1, done);
            }
        });
    }

    /** Hop {@code hop} of the token: it visits reactor {@code hop % n}, which sends it on. */
    private static void pass(Reactors reactors, int[][] seen, int hop, int hops, CompletableFuture<Void> home) {
        Reactor r = reactors.get(hop % reactors.size());
        r.execute(() -> {
            seen[r.id()][0]++;
            if (hop + 1 == hops) {
                home.complete(null);
            } else {
                pass(reactors, seen, hop + 1, hops, home);
            }
        });
    }
}
