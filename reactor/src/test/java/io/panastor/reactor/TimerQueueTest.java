package io.panastor.reactor;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

class TimerQueueTest {

    /** A timer the model knows: deadline, scheduling order, id, and whether it was cancelled. */
    private record Model(long deadline, int order, long id, boolean[] cancelled) {
    }

    @Property(tries = 200)
    void timersComeOutInDeadlineOrderThenSchedulingOrderAndCancelledOnesNever(
            @ForAll @Size(min = 1, max = 300) List<@IntRange(min = 0, max = 50) Integer> deadlines,
            @ForAll @Size(max = 300) List<@IntRange(min = 0, max = 299) Integer> cancels) {
        TimerQueue q = new TimerQueue();
        List<Model> models = new ArrayList<>();
        List<Integer> ran = new ArrayList<>();
        for (int i = 0; i < deadlines.size(); i++) {
            int order = i;
            models.add(new Model(deadlines.get(i), i, q.schedule(deadlines.get(i), () -> ran.add(order)),
                    new boolean[1]));
        }
        for (int c : cancels) {
            if (c < models.size()) {
                Model m = models.get(c);
                assertThat(q.cancel(m.id())).as("cancel #%d", c).isEqualTo(!m.cancelled()[0]);
                m.cancelled()[0] = true;
            }
        }
        List<Integer> expected = models.stream().filter(m -> !m.cancelled()[0])
                .sorted(Comparator.comparingLong(Model::deadline).thenComparingInt(Model::order))
                .map(Model::order).toList();
        assertThat(q.size()).isEqualTo(expected.size());
        for (long now = 0; now <= 50; now++) {
            Runnable task;
            while ((task = q.pollDue(now)) != null) {
                task.run();
            }
            long t = now;
            // Every timer due by now has run, and none due later.
            assertThat(ran).hasSize((int) expected.stream().filter(o -> models.get(o).deadline() <= t).count());
        }
        assertThat(ran).containsExactlyElementsOf(expected);
        assertThat(q.size()).isZero();
        assertThat(q.earliestDeadline()).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void staleIdsCancelNothingEvenWhenTheirSlotIsReused() {
        TimerQueue q = new TimerQueue();
        long first = q.schedule(10, () -> { });
        assertThat(q.cancel(first)).isTrue();
        long second = q.schedule(20, () -> { });
        assertThat(second & 0xFFFF_FFFFL).as("slot reused").isEqualTo(first & 0xFFFF_FFFFL);
        assertThat(q.cancel(first)).isFalse();
        assertThat(q.size()).isEqualTo(1);
        assertThat(q.cancel(-1)).isFalse();
        assertThat(q.cancel(Long.MAX_VALUE)).isFalse();
        assertThat(q.earliestDeadline()).isEqualTo(20);
        assertThat(q.pollDue(19)).isNull();
        assertThat(q.pollDue(20)).isNotNull();
        assertThat(q.cancel(second)).as("fired").isFalse();
    }

    @Test
    void growsPastItsInitialCapacityAndKeepsOrder() {
        TimerQueue q = new TimerQueue();
        List<Long> fired = new ArrayList<>();
        for (long d = 999; d >= 0; d--) {
            long deadline = d;
            assertThat(q.schedule(deadline, () -> fired.add(deadline))).isNotNegative();
        }
        Runnable task;
        while ((task = q.pollDue(1000)) != null) {
            task.run();
        }
        assertThat(fired).hasSize(1000).isSorted();
    }

    @Test
    void deadlinesCompareAcrossTheWrapOfTheClock() {
        TimerQueue q = new TimerQueue();
        List<String> fired = new ArrayList<>();
        long near = Long.MAX_VALUE - 5;
        q.schedule(near + 10, () -> fired.add("after wrap"));
        q.schedule(near, () -> fired.add("before wrap"));
        assertThat(q.pollDue(near - 1)).isNull();
        Runnable task;
        while ((task = q.pollDue(near + 10)) != null) {
            task.run();
        }
        assertThat(fired).containsExactly("before wrap", "after wrap");
    }
}
