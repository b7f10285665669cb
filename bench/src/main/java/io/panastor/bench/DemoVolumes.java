package io.panastor.bench;

import io.panastor.engine.Engine;
import io.panastor.engine.lvs.PoolInfo;
import io.panastor.engine.lvs.PoolSpec;
import io.panastor.engine.lvs.ReplicaInfo;
import io.panastor.engine.nexus.NexusSpec;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The demo's volumes on an {@link Engine} of their own: a pool on each of two disks, a repl=1
 * nexus over a replica in the first and a repl=2 nexus over a replica in each, both published
 * over NVMe/TCP on 127.0.0.1 as Mayastor names volumes ({@code nqn.2019-05.io.openebs:<uuid>}).
 * With a {@link Delay} each child is a {@code delay} bdev over its replica, so the two children
 * on one disk behave as two devices would. {@link #close} takes everything down, in the reverse
 * order, whatever was made; it is idempotent, so a shutdown hook and a finally block can both
 * call it. Control path; {@link #close} from any thread.
 */
final class DemoVolumes implements AutoCloseable {
    /** Mayastor's prefix for a volume's NQN. */
    static final String NQN_PREFIX = "nqn.2019-05.io.openebs:";

    /** What each {@code delay} child adds: latency per IO and a cap on IOs in service per channel. */
    record Delay(int readAvgUs, int writeAvgUs, int maxInflight) {
        String uri(String name, String base) {
            return "delay:///" + name + "?base=" + base + "&read_avg_us=" + readAvgUs + "&read_p99_us=" + readAvgUs
                    + "&write_avg_us=" + writeAvgUs + "&write_p99_us=" + writeAvgUs + "&max_inflight=" + maxInflight;
        }

        /** The most IOPS one child serves on one channel: {@code maxInflight} IOs each held {@code avg} µs. */
        long capIops(int avgUs) {
            return avgUs > 0 ? maxInflight * 1_000_000L / avgUs : Long.MAX_VALUE;
        }
    }

    /** One published volume. */
    record Volume(String label, String name, UUID uuid, int port, List<String> children) {
        String nqn() {
            return NQN_PREFIX + uuid;
        }

        String uri() {
            return "nvmf://127.0.0.1:" + port + "/" + nqn();
        }
    }

    private final Engine engine;
    private final List<String> pools = new ArrayList<>();
    private final List<String> replicas = new ArrayList<>();
    private final List<String> nexuses = new ArrayList<>();
    private final List<Volume> volumes = new ArrayList<>();
    private boolean closed;

    private DemoVolumes(Engine engine) {
        this.engine = engine;
    }

    /** An engine with a reactor on {@code cpu}, and nothing on it yet. */
    static DemoVolumes start(int cpu) {
        return new DemoVolumes(Engine.start(List.of(cpu)));
    }

    /**
     * Whether the pool create would take {@code disk} as the user asked ({@code overwrite} or not):
     * makes the pool and destroys it again. Throws the engine's refusal.
     */
    void checkDisk(String name, String disk, boolean overwrite) {
        Engine.await(engine.createPool(new PoolSpec(name, null, disk, 0, overwrite)));
        Engine.await(engine.destroyPool(name, true));
    }

    /**
     * Makes pools on {@code diskA} and {@code diskB} (written over: the demo has just measured
     * them), a replica of the largest size two of which fit in a pool for each volume's child,
     * both nexuses, and publishes them on one listener. Returns the repl=1 and repl=2 volumes.
     */
    synchronized List<Volume> create(String diskA, String diskB, Delay delay) {
        PoolInfo a = pool("demo-a", diskA);
        PoolInfo b = pool("demo-b", diskB);
        long cluster = a.clusterSize();
        long clusters = Math.min(a.capacityBytes() / 2, b.capacityBytes()) / cluster;
        if (clusters < 1) {
            throw new IllegalArgumentException("the pools are too small for a replica (" + Sizes.format(a.capacityBytes())
                    + " and " + Sizes.format(b.capacityBytes()) + ")");
        }
        long size = clusters * cluster;
        InetSocketAddress at = Engine.await(engine.addListener("127.0.0.1", 0));
        String r1 = replica("demo-a", "demo-r1", size);
        String r2a = replica("demo-a", "demo-r2a", size);
        String r2b = replica("demo-b", "demo-r2b", size);
        volumes.add(nexus("repl=1", "demo-repl1", size, at.getPort(), List.of(child(r1, delay))));
        volumes.add(nexus("repl=2", "demo-repl2", size, at.getPort(), List.of(child(r2a, delay), child(r2b, delay))));
        return List.copyOf(volumes);
    }

    private PoolInfo pool(String name, String disk) {
        PoolInfo p = Engine.await(engine.createPool(new PoolSpec(name, null, disk, 0, true)));
        pools.add(name);
        return p;
    }

    /** Makes a thick replica; returns its bdev's name (its UUID). */
    private String replica(String pool, String name, long size) {
        ReplicaInfo r = Engine.await(engine.createReplica(pool, name, UUID.randomUUID(), size, false, null));
        replicas.add(name);
        return r.bdevName();
    }

    private static String child(String bdev, Delay delay) {
        return delay == null ? "bdev:///" + bdev : delay.uri("delay-" + bdev, bdev);
    }

    private Volume nexus(String label, String name, long size, int port, List<String> children) {
        UUID uuid = UUID.randomUUID();
        Engine.await(engine.createNexus(new NexusSpec(name, uuid, size, children, null)));
        nexuses.add(name);
        Volume v = new Volume(label, name, uuid, port, children);
        Engine.await(engine.publishNexus(name, v.nqn(), List.of()));
        return v;
    }

    /** Destroys the nexuses, replicas and pools made, then stops the engine; notes what failed on {@code progress}. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (String n : nexuses.reversed()) {
            quietly(() -> Engine.await(engine.destroyNexus(n)), "nexus " + n);
        }
        for (Volume v : volumes) {
            for (String c : v.children()) {
                if (c.startsWith("delay:")) {
                    String bdev = c.substring("delay:///".length(), c.indexOf('?'));
                    if (engine.bdevs().lookup(bdev).isPresent()) {
                        quietly(() -> Engine.await(engine.destroyBdev(bdev)), "delay bdev " + bdev);
                    }
                }
            }
        }
        for (String r : replicas.reversed()) {
            quietly(() -> Engine.await(engine.destroyReplica(r)), "replica " + r);
        }
        for (String p : pools.reversed()) {
            quietly(() -> Engine.await(engine.destroyPool(p, true)), "pool " + p);
        }
        engine.close();
    }

    private static void quietly(Runnable step, String what) {
        try {
            step.run();
        } catch (RuntimeException e) {
            System.err.println("demo: could not destroy " + what + ": " + TargetBench.message(e));
        }
    }
}
