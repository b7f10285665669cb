package io.panastor.engine.nvmf.tgt;

import static io.panastor.engine.error.EngineException.Reason.*;

import io.panastor.engine.error.EngineException;
import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.Bdevs;
import io.panastor.engine.nvmf.proto.ConnectCommand;
import io.panastor.engine.nvmf.proto.ConnectData;
import io.panastor.engine.nvmf.proto.DiscoveryLog;
import io.panastor.engine.nvmf.proto.NvmeOpcodes;
import io.panastor.engine.nvmf.proto.NvmeStatus;
import io.panastor.natives.Sockets;
import io.panastor.reactor.Reactor;
import io.panastor.reactor.Reactors;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The NVMe/TCP target of an engine: subsystems with their namespaces and allowed hosts,
 * listeners, the discovery subsystem, and the controllers and connections that come and go.
 * This is the engine API the management plane calls.
 *
 * <p>Thread-safety: every public method from any thread (control plane). Connections run on
 * the reactors, spread round robin.
 */
public final class NvmfTarget implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(NvmfTarget.class.getName());
    /** Longest NQN (NVMe base 2.0 §4.5): 223 bytes. */
    static final int MAX_NQN = 223;
    /** Time from accept to a completed Connect before the socket is closed. */
    public static final long DEFAULT_HANDSHAKE_TIMEOUT_MS = 5_000;
    /** Time a host has to send the data of an R2T (from the buffer lent for it) before the connection is closed. */
    public static final long DEFAULT_R2T_TIMEOUT_MS = 5_000;
    /** Time a send to a host may make no progress (the host reads nothing) before the connection is closed. */
    public static final long DEFAULT_SEND_STALL_TIMEOUT_MS = 30_000;
    /** Accepted connections that may be mid-handshake at once; more are closed at accept. */
    public static final int DEFAULT_MAX_UNCONNECTED = 256;

    /** A connection, as listed for operators. */
    public record ConnectionInfo(String peer, int reactor, int qid, int cntlid, String subsystem, String host,
                                 io.panastor.engine.nvmf.tcp.TcpConnection.State state) {
    }

    /** A controller, as listed for operators. */
    public record ControllerInfo(String subsystem, int cntlid, String host, int ioQueues, long keepAliveMillis) {
    }

    private final Reactors reactors;
    private final Bdevs bdevs;
    private final ConcurrentHashMap<String, Subsystem> subsystems = new ConcurrentHashMap<>();
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private final Set<QueuePair> connections = ConcurrentHashMap.newKeySet();
    private final AtomicInteger nextReactor = new AtomicInteger();
    private final AtomicInteger nextPortId = new AtomicInteger(1);
    private final AtomicLong discoveryGeneration = new AtomicLong(1);
    private final TargetCounters counters = new TargetCounters();
    /** Each reactor's poll group (its connections' shared poller and data buffers), made there by its first connection. */
    private final ConcurrentHashMap<Integer, PollGroup> pools = new ConcurrentHashMap<>();
    /** Accepted connections that have not yet completed Connect (or closed). */
    private final AtomicInteger unconnected = new AtomicInteger();
    private volatile long handshakeTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(DEFAULT_HANDSHAKE_TIMEOUT_MS);
    private volatile int maxUnconnected = DEFAULT_MAX_UNCONNECTED;
    private volatile long r2tTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(DEFAULT_R2T_TIMEOUT_MS);
    private volatile long sendStallTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(DEFAULT_SEND_STALL_TIMEOUT_MS);
    private volatile int maxSmallBuffers = DataBufferPool.MAX_BUFFERS[DataBufferPool.SMALL];
    private volatile int maxLargeBuffers = DataBufferPool.MAX_BUFFERS[DataBufferPool.LARGE];
    private volatile boolean closed;
    /** Completes once the target is closed and its last connection is gone. */
    private final CompletableFuture<Void> drained = new CompletableFuture<>();

    public NvmfTarget(Reactors reactors, Bdevs bdevs) {
        this.reactors = reactors;
        this.bdevs = bdevs;
        subsystems.put(NvmeOpcodes.DISCOVERY_NQN, new Subsystem(NvmeOpcodes.DISCOVERY_NQN, "", "Panastor discovery",
                true, List.of(), true));
    }

    // ---------------------------------------------------------------- subsystems

    /** Creates an NVM subsystem. Serial and model are ASCII, up to 20 and 40 characters. */
    public Subsystem createSubsystem(String nqn, String serial, String model, boolean allowAnyHost,
                                     Collection<String> hosts) {
        checkNqn(nqn, "subsystem NQN");
        if (serial.isEmpty() || serial.length() > 20 || !StandardCharsets.US_ASCII.newEncoder().canEncode(serial)) {
            throw new EngineException(INVALID_ARGUMENT,
                    "serial number must be 1 to 20 ASCII characters, got '" + serial + "'");
        }
        if (model.isEmpty() || model.length() > 40 || !StandardCharsets.US_ASCII.newEncoder().canEncode(model)) {
            throw new EngineException(INVALID_ARGUMENT,
                    "model number must be 1 to 40 ASCII characters, got '" + model + "'");
        }
        for (String h : hosts) {
            checkNqn(h, "host NQN");
        }
        Subsystem s = new Subsystem(nqn, serial, model, allowAnyHost, hosts, false);
        if (subsystems.putIfAbsent(nqn, s) != null) {
            throw new EngineException(ALREADY_EXISTS, "subsystem " + nqn + " already exists");
        }
        discoveryGeneration.incrementAndGet();
        return s;
    }

    /**
     * Sets who may connect to subsystem {@code nqn}: exactly {@code hosts}, or any host when
     * empty. The controllers of hosts no longer allowed end at once (their connections close,
     * and they cannot connect again), so a host fenced out of a volume can write no more.
     * Returns how many controllers ended.
     */
    public int setAllowedHosts(String nqn, Collection<String> hosts) {
        for (String h : hosts) {
            checkNqn(h, "host NQN");
        }
        Subsystem s = subsystem(nqn);
        if (s.isDiscovery()) {
            throw new EngineException(INVALID_ARGUMENT, "the discovery subsystem takes any host");
        }
        for (String h : hosts) {
            s.addHost(h);
        }
        for (String h : s.hosts()) {
            if (!hosts.contains(h)) {
                s.removeHost(h);
            }
        }
        s.allowAnyHost(hosts.isEmpty());
        int ended = 0;
        for (Controller c : s.controllers()) {
            if (!s.allows(c.hostNqn())) {
                c.destroy("host " + c.hostNqn() + " is no longer allowed");
                ended++;
            }
        }
        return ended;
    }

    /** Removes a subsystem; its controllers end. */
    public void destroySubsystem(String nqn) {
        Subsystem s = subsystem(nqn);
        if (s.isDiscovery()) {
            throw new EngineException(INVALID_ARGUMENT, "the discovery subsystem cannot be removed");
        }
        subsystems.remove(nqn);
        discoveryGeneration.incrementAndGet();
        for (Controller c : s.controllers()) {
            c.destroy("subsystem removed");
        }
    }

    public Subsystem subsystem(String nqn) {
        Subsystem s = subsystems.get(nqn);
        if (s == null) {
            throw new EngineException(NOT_FOUND, "no subsystem " + nqn);
        }
        return s;
    }

    public List<Subsystem> subsystems() {
        return List.copyOf(subsystems.values());
    }

    /** Exports bdev {@code bdevName} as namespace {@code nsid} (0 = the lowest free) and tells connected hosts. */
    public Namespace addNamespace(String nqn, String bdevName, int nsid) {
        Subsystem s = subsystem(nqn);
        if (s.isDiscovery()) {
            throw new EngineException(INVALID_ARGUMENT, "the discovery subsystem has no namespaces");
        }
        Bdev bdev = bdevs.get(bdevName);
        Namespace ns = s.addNamespace(bdev, nsid);
        notifyNamespaceChanged(s, ns.nsid());
        return ns;
    }

    public void removeNamespace(String nqn, int nsid) {
        Subsystem s = subsystem(nqn);
        s.removeNamespace(nsid);
        notifyNamespaceChanged(s, nsid);
    }

    /**
     * Tells the hosts connected to subsystem {@code nqn} that namespace {@code nsid} changed
     * (its bdev grew): a namespace attribute changed notice, after which a host reads Identify
     * Namespace again and sees the new size.
     */
    public void namespaceChanged(String nqn, int nsid) {
        notifyNamespaceChanged(subsystem(nqn), nsid);
    }

    private void notifyNamespaceChanged(Subsystem s, int nsid) {
        for (Controller c : s.controllers()) {
            try {
                c.adminReactor().execute(() -> c.onNamespaceChanged(nsid));
            } catch (RejectedExecutionException e) {
                // Its reactor is stopping; the controller goes with it.
            }
        }
    }

    private static void checkNqn(String nqn, String what) {
        if (nqn == null || !nqn.startsWith("nqn.") || nqn.getBytes(StandardCharsets.UTF_8).length > MAX_NQN) {
            throw new EngineException(INVALID_ARGUMENT, what + " must start with 'nqn.' and be at most " + MAX_NQN
                    + " bytes, got '" + nqn + "'");
        }
    }

    // ---------------------------------------------------------------- listeners

    /** Listens on {@code host:port} (port 0 = any); returns the bound address. */
    public InetSocketAddress addListener(String host, int port) {
        if (closed) {
            throw new EngineException(UNAVAILABLE, "the target is closed");
        }
        int fd;
        try {
            fd = Sockets.listen(host, port, 128);
        } catch (io.panastor.natives.NativeException e) {
            throw EngineException.of(e);    // EADDRINUSE: ALREADY_EXISTS, and so on
        }
        Reactor r = reactors.get(0);
        Listener l;
        try {
            l = new Listener(this, r, fd, nextPortId.getAndIncrement());
            r.run(l::start).join();
        } catch (RuntimeException e) {
            Sockets.close(fd);
            throw e;
        }
        listeners.add(l);
        discoveryGeneration.incrementAndGet();
        LOG.log(System.Logger.Level.INFO, "NVMe/TCP listening on {0}", l.address());
        return l.address();
    }

    public void removeListener(InetSocketAddress address) {
        for (Listener l : listeners) {
            if (l.address().equals(address)) {
                listeners.remove(l);
                discoveryGeneration.incrementAndGet();
                l.close().join();
                return;
            }
        }
        throw new EngineException(NOT_FOUND, "no listener on " + address);
    }

    public List<InetSocketAddress> listeners() {
        return listeners.stream().map(Listener::address).toList();
    }

    /** Time a connection has from accept to a completed Connect (0: no limit). Applies to connections accepted after. */
    public void setHandshakeTimeout(java.time.Duration timeout) {
        if (timeout.isNegative()) {
            throw new EngineException(INVALID_ARGUMENT, "handshake timeout must not be negative, got " + timeout);
        }
        handshakeTimeoutNanos = timeout.toNanos();
    }

    long handshakeTimeoutNanos() {
        return handshakeTimeoutNanos;
    }

    /**
     * Time a host has to send the data an R2T asks for, counted from when the request's data
     * buffer is lent (0: no limit); past it the connection is closed and its buffers go back to
     * the reactor's pool, so a host that never answers R2Ts holds them no longer. Applies to
     * connections accepted after.
     */
    public void setR2TTimeout(java.time.Duration timeout) {
        if (timeout.isNegative()) {
            throw new EngineException(INVALID_ARGUMENT, "R2T timeout must not be negative, got " + timeout);
        }
        r2tTimeoutNanos = timeout.toNanos();
    }

    long r2tTimeoutNanos() {
        return r2tTimeoutNanos;
    }

    /**
     * Time a send to a host may go without progress (0: no limit) before the connection is
     * closed: a host that stops reading its socket would otherwise pin the data buffers of the
     * reads it asked for. Applies to connections accepted after.
     */
    public void setSendStallTimeout(java.time.Duration timeout) {
        if (timeout.isNegative()) {
            throw new EngineException(INVALID_ARGUMENT, "send-stall timeout must not be negative, got " + timeout);
        }
        sendStallTimeoutNanos = timeout.toNanos();
    }

    long sendStallTimeoutNanos() {
        return sendStallTimeoutNanos;
    }

    /** Connections that may be between accept and Connect at once; beyond it new ones are closed at accept. */
    public void setMaxUnconnected(int max) {
        if (max < 1) {
            throw new EngineException(INVALID_ARGUMENT,
                    "the cap on connections not yet connected must be at least 1, got "
                    + max);
        }
        maxUnconnected = max;
    }

    /** A connection completed Connect or closed before it. */
    void onHandshakeEnded() {
        unconnected.decrementAndGet();
    }

    /** The reactor's poll group. On that reactor. */
    PollGroup pollGroup(Reactor r) {
        return pools.computeIfAbsent(r.id(), id -> new PollGroup(r, counters, maxSmallBuffers, maxLargeBuffers));
    }

    /**
     * Most data buffers each reactor lends at once: {@code small} of 8 KiB and {@code large} of
     * 128 KiB (defaults 1024 and 512). Applies to reactors whose first connection comes after.
     */
    public void setDataBufferLimits(int small, int large) {
        if (small < 1 || large < 1) {
            throw new EngineException(INVALID_ARGUMENT,
                    "data buffer limits must be at least 1, got " + small + " and " + large);
        }
        maxSmallBuffers = small;
        maxLargeBuffers = large;
    }

    void onAccepted(int fd) {
        if (unconnected.incrementAndGet() > maxUnconnected) {
            unconnected.decrementAndGet();
            counters.onRefusedUnconnected();
            if (counters.refusedUnconnected() == 1) {
                LOG.log(System.Logger.Level.WARNING, "more than {0} connections have not connected yet: closing new "
                        + "ones at accept (logged once, counted after)", maxUnconnected);
            }
            Sockets.close(fd);
            return;
        }
        if (!startConnection(fd)) {
            unconnected.decrementAndGet();
        }
    }

    private boolean startConnection(int fd) {
        String peer;
        try {
            Sockets.tune(fd, 0);
            peer = Sockets.address(fd, true).toString();
        } catch (RuntimeException e) {
            Sockets.close(fd);
            return false;
        }
        Reactor r = reactors.get(Math.floorMod(nextReactor.getAndIncrement(), reactors.size()));
        try {
            r.execute(() -> {
                if (closed) {
                    Sockets.close(fd);
                    onHandshakeEnded();
                    return;
                }
                QueuePair q;
                try {
                    q = new QueuePair(this, r, fd, peer);
                } catch (RuntimeException e) {
                    // Out of memory or submission slots: this connection is refused, the rest serve on.
                    counters.handlerFailed("nvmf " + peer, "starting a connection", e);
                    Sockets.close(fd);
                    onHandshakeEnded();
                    return;
                }
                // Listed before its first receive: a connection that fails at once is unlisted by its close.
                connections.add(q);
                q.start();
            });
        } catch (RejectedExecutionException e) {
            Sockets.close(fd);
            return false;
        }
        return true;
    }

    void onQueuePairClosed(QueuePair q) {
        connections.remove(q);
        if (closed && connections.isEmpty()) {
            drained.complete(null);
        }
    }

    // ---------------------------------------------------------------- connect (on the queue's reactor)

    /** Handles a fabrics Connect (NVMe over Fabrics 1.1 §3.3): makes or joins a controller. */
    void connect(QueuePair q, NvmfRequest req) {
        MemorySegment sqe = req.sqe;
        int recfmt = ConnectCommand.recfmt(sqe, 0);
        int qid = ConnectCommand.qid(sqe, 0);
        int sqsize = ConnectCommand.sqsize(sqe, 0);
        int cattr = ConnectCommand.cattr(sqe, 0);
        long kato = ConnectCommand.kato(sqe, 0);
        if (recfmt != 0) {
            req.complete(NvmeStatus.CONNECT_INCOMPATIBLE_FORMAT, 0);
            return;
        }
        if (req.length < ConnectData.SIZE || req.received < ConnectData.SIZE) {
            req.complete(NvmeStatus.DATA_SGL_LENGTH_INVALID, 0);
            return;
        }
        MemorySegment data = req.buffer;
        byte[] hostId = ConnectData.hostId(data, 0);
        int cntlid = ConnectData.cntlid(data, 0);
        String subnqn = ConnectData.subNqn(data, 0).strip();
        String hostnqn = ConnectData.hostNqn(data, 0).strip();
        Subsystem s = subsystems.get(subnqn);
        if (s == null) {
            invalidParameter(req, true, ConnectData.SUBNQN_OFFSET);
            return;
        }
        if (!s.allows(hostnqn)) {
            req.complete(NvmeStatus.CONNECT_INVALID_HOST, 0);
            return;
        }
        boolean noSqFlowControl = (cattr & ConnectCommand.CATTR_DISABLE_SQ_FLOW_CONTROL) != 0;
        if (qid == 0) {
            if (sqsize < 1 || sqsize + 1 > QueuePair.ADMIN_QUEUE_DEPTH) {
                invalidParameter(req, false, ConnectCommand.SQSIZE_OFFSET);
                return;
            }
            if (cntlid != ConnectCommand.CNTLID_DYNAMIC) {
                invalidParameter(req, true, ConnectData.CNTLID_OFFSET);
                return;
            }
            int id = s.allocateCntlid();
            if (id < 0) {
                req.complete(NvmeStatus.CONNECT_CONTROLLER_BUSY, 0);
                return;
            }
            Controller c = new Controller(id, s, hostnqn, hostId, q, kato);
            s.attach(c);
            q.connected(c, 0, sqsize + 1, noSqFlowControl);
            c.startKeepAlive();
            LOG.log(System.Logger.Level.INFO, "controller {0} of {1} created for {2} ({3}), keep-alive {4} ms",
                    id, subnqn, hostnqn, q.peer(), kato);
            req.complete(NvmeStatus.SUCCESS, id);
            return;
        }
        Controller c = s.isDiscovery() ? null : s.controller(cntlid);
        if (c == null || !c.hostNqn().equals(hostnqn)) {
            invalidParameter(req, true, ConnectData.CNTLID_OFFSET);
            return;
        }
        if (!c.isReady()) {
            req.complete(NvmeStatus.COMMAND_SEQUENCE_ERROR, 0);
            return;
        }
        if (sqsize < 1 || sqsize + 1 > QueuePair.MAX_QUEUE_DEPTH) {
            invalidParameter(req, false, ConnectCommand.SQSIZE_OFFSET);
            return;
        }
        if (!c.attachIoQueue(qid, q)) {
            invalidParameter(req, false, ConnectCommand.QID_OFFSET);
            return;
        }
        q.connected(c, qid, sqsize + 1, noSqFlowControl);
        req.complete(NvmeStatus.SUCCESS, c.cntlid());
    }

    /** Connect Invalid Parameters, with IATTR (in the data or the SQE) and the byte offset (§3.3.1). */
    private static void invalidParameter(NvmfRequest req, boolean inData, long offset) {
        req.complete(NvmeStatus.CONNECT_INVALID_PARAMETERS, ConnectCommand.invalidParameter(inData, (int) offset));
    }

    // ---------------------------------------------------------------- discovery

    /** The discovery log page for {@code hostNqn}: one entry per subsystem it may use and listener (§5.4). */
    byte[] discoveryLog(String hostNqn) {
        List<Subsystem> nvm = new ArrayList<>();
        for (Subsystem s : subsystems.values()) {
            if (!s.isDiscovery() && s.allows(hostNqn)) {
                nvm.add(s);
            }
        }
        List<Listener> ls = List.copyOf(listeners);
        int records = nvm.size() * ls.size();
        byte[] page = new byte[(int) DiscoveryLog.entry(records)];
        MemorySegment m = MemorySegment.ofArray(page);
        DiscoveryLog.header(m, 0, discoveryGeneration.get(), records);
        int i = 0;
        for (Subsystem s : nvm) {
            for (Listener l : ls) {
                InetSocketAddress a = l.address();
                DiscoveryLog.writeTcpEntry(m, DiscoveryLog.entry(i++), DiscoveryLog.SUBTYPE_NVM,
                        a.getAddress() instanceof java.net.Inet6Address ? DiscoveryLog.ADRFAM_IPV6
                                : DiscoveryLog.ADRFAM_IPV4,
                        l.portId(), QueuePair.ADMIN_QUEUE_DEPTH, a.getAddress().getHostAddress(), a.getPort(), s.nqn());
            }
        }
        return page;
    }

    // ---------------------------------------------------------------- listing and shutdown

    /** Fault and resource counters. */
    public TargetCounters counters() {
        return counters;
    }

    /**
     * Data buffers free in the reactors' shared pools, summed over reactors by size class
     * ({@code [small, large]}), each pool read on its reactor. Control path (operators, tests).
     */
    public CompletableFuture<int[]> freeDataBuffers() {
        List<CompletableFuture<int[]>> parts = new ArrayList<>();
        for (PollGroup g : pools.values()) {
            CompletableFuture<int[]> part = new CompletableFuture<>();
            g.reactor().execute(() -> part.complete(new int[] {g.buffers().free(DataBufferPool.SMALL),
                    g.buffers().free(DataBufferPool.LARGE)}));
            parts.add(part);
        }
        return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new)).thenApply(v -> {
            int[] sum = new int[2];
            for (CompletableFuture<int[]> part : parts) {
                sum[0] += part.join()[0];
                sum[1] += part.join()[1];
            }
            return sum;
        });
    }

    /** The connections now, each read from here (a racy snapshot; {@link #connectionsAsync} reads them on their reactors). */
    public List<ConnectionInfo> connections() {
        List<ConnectionInfo> out = new ArrayList<>();
        for (QueuePair q : connections) {
            out.add(info(q));
        }
        return out;
    }

    /**
     * The connections now, each read on its own reactor (where its controller and QID are
     * set), grouped by reactor. Control path; a reactor that has stopped lists none.
     */
    public CompletableFuture<List<ConnectionInfo>> connectionsAsync() {
        java.util.Map<Reactor, List<QueuePair>> byReactor = new java.util.LinkedHashMap<>();
        for (QueuePair q : connections) {
            byReactor.computeIfAbsent(q.reactor, r -> new ArrayList<>()).add(q);
        }
        List<CompletableFuture<List<ConnectionInfo>>> parts = new ArrayList<>();
        for (var e : byReactor.entrySet()) {
            parts.add(e.getKey().submit(() -> e.getValue().stream().map(NvmfTarget::info)
                    .toList()).exceptionally(t -> List.of()));
        }
        return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new))
                .thenApply(v -> parts.stream().flatMap(p -> p.join().stream()).toList());
    }

    private static ConnectionInfo info(QueuePair q) {
        Controller c = q.controller;
        return new ConnectionInfo(q.peer(), q.reactor.id(), q.qid, c == null ? -1 : c.cntlid(),
                c == null ? null : c.subsystem().nqn(), c == null ? null : c.hostNqn(), q.state());
    }

    public List<ControllerInfo> controllers() {
        List<ControllerInfo> out = new ArrayList<>();
        for (Subsystem s : subsystems.values()) {
            for (Controller c : s.controllers()) {
                out.add(new ControllerInfo(s.nqn(), c.cntlid(), c.hostNqn(), c.ioQueues().size(),
                        c.keepAliveTimeoutMillis()));
            }
        }
        return out;
    }

    /** Stops listening, closes every connection and waits (up to 10 s) until they are gone. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<CompletableFuture<Void>> closing = new ArrayList<>();
        for (Listener l : listeners) {
            closing.add(l.close());
        }
        listeners.clear();
        CompletableFuture.allOf(closing.toArray(CompletableFuture[]::new)).orTimeout(10, TimeUnit.SECONDS).join();
        for (QueuePair q : connections) {
            try {
                q.closeAsync("target shutting down");
            } catch (RejectedExecutionException e) {
                connections.remove(q);
            }
        }
        if (connections.isEmpty()) {
            drained.complete(null);
        }
        try {
            drained.get(10, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
            // reported below
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!connections.isEmpty()) {
            LOG.log(System.Logger.Level.WARNING, "{0} connections still open at shutdown", connections.size());
            return;     // their buffers may still be in use: leave the pools to the process's end
        }
        for (PollGroup p : pools.values()) {
            try {
                p.reactor().run(p::close).get(10, TimeUnit.SECONDS);
            } catch (RejectedExecutionException | java.util.concurrent.ExecutionException
                     | java.util.concurrent.TimeoutException ex) {
                p.close();
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        pools.clear();
    }

    /** Native bytes the target's connections and data-buffer pools hold now, by its own accounting. */
    public long nativeBytes() {
        return counters.connectionBytes() + counters.poolBytes();
    }
}
