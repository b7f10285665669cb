package io.panastor.engine;

import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BdevClaim;
import io.panastor.engine.bdev.BdevIo;
import io.panastor.engine.bdev.IoChannel;
import io.panastor.engine.bdev.IoCompletion;
import io.panastor.engine.bdev.IoStatus;
import io.panastor.engine.bdev.Bdevs;
import io.panastor.engine.error.EngineException;
import io.panastor.engine.lvs.PoolInfo;
import io.panastor.engine.lvs.PoolSpec;
import io.panastor.engine.lvs.Pools;
import io.panastor.engine.lvs.ReplicaInfo;
import io.panastor.engine.nvmf.host.Discovery;
import io.panastor.engine.nvmf.host.NvmfBdev;
import io.panastor.engine.nvmf.tgt.Namespace;
import io.panastor.engine.nvmf.tgt.NvmfTarget;
import io.panastor.engine.nvmf.tgt.Subsystem;
import io.panastor.engine.stats.DiscoveryEntry;
import io.panastor.engine.stats.IoCounters;
import io.panastor.engine.stats.IoStats;
import io.panastor.engine.stats.NvmeControllerInfo;
import io.panastor.engine.stats.ReactorInfo;
import io.panastor.engine.stats.TargetConnectionInfo;
import io.panastor.reactor.Reactor;
import io.panastor.reactor.Reactors;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import io.panastor.engine.nexus.ChildAction;
import io.panastor.engine.nexus.FileHealthStore;
import io.panastor.engine.nexus.HealthRecord;
import io.panastor.engine.nexus.HealthStore;
import io.panastor.engine.nexus.NexusInfo;
import io.panastor.engine.nexus.NexusSpec;
import io.panastor.engine.nexus.Nexuses;
import io.panastor.engine.rebuild.RebuildCounters;
import io.panastor.engine.rebuild.RebuildHistoryStore;
import io.panastor.engine.rebuild.RebuildJob;
import io.panastor.engine.rebuild.RebuildStats;
import io.panastor.engine.rebuild.Rebuilds;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The data plane of one node as one object: its reactors, its bdev registry and its NVMe/TCP
 * target (and, as they come, pools and nexuses), started and stopped as a unit. This is what
 * {@code serve}, the demo, the benchmarks and a management API stand on.
 *
 * <p>Its control path is asynchronous: every operation returns a {@link CompletableFuture},
 * and every failure is an {@link EngineException} whose {@link EngineException.Reason} a
 * management API maps one-to-one (NOT_FOUND, ALREADY_EXISTS, INVALID_ARGUMENT, ...), never a
 * bare {@code IllegalArgumentException} whose message would have to be matched. The parts
 * stay reachable ({@link #reactors()}, {@link #bdevs()}, {@link #target()}) for what the
 * facade does not cover yet.
 *
 * <p>Thread-safety: every method from any thread.
 */
public final class Engine implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Engine.class.getName());

    private final Reactors reactors;
    private final Bdevs bdevs;
    private final NvmfTarget target;
    private final Pools pools;
    private final Nexuses nexuses;
    private final Rebuilds rebuilds;
    private volatile boolean closed;

    private Engine(Reactors reactors) {
        this.reactors = reactors;
        this.bdevs = new Bdevs(reactors);
        this.target = new NvmfTarget(reactors, bdevs);
        this.pools = new Pools(reactors, bdevs, this::sharedAs);
        this.rebuilds = new Rebuilds();
        this.nexuses = new Nexuses(bdevs, target, rebuilds);
    }

    /** Starts an engine on reactors made by {@code reactors} (a {@link Reactors#builder()}). */
    public static Engine start(Reactors.Builder reactors) {
        return new Engine(reactors.start());
    }

    /** Starts an engine with a reactor on each of {@code cpus}. */
    public static Engine start(List<Integer> cpus) {
        return start(Reactors.builder().cpus(cpus));
    }

    public Reactors reactors() {
        return reactors;
    }

    public Bdevs bdevs() {
        return bdevs;
    }

    public NvmfTarget target() {
        return target;
    }

    // ---------------------------------------------------------------- bdevs

    /** Creates a bdev from its URI ({@code malloc:///m0?size_mb=64}, {@code uring:///path}, {@code nvmf://...}). */
    public CompletableFuture<Bdev> createBdev(String uri) {
        if (uri == null || uri.isBlank()) {
            return failed(EngineException.Reason.INVALID_ARGUMENT, "a bdev URI is required");
        }
        return guard(() -> bdevs.createAsync(uri));
    }

    /** Destroys the bdev named {@code name} (by name, alias or UUID). */
    public CompletableFuture<Void> destroyBdev(String name) {
        return guard(() -> {
            for (Subsystem s : target.subsystems()) {
                for (Namespace ns : s.namespaces()) {
                    Bdev b = ns.bdev();
                    if (b.name().equals(name) || b.uuid().toString().equals(name)) {
                        throw new EngineException(EngineException.Reason.BUSY, "bdev " + b.name()
                                + " is namespace " + ns.nsid() + " of " + s.nqn() + ": remove the namespace first");
                    }
                }
            }
            return bdevs.destroy(name);
        });
    }

    /**
     * Claims bdev {@code name} exclusively for {@code claimant} (a pool, a nexus): a second
     * claim, or destroying it, is refused as BUSY naming the claimant until the claim is closed.
     */
    public CompletableFuture<BdevClaim> claimBdev(String name, String claimant) {
        return call(() -> bdevs.claim(name, claimant));
    }

    /**
     * {@link #claimBdev(String, String)} with a hot-remove listener: when the bdev's device is
     * gone for good the claim is released and {@code onRemoved} runs once, on a thread of its
     * own (never a reactor), before the bdev is destroyed ({@link Bdevs#claim(String, String,
     * java.util.function.Consumer)}).
     */
    public CompletableFuture<BdevClaim> claimBdev(String name, String claimant,
                                                  java.util.function.Consumer<BdevClaim> onRemoved) {
        return call(() -> bdevs.claim(name, claimant, onRemoved));
    }

    /** How one IO run from the control path ended: an {@link IoStatus} and, for IO errors, an errno. */
    public record IoResult(int status, int errno) {
        public boolean ok() {
            return status == IoStatus.SUCCESS;
        }

        @Override
        public String toString() {
            return IoStatus.name(status) + (errno != 0 ? " (errno " + errno + ")" : "");
        }
    }

    /**
     * Reads {@code blocks} blocks from {@code lba} of bdev {@code name} into {@code into}
     * (native memory, aligned as the bdev needs), from any thread: the IO runs on a reactor
     * and the future completes with its status. Fails (NOT_FOUND, UNAVAILABLE) only when it
     * cannot be started; an IO that ran and failed completes normally with its status.
     */
    public CompletableFuture<IoResult> read(String name, long lba, long blocks, MemorySegment into) {
        return io(name, (io, done) -> io.prepareRead(lba, blocks, into, done));
    }

    /** Writes {@code blocks} blocks at {@code lba} of bdev {@code name} from {@code from}; see {@link #read}. */
    public CompletableFuture<IoResult> write(String name, long lba, long blocks, MemorySegment from) {
        return io(name, (io, done) -> io.prepareWrite(lba, blocks, from, done));
    }

    /** Flushes bdev {@code name}'s volatile cache, if it has one; see {@link #read}. */
    public CompletableFuture<IoResult> flush(String name) {
        return guard(() -> {
            Bdev b = bdevs.get(name);
            return io(b, (io, done) -> io.prepareFlush(0, b.blockCount(), done));
        });
    }

    private interface IoOp {
        BdevIo prepare(BdevIo io, IoCompletion done);
    }

    private CompletableFuture<IoResult> io(String name, IoOp op) {
        return guard(() -> io(bdevs.get(name), op));
    }

    private CompletableFuture<IoResult> io(Bdev b, IoOp op) {
        Reactor r = reactors.get(0);
        CompletableFuture<IoResult> result = new CompletableFuture<>();
        try {
            r.execute(() -> {
                try {
                    IoChannel channel = b.channel(r);
                    BdevIo io = channel.allocIo();
                    if (io == null) {
                        result.completeExceptionally(new EngineException(EngineException.Reason.BUSY, "every IO "
                                + "descriptor of " + b.name() + " on reactor " + r.id() + " is in use: try again"));
                        return;
                    }
                    channel.submit(op.prepare(io, done -> {
                        result.complete(new IoResult(done.status(), done.errno()));
                        done.release();
                    }));
                } catch (RuntimeException e) {
                    result.completeExceptionally(EngineException.of(e));
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            result.completeExceptionally(new EngineException(EngineException.Reason.UNAVAILABLE,
                    "the engine's reactors are stopped"));
        }
        return result;
    }

    /** The bdevs there are now. */
    public List<Bdev> listBdevs() {
        return bdevs.list();
    }

    // ---------------------------------------------------------------- NVMe/TCP target

    public CompletableFuture<Subsystem> createSubsystem(String nqn, String serial, String model, boolean allowAnyHost,
                                                        Collection<String> hosts) {
        return call(() -> target.createSubsystem(nqn, serial, model, allowAnyHost, hosts));
    }

    public CompletableFuture<Void> destroySubsystem(String nqn) {
        return call(() -> {
            target.destroySubsystem(nqn);
            return null;
        });
    }

    /** Exports bdev {@code bdev} as namespace {@code nsid} of {@code nqn} (0: the lowest free NSID). */
    public CompletableFuture<Namespace> addNamespace(String nqn, String bdev, int nsid) {
        return call(() -> target.addNamespace(nqn, bdev, nsid));
    }

    public CompletableFuture<Void> removeNamespace(String nqn, int nsid) {
        return call(() -> {
            target.removeNamespace(nqn, nsid);
            return null;
        });
    }

    /** Listens on {@code host:port} (0: any free port); completes with the bound address. */
    public CompletableFuture<InetSocketAddress> addListener(String host, int port) {
        if (port < 0 || port > 65535) {
            return failed(EngineException.Reason.INVALID_ARGUMENT, "port " + port + " is not 0 to 65535");
        }
        return call(() -> target.addListener(host, port));
    }

    public CompletableFuture<Void> removeListener(InetSocketAddress address) {
        return call(() -> {
            target.removeListener(address);
            return null;
        });
    }

    // ---------------------------------------------------------------- nexuses

    /** Where nexuses persist their child health (a {@link FileHealthStore} in the state directory); in memory by default. */
    public void nexusHealthStore(HealthStore store) {
        nexuses.healthStore(store);
    }

    /** The child health nexus key {@code key} last persisted, if any (what an owner reads after a crash). */
    public Optional<HealthRecord> nexusHealth(String key) {
        try {
            return nexuses.healthStore().load(key);
        } catch (java.io.IOException e) {
            throw new EngineException(EngineException.Reason.IO_ERROR, "reading the child health of " + key + ": "
                    + e.getMessage());
        }
    }

    /**
     * Creates a nexus over its children ({@link NexusSpec}); idempotent for an identical spec.
     * See {@link Nexuses#create}.
     */
    public CompletableFuture<NexusInfo> createNexus(NexusSpec spec) {
        return guard(() -> nexuses.create(spec));
    }

    /** Unpublishes, shuts down and destroys nexus {@code key} (name or UUID); its child health stays. */
    public CompletableFuture<Void> destroyNexus(String key) {
        return guard(() -> nexuses.destroy(key));
    }

    /** Unpublishes nexus {@code key} and ends its IO; it can then only be destroyed. */
    public CompletableFuture<NexusInfo> shutdownNexus(String key) {
        return guard(() -> nexuses.shutdown(key));
    }

    /** Grows nexus {@code key} after its children grew; connected hosts are told. */
    public CompletableFuture<NexusInfo> resizeNexus(String key, long sizeBytes) {
        return guard(() -> nexuses.resize(key, sizeBytes));
    }

    /** Publishes nexus {@code key} as subsystem {@code nqn} to {@code hosts} (empty: any host). */
    public CompletableFuture<NexusInfo> publishNexus(String key, String nqn, List<String> hosts) {
        return guard(() -> nexuses.publish(key, nqn, hosts));
    }

    public CompletableFuture<NexusInfo> unpublishNexus(String key) {
        return guard(() -> nexuses.unpublish(key));
    }

    /** Adds a child; it takes writes at once and reads once it is up to date. */
    public CompletableFuture<NexusInfo> addNexusChild(String key, String uri, boolean noRebuild) {
        return guard(() -> nexuses.addChild(key, uri, noRebuild));
    }

    public CompletableFuture<NexusInfo> removeNexusChild(String key, String uri) {
        return guard(() -> nexuses.removeChild(key, uri));
    }

    /** Faults a child on the client's request (not the last healthy one). */
    public CompletableFuture<NexusInfo> faultNexusChild(String key, String uri) {
        return guard(() -> nexuses.faultChild(key, uri));
    }

    /** Takes a child online, offline, or offline for good. */
    public CompletableFuture<NexusInfo> nexusChildOperation(String key, String uri, ChildAction action) {
        return guard(() -> nexuses.childOperation(key, uri, action));
    }

    public List<NexusInfo> listNexuses() {
        return nexuses.list();
    }

    /** Nexus {@code key} by name or UUID. */
    public Optional<NexusInfo> nexus(String key) {
        return nexuses.get(key);
    }

    // ---------------------------------------------------------------- rebuilds

    /** Starts a rebuild of a child that is out of sync with none (see {@link Nexuses#startRebuild}). */
    public CompletableFuture<NexusInfo> startRebuild(String nexus, String childUri) {
        return guard(() -> nexuses.startRebuild(nexus, childUri));
    }

    /** Stops a child's rebuild; the child stays out of sync. NOT_FOUND when it has none. */
    public CompletableFuture<NexusInfo> stopRebuild(String nexus, String childUri) {
        return guard(() -> nexuses.stopRebuild(nexus, childUri));
    }

    /** Pauses a child's rebuild; answers once its segments in flight have ended. */
    public CompletableFuture<NexusInfo> pauseRebuild(String nexus, String childUri) {
        return guard(() -> nexuses.pauseRebuild(nexus, childUri));
    }

    public CompletableFuture<NexusInfo> resumeRebuild(String nexus, String childUri) {
        return guard(() -> nexuses.resumeRebuild(nexus, childUri));
    }

    /** A child's rebuild job now (queued, running or paused); NOT_FOUND for a nexus, child or job not there. */
    public RebuildStats rebuildStats(String nexus, String childUri) {
        return nexuses.rebuildStats(nexus, childUri);
    }

    /**
     * The end of a child's rebuild: its job's final stats once it has ended and its history is
     * saved; with no job now, its last finished one. NOT_FOUND when it has had none.
     */
    public CompletableFuture<RebuildStats> rebuildEnd(String nexus, String childUri) {
        return guard(() -> nexuses.rebuildEnd(nexus, childUri));
    }

    /** A nexus's finished rebuilds, oldest first; kept across restarts by its child-health key. */
    public List<RebuildStats> rebuildHistory(String nexus) {
        return nexuses.rebuildHistory(nexus);
    }

    /** Every rebuild job of the engine not yet finished. */
    public List<RebuildStats> rebuildJobs() {
        return rebuilds.jobs().stream().map(RebuildJob::stats).toList();
    }

    /** Bytes rebuilt and jobs finished since the engine started (its metrics). */
    public RebuildCounters rebuildCounters() {
        return rebuilds.counters();
    }

    /** Where rebuild histories are kept (a file store in the state directory); in memory by default. */
    public void rebuildHistoryStore(RebuildHistoryStore store) {
        rebuilds.historyStore(store);
    }

    /** How many rebuilds copy at once on this engine; the others queue. */
    public void maxConcurrentRebuilds(int n) {
        rebuilds.maxConcurrent(n);
    }

    /** How long a child that left may come back for a partial rebuild (10 minutes by default). */
    public void partialRebuildWindow(java.time.Duration window) {
        nexuses.partialRebuildWindow(window);
    }

    /** The clock dirty logs and rebuild times go by (a test's own). */
    public void rebuildClock(java.time.Clock clock) {
        nexuses.clock(clock);
    }

    /** Rebuild segment size (a power of two; bigger for nexuses too big for it) and segments in flight, for nexuses made from now on. */
    public void rebuildSegments(long bytes, int tasks) {
        nexuses.rebuildSegments(bytes, tasks);
    }

    // ---------------------------------------------------------------- pools and replicas

    /**
     * Creates a pool on a disk ({@link PoolSpec}): claims the disk's bdev (creating it from its
     * URI if need be), writes a fresh volume store and opens it. Idempotent for an identical
     * pool already open here. Refused: a name, UUID or disk in use (ALREADY_EXISTS, BUSY); a
     * disk that holds a pool already (ALREADY_EXISTS: import it) or other data (INVALID_ARGUMENT
     * unless {@code overwrite}); a bad cluster size or a disk too small (INVALID_ARGUMENT).
     */
    public CompletableFuture<PoolInfo> createPool(PoolSpec spec) {
        return guard(() -> pools.create(spec));
    }

    /**
     * Opens the pool on {@code disk} as it was last written (after a restart, a crash, an
     * export), with its replicas. {@code name} and {@code uuid}, when not null, must match the
     * superblock's (else INVALID_ARGUMENT). A disk with no valid pool: NOT_FOUND; one whose
     * metadata is corrupt: IO_ERROR naming the block. Idempotent for the same pool open here.
     */
    public CompletableFuture<PoolInfo> importPool(String name, UUID uuid, String disk) {
        return guard(() -> pools.importPool(name, uuid, disk));
    }

    /** Closes pool {@code name} (by name or UUID) without destroying it; BUSY while a replica is shared or claimed. */
    public CompletableFuture<Void> exportPool(String name) {
        return guard(() -> pools.export(name));
    }

    /**
     * Destroys pool {@code name}: wipes its superblock and releases its disk. Refused (BUSY)
     * while it holds replicas unless {@code force}, and while any replica is shared or claimed.
     */
    public CompletableFuture<Void> destroyPool(String name, boolean force) {
        return guard(() -> pools.destroy(name, force));
    }

    /** Takes the space a disk gained since the pool was made or last grown; the pool as it is then. */
    public CompletableFuture<PoolInfo> growPool(String name) {
        return guard(() -> pools.grow(name));
    }

    /** The pools open on this engine. */
    public List<PoolInfo> listPools() {
        return pools.list();
    }

    /** Pool {@code name} (by name or UUID). */
    public Optional<PoolInfo> pool(String name) {
        return pools.info(name);
    }

    /**
     * Creates replica {@code name} in {@code pool} and registers its bdev (named by its UUID,
     * found by its name too). Idempotent for an identical replica; a different one under the
     * name or UUID is ALREADY_EXISTS; a thick one the pool cannot hold is NO_SPACE.
     *
     * @param uuid     null for a random one
     * @param entityId the owner's id, or null
     */
    public CompletableFuture<ReplicaInfo> createReplica(String pool, String name, UUID uuid, long sizeBytes,
                                                        boolean thin, String entityId) {
        return guard(() -> pools.createReplica(pool, name, uuid, sizeBytes, thin, entityId));
    }

    /** Destroys replica {@code key} (name or UUID): its clusters go back to its pool. BUSY while shared or claimed. */
    public CompletableFuture<Void> destroyReplica(String key) {
        return guard(() -> pools.destroyReplica(key));
    }

    /** Grows replica {@code key} to {@code sizeBytes}; a smaller size is refused (INVALID_ARGUMENT). */
    public CompletableFuture<ReplicaInfo> resizeReplica(String key, long sizeBytes) {
        return guard(() -> pools.resizeReplica(key, sizeBytes));
    }

    /**
     * Sets (a null value: removes) small persistent properties of replica {@code key}, written
     * with the pool's metadata: what a management API keeps about a replica (its share) to
     * bring it back after a restart.
     */
    public CompletableFuture<ReplicaInfo> setReplicaProperties(String key, Map<String, String> changes) {
        return guard(() -> pools.setProperties(key, changes));
    }

    /** Every replica of every open pool. */
    public List<ReplicaInfo> listReplicas() {
        return pools.replicas();
    }

    /** Replica {@code key} (by name or UUID). */
    public Optional<ReplicaInfo> replica(String key) {
        return pools.replica(key);
    }

    /** The NQN of the subsystem that has bdev {@code bdev} as a namespace, if one does. */
    private Optional<String> sharedAs(Bdev bdev) {
        for (Subsystem s : target.subsystems()) {
            for (Namespace ns : s.namespaces()) {
                if (ns.bdev() == bdev) {
                    return Optional.of(s.nqn());
                }
            }
        }
        return Optional.empty();
    }

    // ---------------------------------------------------------------- introspection

    /**
     * Every bdev's IO statistics, in {@link #listBdevs()} order: each reactor sums the counters
     * it owns (they are confined to it), and the sums are added up here. Counters outlive a
     * bdev's channels closing; they go with the bdev.
     */
    public CompletableFuture<List<IoStats>> ioStats() {
        return guard(() -> {
            List<Bdev> list = bdevs.list();
            return onEveryReactor(r -> {
                IoCounters[] sums = new IoCounters[list.size()];
                for (int i = 0; i < sums.length; i++) {
                    sums[i] = new IoCounters();
                    IoCounters c = list.get(i).ioCounters(r);
                    if (c != null) {
                        c.addTo(sums[i]);
                    }
                }
                return sums;
            }).thenApply(parts -> {
                List<IoStats> out = new ArrayList<>(list.size());
                for (int i = 0; i < list.size(); i++) {
                    IoCounters total = new IoCounters();
                    for (IoCounters[] part : parts) {
                        part[i].addTo(total);
                    }
                    out.add(total.toStats(list.get(i).name(), list.get(i).uuid().toString()));
                }
                return out;
            });
        });
    }

    /** Zeroes every bdev's IO statistics, each reactor its own. */
    public CompletableFuture<Void> resetIoStats() {
        return guard(() -> {
            List<Bdev> list = bdevs.list();
            return onEveryReactor(r -> {
                for (Bdev b : list) {
                    IoCounters c = b.ioCounters(r);
                    if (c != null) {
                        c.reset();
                    }
                }
                return null;
            }).thenApply(parts -> null);
        });
    }

    /** The reactors and their load since each started ({@link ReactorInfo}). Any thread. */
    public List<ReactorInfo> reactorInfo() {
        List<ReactorInfo> out = new ArrayList<>();
        for (Reactor r : reactors.all()) {
            long busy = r.busyNanos();
            long up = r.uptimeNanos();
            out.add(new ReactorInfo(r.id(), r.cpu(), r.mode().name(), r.cycles(), r.parks(),
                    up > 0 ? Math.min(1.0, (double) busy / up) : 0, busy, up, r.sharesCore()));
        }
        return out;
    }

    /** The remote controllers this engine holds as an initiator: one per {@code nvmf://} bdev, with its IO counts. */
    public CompletableFuture<List<NvmeControllerInfo>> nvmeControllers() {
        return ioStats().thenApply(stats -> {
            Map<String, IoStats> byName = new HashMap<>();
            for (IoStats s : stats) {
                byName.put(s.name(), s);
            }
            List<NvmeControllerInfo> out = new ArrayList<>();
            for (Bdev b : bdevs.list()) {
                if (b instanceof NvmfBdev n) {
                    IoStats io = byName.getOrDefault(n.name(), new IoCounters().toStats(n.name(), n.uuid().toString()));
                    out.add(n.controllerInfo(io));
                }
            }
            return out;
        });
    }

    /** The connections the NVMe/TCP target serves, each read on its reactor. */
    public CompletableFuture<List<TargetConnectionInfo>> targetConnections() {
        return guard(() -> target.connectionsAsync().thenApply(list -> list.stream()
                .map(c -> new TargetConnectionInfo(c.subsystem() == null ? "" : c.subsystem(),
                        c.host() == null ? "" : c.host(), c.cntlid(), c.qid(), c.peer().startsWith("/") ? c.peer().substring(1) : c.peer(), c.reactor(),
                        c.state().name()))
                .toList()));
    }

    /** The addresses the target listens on. */
    public List<InetSocketAddress> listeners() {
        return target.listeners();
    }

    /**
     * The target's subsystems, the discovery subsystem among them: each one's {@code nqn()},
     * {@code allowAnyHost()}, {@code hosts()} and {@code namespaces()} ({@link Namespace#nsid()},
     * {@link Namespace#bdev()}).
     */
    public List<Subsystem> subsystems() {
        return target.subsystems();
    }

    /** Who claims bdev {@code bdevName} (by name, alias or UUID); empty when no one does, or there is no such bdev. */
    public Optional<String> claimant(String bdevName) {
        return bdevs.claimant(bdevName);
    }

    /**
     * Asks the discovery controller at {@code host:port} what it offers (its discovery log)
     * as {@code hostNqn} (null: the engine's default host NQN), and disconnects. Fails with
     * UNAVAILABLE when the address refuses or does not answer within {@code timeout}, IO_ERROR
     * when it does not speak NVMe/TCP or its discovery controller fails.
     */
    public CompletableFuture<List<DiscoveryEntry>> discover(String host, int port, String hostNqn, Duration timeout) {
        if (host == null || host.isBlank() || port < 1 || port > 65535) {
            return failed(EngineException.Reason.INVALID_ARGUMENT, "discovery needs a host and a port 1 to 65535, got "
                    + host + ":" + port);
        }
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            return failed(EngineException.Reason.INVALID_ARGUMENT, "discovery needs a positive timeout, got " + timeout);
        }
        return guard(() -> Discovery.discover(reactors.get(0), host, port, hostNqn, timeout));
    }

    /** Runs {@code work} on every reactor; the results in reactor order. */
    private <T> CompletableFuture<List<T>> onEveryReactor(Function<Reactor, T> work) {
        List<CompletableFuture<T>> parts = new ArrayList<>();
        for (Reactor r : reactors.all()) {
            parts.add(r.submit(() -> work.apply(r)));
        }
        return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new))
                .thenApply(v -> parts.stream().map(CompletableFuture::join).toList());
    }

    // ---------------------------------------------------------------- life

    /**
     * Stops the engine: the target (its listeners and connections), then every bdev, then the
     * reactors. A second call does nothing.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            target.close();
        } finally {
            try {
                nexuses.close();
                rebuilds.close();
                pools.closeAll();
                bdevs.destroyAll().get(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Exception e) {
                LOG.log(System.Logger.Level.WARNING, "destroying the bdevs at shutdown: {0}", e.toString());
            } finally {
                reactors.close();
            }
        }
    }

    /**
     * Waits for {@code f} on a control-path thread: its value, or its failure as the
     * {@link EngineException} itself (not wrapped in a {@code CompletionException}).
     */
    public static <T> T await(CompletableFuture<T> f) {
        try {
            return f.join();
        } catch (java.util.concurrent.CompletionException | java.util.concurrent.CancellationException e) {
            throw EngineException.of(e);
        }
    }

    // ---------------------------------------------------------------- helpers

    private <T> CompletableFuture<T> call(Supplier<T> op) {
        if (closed) {
            return failed(EngineException.Reason.UNAVAILABLE, "the engine is stopped");
        }
        try {
            return CompletableFuture.completedFuture(op.get());
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(EngineException.of(e));
        }
    }

    private <T> CompletableFuture<T> guard(Supplier<CompletableFuture<T>> op) {
        if (closed) {
            return failed(EngineException.Reason.UNAVAILABLE, "the engine is stopped");
        }
        CompletableFuture<T> f;
        try {
            f = op.get();
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(EngineException.of(e));
        }
        CompletableFuture<T> out = new CompletableFuture<>();
        f.whenComplete((v, t) -> {
            if (t != null) {
                out.completeExceptionally(EngineException.of(t));
            } else {
                out.complete(v);
            }
        });
        return out;
    }

    private static <T> CompletableFuture<T> failed(EngineException.Reason reason, String message) {
        return CompletableFuture.failedFuture(new EngineException(reason, message));
    }
}
