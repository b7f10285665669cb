package io.panastor.engine.rebuild;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * An engine's rebuild jobs: at most {@link #maxConcurrent} copy at once, the others wait in
 * order of submission (QUEUED). A job that ends goes into its nexus's history, the last
 * {@link #HISTORY_PER_NEXUS}, kept by the nexus's child-health key in a
 * {@link RebuildHistoryStore} so a nexus made again after a restart has it; and the next
 * queued job starts.
 *
 * <p>Thread-safety: any thread.
 */
public final class Rebuilds implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Rebuilds.class.getName());
    /** Jobs copying at once on an engine unless told otherwise. */
    public static final int DEFAULT_MAX_CONCURRENT = 4;
    /** Finished jobs kept per nexus. */
    public static final int HISTORY_PER_NEXUS = 32;

    private int maxConcurrent = DEFAULT_MAX_CONCURRENT;
    private final List<RebuildJob> running = new ArrayList<>();
    private final Deque<RebuildJob> queued = new ArrayDeque<>();
    private final Map<RebuildJob, String> keys = new HashMap<>();
    /** By history key, oldest first; loaded from the store when first needed. */
    private final Map<String, Deque<RebuildStats>> history = new LinkedHashMap<>();
    private volatile RebuildHistoryStore store = RebuildHistoryStore.inMemory();
    private final ExecutorService writer = Executors.newSingleThreadExecutor(Thread.ofVirtual()
            .name("rebuild-history").factory());
    private final LongAdder bytes = new LongAdder();
    private final AtomicLong completed = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong stopped = new AtomicLong();

    public Rebuilds() {
    }

    /** Where histories are kept from now on (the engine's state directory); in memory until set. */
    public synchronized void historyStore(RebuildHistoryStore store) {
        this.store = store;
        history.clear();
    }

    /** How many jobs copy at once (at least 1); more queue. Raising it starts queued jobs. */
    public void maxConcurrent(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("at least one rebuild must be able to run, got " + n);
        }
        synchronized (this) {
            maxConcurrent = n;
        }
        startQueued();
    }

    public synchronized int maxConcurrent() {
        return maxConcurrent;
    }

    /** Runs {@code job} now if a slot is free, else queues it; its history goes under {@code historyKey}. */
    public void submit(RebuildJob job, String historyKey) {
        job.onBytesDone(bytes::add);
        job.onEnd(stats -> ended(job, stats));
        synchronized (this) {
            keys.put(job, historyKey);
            queued.add(job);
        }
        startQueued();
    }

    private void startQueued() {
        List<RebuildJob> start = new ArrayList<>();
        synchronized (this) {
            while (running.size() < maxConcurrent && !queued.isEmpty()) {
                RebuildJob j = queued.poll();
                running.add(j);
                start.add(j);
            }
        }
        for (RebuildJob j : start) {
            j.start();
        }
    }

    private void ended(RebuildJob job, RebuildStats stats) {
        String key;
        List<RebuildStats> snapshot;
        RebuildHistoryStore to;
        synchronized (this) {
            running.remove(job);
            queued.remove(job);
            key = keys.remove(job);
            switch (stats.state()) {
                case COMPLETED -> completed.incrementAndGet();
                case FAILED -> failed.incrementAndGet();
                default -> stopped.incrementAndGet();
            }
            Deque<RebuildStats> h = historyOf(key);
            h.addLast(stats);
            while (h.size() > HISTORY_PER_NEXUS) {
                h.removeFirst();
            }
            snapshot = List.copyOf(h);
            to = store;
            // With the record in the history: whoever asks for the child's last rebuild finds one or the other.
            try {
                job.release();
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "rebuild of {0}: its end not told to its nexus: {1}",
                        job.childUri(), e.toString());
            }
        }
        try {
            writer.execute(() -> {
                try {
                    to.save(key, snapshot);
                } catch (IOException | RuntimeException e) {
                    LOG.log(System.Logger.Level.WARNING, "rebuild history of {0} not saved: {1}", key, e.toString());
                } finally {
                    job.complete(stats);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            LOG.log(System.Logger.Level.WARNING, "rebuild history of {0} not saved: the engine is stopping", key);
            job.complete(stats);
        }
        startQueued();
    }

    private Deque<RebuildStats> historyOf(String key) {
        Deque<RebuildStats> h = history.get(key);
        if (h == null) {
            h = new ArrayDeque<>();
            try {
                h.addAll(store.load(key));
            } catch (IOException | RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "rebuild history of {0} not read: {1}", key, e.toString());
            }
            history.put(key, h);
        }
        return h;
    }

    /**
     * The end of a child's rebuild: {@code current} (its job now, read under this object's lock,
     * which a job's end holds too) once it has ended and its history is saved; with no job now,
     * the child's last record under {@code historyKey} once the history writes asked for so far
     * are done; null when it has none.
     */
    public synchronized CompletableFuture<RebuildStats> endOf(Supplier<RebuildJob> current, String historyKey,
                                                             String childUri) {
        RebuildJob j = current.get();
        if (j != null) {
            return j.finished();
        }
        RebuildStats last = null;
        for (RebuildStats r : historyOf(historyKey)) {
            if (r.childUri().equals(childUri)) {
                last = r;
            }
        }
        if (last == null) {
            return null;
        }
        RebuildStats found = last;
        try {
            return CompletableFuture.supplyAsync(() -> found, writer);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            return CompletableFuture.completedFuture(found);
        }
    }

    /** The finished jobs of the nexus whose child health is kept under {@code historyKey}, oldest first. */
    public synchronized List<RebuildStats> history(String historyKey) {
        return List.copyOf(historyOf(historyKey));
    }

    /** Every job not yet finished: running, paused, then queued. */
    public synchronized List<RebuildJob> jobs() {
        List<RebuildJob> all = new ArrayList<>(running);
        all.addAll(queued);
        return all;
    }

    public RebuildCounters counters() {
        return new RebuildCounters(bytes.sum(), completed.get(), failed.get(), stopped.get());
    }

    /** Waits for the history writes asked for so far (the engine is stopping). */
    @Override
    public void close() {
        writer.shutdown();
        try {
            writer.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
