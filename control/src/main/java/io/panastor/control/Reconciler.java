package io.panastor.control;

import java.time.Duration;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The reconcile loop: on its own thread, at each period and whenever an event arrives (a
 * restarted engine registered), it runs its steps — resync the nodes that came back, drive
 * pools toward their spec, finish the operations the store holds as under way, heal (republish
 * a volume whose nexus node is lost, replace a replica out for longer than the wait window,
 * collect orphans), and keep the observed status of pools and volumes in their records. A change
 * someone else made to the store (a DiskPool applied with kubectl) wakes it and is taken in first. A step is a method of the part it belongs to, so each is tested on its own.
 */
final class Reconciler implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Reconciler.class);

    private final Nodes nodes;
    private final Pools pools;
    private final Volumes volumes;
    private final Healer healer;
    private final Duration period;
    private final java.util.Set<String> pending = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** Changes someone else made to the store (a watch event), taken in order at the start of a pass. */
    private final java.util.concurrent.ConcurrentLinkedQueue<java.util.Map.Entry<String, java.util.Optional<byte[]>>>
            external = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private final LinkedBlockingQueue<Boolean> wake = new LinkedBlockingQueue<>();
    private final Thread thread;
    private volatile boolean stopped;
    /** Passes the loop ran, and the CPU time its thread spent in them: what a pass costs, read by measurements. */
    private volatile long passes;
    private volatile long passCpuNanos;

    Reconciler(Nodes nodes, Pools pools, Volumes volumes, Healer healer, Duration period) {
        this.nodes = nodes;
        this.pools = pools;
        this.volumes = volumes;
        this.healer = healer;
        this.period = period;
        this.thread = Thread.ofPlatform().daemon().name("reconcile").unstarted(this::run);
    }

    void start() {
        thread.start();
    }

    /** A node's engine restarted (or registered for the first time): compare it with the store soon. */
    void resync(String node) {
        pending.add(node);
        wake.offer(Boolean.TRUE);
    }

    /** Someone else changed a key of the store (the store's watch): acted on soon, on this loop's thread. */
    void external(String key, java.util.Optional<byte[]> value) {
        external.add(java.util.Map.entry(key, value));
        wake.offer(Boolean.TRUE);
    }

    private void takeExternal() {
        for (var e = external.poll(); e != null; e = external.poll()) {
            String key = e.getKey();
            try {
                if (key.startsWith("pools/")) {
                    pools.external(key.substring("pools/".length()), e.getValue().map(Reconciler::pool), volumes);
                } else if (key.startsWith("volumes/")) {
                    volumes.external(key.substring("volumes/".length()), e.getValue().map(Reconciler::volume));
                }
            } catch (RuntimeException ex) {
                LOG.warn("store change of {} not taken in: {}", key, ex.toString());
            }
        }
    }

    private static io.panastor.api.control.v1.PoolRecord pool(byte[] b) {
        try {
            return io.panastor.api.control.v1.PoolRecord.parseFrom(b);
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new IllegalArgumentException(e);
        }
    }

    private static io.panastor.api.control.v1.VolumeRecord volume(byte[] b) {
        try {
            return io.panastor.api.control.v1.VolumeRecord.parseFrom(b);
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new IllegalArgumentException(e);
        }
    }

    private void run() {
        while (!stopped) {
            try {
                wake.poll(period.toMillis(), TimeUnit.MILLISECONDS);
                wake.clear();
                if (stopped) {
                    return;
                }
                timedPass();
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                LOG.warn("reconcile: {}", e.toString());
            }
        }
    }

    /** A pass of the loop, its thread's CPU time counted (the gRPC calls' IO threads and GC are not in it). */
    private void timedPass() {
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        long cpu0 = mx.getCurrentThreadCpuTime();
        long t0 = System.nanoTime();
        try {
            pass();
        } finally {
            long cpu = mx.getCurrentThreadCpuTime() - cpu0;
            passCpuNanos += cpu;    // one writer: this thread
            passes++;
            LOG.debug("pass {}: {} us CPU, {} us wall", passes, cpu / 1_000, (System.nanoTime() - t0) / 1_000);
        }
    }

    /** Passes the loop has run. */
    long passes() {
        return passes;
    }

    /** CPU time the loop's thread spent in its passes, in nanoseconds. */
    long passCpuNanos() {
        return passCpuNanos;
    }

    /** One pass of every step; for tests to drive by hand too. */
    void pass() {
        takeExternal();
        for (String n : java.util.List.copyOf(pending)) {
            if (resyncNode(n)) {
                pending.remove(n);
            }
        }
        pools.reconcile();
        volumes.resumeAll();
        // One listing of each engine serves the healing and the observed status; a volume healing
        // acted on is observed in the next pass, as the listing no longer shows it.
        Snapshot snap = new Snapshot(nodes);
        java.util.Set<String> touched = healer.pass(snap);
        pools.observe();
        volumes.observe(snap, touched);
    }

    /** True once done (or moot: the node went away again, and will resync when it registers). */
    private boolean resyncNode(String node) {
        if (!nodes.online(node)) {
            return true;
        }
        try {
            pools.resync(node);
            volumes.resync(node);
            LOG.info("node {}: resynchronised with the store", node);
            return true;
        } catch (ControlException e) {
            LOG.warn("node {}: resync: {}; trying again", node, e.getMessage());
            return false;
        }
    }

    @Override
    public void close() {
        stopped = true;
        thread.interrupt();
        try {
            thread.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
