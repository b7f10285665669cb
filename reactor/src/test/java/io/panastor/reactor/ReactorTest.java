package io.panastor.reactor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.panastor.natives.Cpu;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ReactorTest {

    @Test
    void tasksRunOnTheReactorThreadPinnedToItsCore() {
        try (Reactors reactors = Reactors.start(Cpu.allowedCpus())) {
            for (Reactor r : reactors.all()) {
                int[] where = r.submit(() -> new int[] {Cpu.current(), Reactor.current() == r ? 1 : 0}).join();
                assertThat(where[0]).isEqualTo(r.cpu());
                assertThat(where[1]).isEqualTo(1);
                assertThat(r.submit(() -> Thread.currentThread().getName()).join()).isEqualTo("reactor-" + r.id());
            }
        }
    }

    @Test
    void messagesFromManyThreadsAllRunAndKeepEachProducersOrder() throws Exception {
        try (Reactors reactors = Reactors.start(1)) {
            Reactor r = reactors.get(0);
            int producers = 4;
            int perProducer = 20_000;
            int[] lastSeen = new int[producers];
            int[] outOfOrder = new int[1];
            int[] count = new int[1];     // reactor-confined: no synchronisation needed
            List<Thread> threads = new ArrayList<>();
            for (int p = 0; p < producers; p++) {
                int producer = p;
                threads.add(Thread.ofPlatform().start(() -> {
                    for (int i = 1; i <= perProducer; i++) {
                        int seq = i;
                        r.execute(() -> {
                            if (lastSeen[producer] != seq - 1) {
                                outOfOrder[0]++;
                            }
                            lastSeen[producer] = seq;
                            count[0]++;
                        });
                    }
                }));
            }
            for (Thread t : threads) {
                t.join();
            }
            int total = r.submit(() -> count[0]).join();
            assertThat(total).isEqualTo(producers * perProducer);
            assertThat(r.submit(() -> outOfOrder[0]).join()).isZero();
        }
    }

    @Test
    void exceptionsReachTheCallersFuture() {
        try (Reactors reactors = Reactors.start(1)) {
            CompletableFuture<Object> f = reactors.get(0).submit(() -> {
                throw new IllegalStateException("boom");
            });
            assertThatThrownBy(f::join).isInstanceOf(CompletionException.class).hasRootCauseMessage("boom");
            assertThat(reactors.get(0).submit(() -> 7).join()).isEqualTo(7);
        }
    }

    @Test
    void timersFireInDeadlineOrderAndCancelledOnesDoNot() throws Exception {
        try (Reactors reactors = Reactors.start(1)) {
            Reactor r = reactors.get(0);
            List<String> fired = new ArrayList<>();
            CountDownLatch done = new CountDownLatch(1);
            r.run(() -> {
                r.scheduleTimer(TimeUnit.MILLISECONDS.toNanos(30), () -> fired.add("c"));
                r.scheduleTimer(TimeUnit.MILLISECONDS.toNanos(5), () -> fired.add("a"));
                long cancelled = r.scheduleTimer(TimeUnit.MILLISECONDS.toNanos(10), () -> fired.add("x"));
                r.scheduleTimer(TimeUnit.MILLISECONDS.toNanos(15), () -> fired.add("b"));
                r.scheduleTimer(TimeUnit.MILLISECONDS.toNanos(60), done::countDown);
                assertThat(r.cancelTimer(cancelled)).isTrue();
            }).join();
            assertThat(done.await(60, TimeUnit.SECONDS)).isTrue();
            assertThat(r.submit(() -> List.copyOf(fired)).join()).containsExactly("a", "b", "c");
        }
    }

    @Test
    void timerFiresAfterTheReactorWasIdleAndParked() throws Exception {
        try (Reactors reactors = Reactors.start(1)) {
            Reactor r = reactors.get(0);
            awaitParked(r);
            CompletableFuture<Long> firedAt = new CompletableFuture<>();
            long scheduledAt = r.submit(() -> {
                r.scheduleTimer(TimeUnit.MILLISECONDS.toNanos(20), () -> firedAt.complete(r.nanoTime()));
                return r.nanoTime();
            }).join();
            // On the reactor's own clock, which is what the timer promises; no window to miss.
            assertThat(firedAt.get(60, TimeUnit.SECONDS)).isGreaterThanOrEqualTo(scheduledAt + TimeUnit.MILLISECONDS.toNanos(20));
        }
    }

    @Test
    void throwingPollerIsRemovedAndTheReactorLivesOn() {
        try (Reactors reactors = Reactors.start(1)) {
            Reactor r = reactors.get(0);
            AtomicInteger healthyPolls = new AtomicInteger();
            r.run(() -> {
                r.addPoller(() -> {
                    throw new IllegalStateException("poller bug");
                });
                r.addPoller(() -> {
                    healthyPolls.incrementAndGet();
                    return 0;
                });
            }).join();
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (healthyPolls.get() < 10 && System.nanoTime() < until) {
                r.run(() -> { }).join();
            }
            assertThat(healthyPolls.get()).isGreaterThanOrEqualTo(10);
            assertThat(r.submit(r::pollerCount).join()).isEqualTo(1);
        }
    }

    @Test
    void flushPollersRunAfterEveryOtherPollerOfTheCycleWhateverTheOrderTheyWereAddedIn() {
        try (Reactors reactors = Reactors.start(1)) {
            Reactor r = reactors.get(0);
            java.util.List<String> order = new java.util.concurrent.CopyOnWriteArrayList<>();
            Poller flush = () -> {
                order.add("flush");
                return 0;
            };
            Poller work = () -> {
                order.add("work");
                return 0;
            };
            r.run(() -> {
                r.addFlushPoller(flush);
                r.addPoller(work);
            }).join();
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (order.size() < 20 && System.nanoTime() < until) {
                r.run(() -> { }).join();
            }
            r.run(() -> {
                r.removePoller(flush);
                r.removePoller(work);
            }).join();
            java.util.List<String> seen = java.util.List.copyOf(order);
            assertThat(seen.size()).isGreaterThanOrEqualTo(20).isEven();
            for (int i = 0; i < seen.size(); i += 2) {
                assertThat(seen.subList(i, i + 2)).as("cycle %d", i / 2).containsExactly("work", "flush");
            }
            assertThat(r.submit(r::pollerCount).join()).isZero();
        }
    }

    @Test
    void aReactorSendingItselfMoreMessagesThanItsQueueHoldsRunsThemAllInOrder() throws Exception {
        try (Reactors reactors = Reactors.start(1)) {
            Reactor r = reactors.get(0);
            int count = 3 * Reactor.MESSAGE_QUEUE_CAPACITY;
            java.util.List<Integer> ran = new java.util.ArrayList<>();
            CompletableFuture<Void> last = new CompletableFuture<>();
            r.execute(() -> {
                // From the reactor's own thread: a full queue must not make it wait on itself.
                for (int i = 0; i < count; i++) {
                    int n = i;
                    r.execute(() -> ran.add(n));
                }
                r.execute(() -> last.complete(null));
            });
            last.get(60, TimeUnit.SECONDS);
            List<Integer> expected = java.util.stream.IntStream.range(0, count).boxed().toList();
            assertThat(r.submit(() -> List.copyOf(ran)).get(60, TimeUnit.SECONDS)).isEqualTo(expected);
        }
    }

    @Test
    void parkedReactorWakesForAMessage() throws Exception {
        try (Reactors reactors = Reactors.start(1)) {
            Reactor r = reactors.get(0);
            for (int i = 0; i < 20; i++) {
                awaitParked(r);
                assertThat(r.submit(() -> 40 + 2).get(60, TimeUnit.SECONDS)).isEqualTo(42);
            }
        }
    }

    @Test
    void ringCompletionsReachTheHandlerNamedInTheirUserData() {
        try (Reactors reactors = Reactors.start(1)) {
            Reactor r = reactors.get(0);
            List<Long> tokens = new ArrayList<>();
            CompletableFuture<List<Long>> all = new CompletableFuture<>();
            r.run(() -> {
                int id = r.registerCompletionHandler((token, res, flags) -> {
                    tokens.add(token);
                    if (tokens.size() == 3) {
                        all.complete(List.copyOf(tokens));
                    }
                });
                for (long t = 1; t <= 3; t++) {
                    r.ring().prepNop(Reactor.userData(id, t * 1_000_000_007L));
                }
            }).join();
            assertThat(all.join()).containsExactly(1_000_000_007L, 2_000_000_014L, 3_000_000_021L);
        }
    }

    @Test
    void confinedCallsFromAnotherThreadAreRefused() {
        try (Reactors reactors = Reactors.start(1)) {
            assertThatThrownBy(() -> reactors.get(0).addPoller(() -> 0))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("reactor-confined");
        }
    }

    @Test
    void closedReactorRefusesWork() {
        Reactors reactors = Reactors.start(1);
        Reactor r = reactors.get(0);
        reactors.close();
        assertThatThrownBy(() -> r.submit(() -> 1).join()).hasCauseInstanceOf(RejectedExecutionException.class);
    }

    @Test
    void unavailableCoreIsAClearError() {
        int absent = Cpu.allowedCpus().getLast() + 1;
        assertThatThrownBy(() -> Reactors.start(List.of(absent)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("core " + absent);
    }

    @Test
    void startingAndStoppingManyTimesLeaksNoThreadsOrFds() throws Exception {
        // Warm up class loading and lazily opened JDK fds first.
        try (Reactors reactors = Reactors.start(2)) {
            reactors.get(0).submit(() -> 1).join();
        }
        long fdsBefore = openFds();
        long mappingsBefore = ringMappings();
        for (int i = 0; i < 40; i++) {
            try (Reactors reactors = Reactors.start(2)) {
                for (Reactor r : reactors.all()) {
                    assertThat(r.submit(() -> 1).join()).isEqualTo(1);
                }
            }
        }
        assertThat(openFds()).isEqualTo(fdsBefore);
        assertThat(ringMappings()).as("io_uring mappings left").isEqualTo(mappingsBefore);
        assertThat(Thread.getAllStackTraces().keySet())
                .noneMatch(t -> t.getName().startsWith("reactor-") && t.isAlive());
    }

    static long openFds() throws IOException {
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }

    /** Memory mappings of io_uring rings in this process (each reactor maps its SQ/CQ and SQEs). */
    static long ringMappings() throws IOException {
        return Files.readAllLines(Path.of("/proc/self/maps")).stream().filter(l -> l.contains("io_uring")).count();
    }

    static void awaitParked(Reactor r) throws InterruptedException {
        long parks = r.parks();
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (r.parks() == parks && System.nanoTime() < until) {
            java.util.concurrent.locks.LockSupport.parkNanos(1_000_000L);
        }
        assertThat(r.parks()).as("reactor parked").isGreaterThan(parks);
    }
}
