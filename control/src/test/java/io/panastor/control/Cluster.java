package io.panastor.control;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.panastor.api.cli.HostPort;
import io.panastor.api.control.v1.CreateDiskPoolRequest;
import io.panastor.api.daemon.EngineDaemon;
import io.panastor.api.grpc.DaemonFixture;
import io.panastor.api.v1.ListNexusOptions;
import io.panastor.api.v1.ListReplicaOptions;
import io.panastor.api.v1.Nexus;
import io.panastor.api.v1.NexusRpcGrpc;
import io.panastor.api.v1.Replica;
import io.panastor.api.v1.ReplicaRpcGrpc;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.panastor.control.k8s.KubernetesStore;
import io.panastor.control.k8s.MockApi;
import io.panastor.control.store.FileStore;
import io.panastor.control.store.Store;
import io.panastor.engine.Await;
import io.panastor.engine.Engine;
import io.panastor.engine.bdev.BlockPattern;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Engines on one machine (each its own ports and state dir, sharing a core) registered with one
 * control plane on a port of its own, a pool per engine on a sparse file, and an initiator
 * (a one-reactor Engine) to write and read volumes through. Closing stops all of it.
 */
final class Cluster implements AutoCloseable {
    static final long POOL_BYTES = 256L << 20;
    static final int BLOCK = 4096;

    final Path dir;
    final int cpPort;
    private final Duration replicaWait;
    final Stores stores;
    /** The control plane's --max-rebuilds from its next start on (0: no limit). */
    int maxRebuilds;
    final List<DaemonFixture> engines = new ArrayList<>();
    ControlPlane cp;
    private Engine initiator;
    private final Arena arena = Arena.ofShared();

    Cluster(Path dir, int nodes) throws Exception {
        this(dir, nodes, CrashPoints.NONE);
    }

    Cluster(Path dir, int nodes, CrashPoints crash) throws Exception {
        this(dir, nodes, crash, ControlPlane.Config.DEFAULT_REPLICA_WAIT);
    }

    /** With the replica wait window {@code replicaWait} (how long a replica may be out before it is replaced). */
    Cluster(Path dir, int nodes, CrashPoints crash, Duration replicaWait) throws Exception {
        this(dir, nodes, crash, replicaWait, Stores.FILE);
    }

    /**
     * Where the control plane keeps its state: each start of a control plane opens the store
     * again (a restarted one reads what the last left).
     */
    interface Stores extends AutoCloseable {
        Store open(Path dir) throws IOException;

        @Override
        default void close() {
        }

        Stores FILE = d -> new FileStore(d.resolve("store"));
    }

    /** The custom resources of a (mock) Kubernetes API server as the store; see {@link MockApi}. */
    static final class KubernetesStores implements Stores {
        final MockApi api = new MockApi();
        private final List<KubernetesClient> clients = new ArrayList<>();

        @Override
        public synchronized Store open(Path dir) throws IOException {
            KubernetesClient c = api.client();
            clients.add(c);
            return KubernetesStore.open(c, "panastor");
        }

        @Override
        public synchronized void close() {
            clients.forEach(KubernetesClient::close);
            api.close();
        }
    }

    Cluster(Path dir, int nodes, CrashPoints crash, Duration replicaWait, Stores stores) throws Exception {
        this.dir = dir;
        this.replicaWait = replicaWait;
        this.stores = stores;
        this.cpPort = freePort();
        try {
            cp = startControlPlane(crash);
            for (int i = 1; i <= nodes; i++) {
                addEngine(i);
            }
            awaitOnline();
            for (int i = 1; i <= nodes; i++) {
                Path disk = sparseFile(dir.resolve("disk-" + i + ".img"), POOL_BYTES);
                cp.pools.create(CreateDiskPoolRequest.newBuilder().setName("pool-" + i).setNode("node-" + i)
                        .addDisks(disk.toString()).build());
            }
        } catch (Exception | Error e) {
            close();
            throw e;
        }
    }

    /** A sparse file of {@code bytes}, for a pool's disk. */
    static Path sparseFile(Path file, long bytes) throws IOException {
        try (var f = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.WRITE)) {
            f.write(java.nio.ByteBuffer.allocate(1), bytes - 1);
        }
        return file;
    }

    static int freePort() throws IOException {
        return io.panastor.engine.FreePorts.next();
    }

    ControlPlane startControlPlane(CrashPoints crash) throws IOException {
        return ControlPlane.start(new ControlPlane.Config(stores.open(dir),
                new HostPort("127.0.0.1", cpPort), Duration.ofSeconds(15), Duration.ofMillis(200),
                Duration.ofHours(1), 250, InstantSource.system(), crash, replicaWait, maxRebuilds));
    }

    DaemonFixture addEngine(int i) throws IOException {
        Path state = dir.resolve("state-" + i);
        Files.createDirectories(state);
        DaemonFixture f = new DaemonFixture(state, "node-" + i, false, EngineDaemon.RebuildOptions.DEFAULT,
                new EngineDaemon.ControlPlaneOptions(new HostPort("127.0.0.1", cpPort), Map.of("zone", "z" + i),
                        Duration.ofSeconds(30)));
        if (engines.size() >= i) {
            engines.set(i - 1, f);
        } else {
            engines.add(f);
        }
        return f;
    }

    DaemonFixture engine(String node) {
        return engines.get(Integer.parseInt(node.substring("node-".length())) - 1);
    }

    /** Until the control plane hears every engine's heartbeat. */
    void awaitOnline() {
        for (int i = 1; i <= engines.size(); i++) {
            String n = "node-" + i;
            Await.until(n + " online", Duration.ofSeconds(60), () -> cp.nodes.online(n));
        }
    }

    /** Stops the control plane as a crash would, and starts another on the same store and port. */
    void restartControlPlane(CrashPoints crash) throws IOException {
        cp.abandon();
        cp = startControlPlane(crash);
        awaitOnline();
    }

    List<Replica> replicas(String node) {
        return ReplicaRpcGrpc.newBlockingStub(engine(node).channel).listReplicas(ListReplicaOptions.getDefaultInstance())
                .getReplicasList();
    }

    List<Nexus> nexuses(String node) {
        return NexusRpcGrpc.newBlockingStub(engine(node).channel).listNexus(ListNexusOptions.getDefaultInstance())
                .getNexusListList();
    }

    /** Every replica on every engine whose entity is {@code volume}. */
    List<Replica> replicasOf(String volume) {
        List<Replica> out = new ArrayList<>();
        for (int i = 1; i <= engines.size(); i++) {
            replicas("node-" + i).stream().filter(r -> r.getEntityId().equals(volume)).forEach(out::add);
        }
        return out;
    }

    /** Every nexus on every engine of UUID {@code volume}. */
    List<Nexus> nexusesOf(String volume) {
        List<Nexus> out = new ArrayList<>();
        for (int i = 1; i <= engines.size(); i++) {
            nexuses("node-" + i).stream().filter(n -> n.getUuid().equals(volume)).forEach(out::add);
        }
        return out;
    }

    Engine initiator() {
        if (initiator == null) {
            initiator = Engine.start(io.panastor.reactor.Reactors.builder().count(1).pin(false));
        }
        return initiator;
    }

    /** Connects the initiator to {@code uri}; the bdev's name. */
    String connect(String uri) {
        return Engine.await(initiator().createBdev(uri)).name();
    }

    void disconnect(String bdev) {
        Engine.await(initiator().destroyBdev(bdev));
    }

    /** Checksummed blocks of the bdev's block size covering 4 KiB units {@code [lba, lba + blocks)}. */
    private MemorySegment pattern(int bs, long lba, int blocks, long seed) {
        int per = BLOCK / bs;
        MemorySegment s = arena.allocate((long) blocks * BLOCK, BLOCK);
        new BlockPattern().fill(s, 0, bs, lba * per, blocks * per, seed);
        return s;
    }

    private int blockSize(String bdev) {
        return initiator().bdevs().get(bdev).blockSize();
    }

    /** Writes {@code blocks} 4 KiB units at unit {@code lba}, patterned with {@code seed}, and flushes. */
    void write(String bdev, long lba, int blocks, long seed) {
        int bs = blockSize(bdev);
        int per = BLOCK / bs;
        var done = Engine.await(initiator().write(bdev, lba * per, blocks * per, pattern(bs, lba, blocks, seed)));
        assertThat(done.ok()).as("write at %d: %s", lba, done).isTrue();
        assertThat(Engine.await(initiator().flush(bdev)).ok()).isTrue();
    }

    /** Whether {@code blocks} 4 KiB units at {@code lba} read back as the pattern written with {@code seed}. */
    boolean readsBack(String bdev, long lba, int blocks, long seed) {
        int bs = blockSize(bdev);
        int per = BLOCK / bs;
        MemorySegment got = arena.allocate((long) blocks * BLOCK, BLOCK);
        var done = Engine.await(initiator().read(bdev, lba * per, blocks * per, got));
        assertThat(done.ok()).as("read at %d: %s", lba, done).isTrue();
        return got.mismatch(pattern(bs, lba, blocks, seed)) == -1;
    }

    /** The bdev's size in bytes after asking its controller again (a volume that grew). */
    long rescannedBytes(String bdev) {
        var b = initiator().bdevs().get(bdev);
        return b.rescan() * b.blockSize();
    }

    ManagedChannel controlChannel() {
        return NettyChannelBuilder.forAddress("127.0.0.1", cpPort).usePlaintext().build();
    }

    @Override
    public void close() throws Exception {
        Exception first = null;
        if (initiator != null) {
            initiator.close();
        }
        // Engines first: their nexuses persist a clean shutdown through the control plane as they stop.
        for (DaemonFixture f : engines) {
            try {
                f.close();
            } catch (Exception e) {
                first = first == null ? e : first;
            }
        }
        if (cp != null) {
            cp.close();
        }
        stores.close();
        arena.close();
        if (first != null) {
            throw first;
        }
    }
}
