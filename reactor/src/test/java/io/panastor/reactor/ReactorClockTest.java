package io.panastor.reactor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The reactor clock: one reading per cycle, timers off it, and a manual clock a test moves by hand. */
class ReactorClockTest {
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    @Test
    void timersFireInDeadlineOrderAsTheManualClockMovesAndNoneBefore() {
        ManualNanoClock clock = new ManualNanoClock();
        try (Reactors reactors = Reactors.start(1, clock)) {
            Reactor r = reactors.get(0);
            List<String> fired = new ArrayList<>();     // reactor-confined
            r.run(() -> {
                // Far apart on purpose: deadlines more than a timer wheel's rotation away from
                // each other, reached by one move of the clock, still come out in order.
                r.scheduleTimer(10_000 * MS, () -> fired.add("10s"));
                r.scheduleTimer(600 * MS, () -> fired.add("600ms"));
                r.scheduleTimer(100 * MS, () -> fired.add("100ms"));
                long cancelled = r.scheduleTimer(2_000 * MS, () -> fired.add("cancelled"));
                r.scheduleTimer(3_000 * MS, () -> fired.add("3s"));
                r.scheduleTimer(100 * MS, () -> fired.add("100ms, scheduled second"));
                assertThat(r.cancelTimer(cancelled)).isTrue();
            }).join();

            clock.advance(100 * MS - 1);
            r.awaitTimersDue().join();
            assertThat(r.submit(() -> List.copyOf(fired)).join()).as("1 ns before the first deadline").isEmpty();

            clock.advance(1);
            r.awaitTimersDue().join();
            assertThat(r.submit(() -> List.copyOf(fired)).join()).containsExactly("100ms", "100ms, scheduled second");

            clock.advance(20, TimeUnit.SECONDS);
            r.awaitTimersDue().join();
            assertThat(r.submit(() -> List.copyOf(fired)).join())
                    .containsExactly("100ms", "100ms, scheduled second", "600ms", "3s", "10s");
            assertThat(r.submit(r::timerCount).join()).isZero();
        }
    }

    @Test
    void aCycleSeesOneClockReadingWhateverTheClockDoesMeanwhile() {
        ManualNanoClock clock = new ManualNanoClock(5_000);
        try (Reactors reactors = Reactors.start(1, clock)) {
            Reactor r = reactors.get(0);
            long[] seen = r.submit(() -> {
                long before = r.nanoTime();
                clock.advance(7);
                return new long[] {before, r.nanoTime(), clock.nanoTime()};
            }).join();
            assertThat(seen[1]).as("same cycle, same reading").isEqualTo(seen[0]);
            assertThat(seen[2]).isEqualTo(seen[0] + 7);

            clock.advance(1_000);
            r.awaitTimersDue().join();
            // Every cycle from the one that ran the due timers on has read the moved clock.
            assertThat(r.submit(r::nanoTime).join()).isEqualTo(5_000 + 7 + 1_000);
            assertThat(r.clock()).isSameAs(clock);
        }
    }

    @Test
    void timerDelaysCountFromTheCycleThatScheduledThem() {
        ManualNanoClock clock = new ManualNanoClock();
        try (Reactors reactors = Reactors.start(1, clock)) {
            Reactor r = reactors.get(0);
            CompletableFuture<Long> firedAt = new CompletableFuture<>();
            long scheduledAt = r.submit(() -> {
                r.scheduleTimer(50 * MS, () -> firedAt.complete(r.nanoTime()));
                return r.nanoTime();
            }).join();
            clock.set(scheduledAt + 50 * MS - 1);
            r.awaitTimersDue().join();
            assertThat(firedAt).isNotDone();
            clock.advance(1);
            assertThat(firedAt.join()).isEqualTo(scheduledAt + 50 * MS);
        }
    }

    @Test
    void aParkedReactorWakesWhenTheClockMovesAndFiresWhatBecameDue() throws Exception {
        ManualNanoClock clock = new ManualNanoClock();
        // Parked for up to an hour with nothing due: only the clock's move can wake it in time
        // for the future below.
        Reactor r = new Reactor(0, -1, 64, clock).maxParkNanos(TimeUnit.HOURS.toNanos(1)).start();
        try {
            CompletableFuture<Long> fired = new CompletableFuture<>();
            long parks = r.parks();
            r.run(() -> r.scheduleTimer(TimeUnit.HOURS.toNanos(2), () -> fired.complete(r.nanoTime()))).join();
            for (int i = 0; i < 3; i++) {
                awaitParkedSince(r, parks);
                assertThat(fired).isNotDone();
                parks = r.parks();
                clock.advance(10, TimeUnit.MINUTES);
            }
            awaitParkedSince(r, parks);
            long due = clock.advance(2, TimeUnit.HOURS);
            assertThat(fired.get(60, TimeUnit.SECONDS)).isEqualTo(due);
        } finally {
            r.close();
        }
    }

    /** Waits until {@code r} has parked again since it had parked {@code parks} times, and is parked now. */
    static void awaitParkedSince(Reactor r, long parks) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!(r.parks() > parks && r.isParking()) && System.nanoTime() < until) {
            java.util.concurrent.locks.LockSupport.parkNanos(MS);
        }
        assertThat(r.parks()).as("reactor parked").isGreaterThan(parks);
    }

    @Test
    void oneMoveOfTheClockWakesEveryReactorOnIt() throws Exception {
        ManualNanoClock clock = new ManualNanoClock();
        try (Reactors reactors = Reactors.start(3, clock)) {
            List<CompletableFuture<Integer>> fired = new ArrayList<>();
            for (Reactor r : reactors.all()) {
                CompletableFuture<Integer> f = new CompletableFuture<>();
                fired.add(f);
                r.run(() -> r.scheduleTimer(30 * MS, () -> f.complete(r.id()))).join();
            }
            for (Reactor r : reactors.all()) {
                ReactorTest.awaitParked(r);
            }
            clock.advance(30 * MS);
            reactors.awaitTimersDue().get(60, TimeUnit.SECONDS);
            assertThat(fired).allMatch(CompletableFuture::isDone);
            for (int i = 0; i < fired.size(); i++) {
                assertThat(fired.get(i).get(60, TimeUnit.SECONDS)).isEqualTo(i);
            }
        }
    }

    @Test
    void theClockDoesNotGoBackwards() {
        ManualNanoClock clock = new ManualNanoClock(100);
        assertThatThrownBy(() -> clock.advance(-1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("backwards");
        assertThatThrownBy(() -> clock.set(99)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("from 100 to 99");
        assertThat(clock.nanoTime()).isEqualTo(100);
        clock.set(100);
        assertThat(clock.advance(5)).isEqualTo(105);
    }

    @Test
    void aClosedReactorNoLongerListensToTheClockAndRefusesToWait() {
        ManualNanoClock clock = new ManualNanoClock();
        Reactors reactors = Reactors.start(2, clock);
        Reactor r = reactors.get(0);
        assertThat(clock.wakerCount()).isEqualTo(2);
        reactors.close();
        assertThat(clock.wakerCount()).isZero();
        clock.advance(1_000 * MS);
        assertThatThrownBy(() -> r.awaitTimersDue().join()).isInstanceOf(CompletionException.class)
                .hasCauseInstanceOf(RejectedExecutionException.class);
    }

    @Test
    void theSystemClockIsTheDefaultAndTimersStillFireOnIt() {
        try (Reactors reactors = Reactors.start(1)) {
            Reactor r = reactors.get(0);
            CompletableFuture<Long> fired = new CompletableFuture<>();
            long scheduledAt = r.submit(() -> {
                r.scheduleTimer(MS, () -> fired.complete(r.nanoTime()));
                return r.nanoTime();
            }).join();
            assertThat(r.clock()).isSameAs(org.agrona.concurrent.SystemNanoClock.INSTANCE);
            assertThat(fired.join()).isGreaterThanOrEqualTo(scheduledAt + MS);
        }
    }
}
