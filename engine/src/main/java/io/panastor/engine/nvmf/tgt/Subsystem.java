package io.panastor.engine.nvmf.tgt;

import static io.panastor.engine.error.EngineException.Reason.*;

import io.panastor.engine.error.EngineException;
import io.panastor.engine.bdev.Bdev;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An NVM subsystem (or the discovery subsystem): NQN, serial and model numbers, namespaces,
 * the hosts allowed to connect, and the controllers connected now.
 *
 * <p>Thread-safety: any thread. Namespaces are an immutable array swapped on change, so queue
 * pairs read them without a lock.
 */
public final class Subsystem {
    /** The highest NSID a subsystem hands out (Identify Controller NN). */
    public static final int MAX_NAMESPACES = 256;
    /** CNTLIDs of the dynamic controller model run 1..0xFFEF (NVMe over Fabrics 1.1 §3.3.1). */
    static final int MAX_CNTLID = 0xFFEF;

    private final String nqn;
    private final String serial;
    private final String model;
    private final boolean discovery;
    private volatile boolean allowAnyHost;
    private final Set<String> hosts = new CopyOnWriteArraySet<>();
    private volatile Namespace[] namespaces = new Namespace[MAX_NAMESPACES + 1];
    private final ConcurrentHashMap<Integer, Controller> controllers = new ConcurrentHashMap<>();
    private final AtomicInteger nextCntlid = new AtomicInteger(1);

    Subsystem(String nqn, String serial, String model, boolean allowAnyHost, Collection<String> hosts, boolean discovery) {
        this.nqn = nqn;
        this.serial = serial;
        this.model = model;
        this.allowAnyHost = allowAnyHost;
        this.hosts.addAll(hosts);
        this.discovery = discovery;
    }

    public String nqn() {
        return nqn;
    }

    public String serial() {
        return serial;
    }

    public String model() {
        return model;
    }

    public boolean isDiscovery() {
        return discovery;
    }

    public boolean allowAnyHost() {
        return allowAnyHost;
    }

    public Set<String> hosts() {
        return Set.copyOf(hosts);
    }

    public void allowAnyHost(boolean allow) {
        this.allowAnyHost = allow;
    }

    public void addHost(String hostNqn) {
        hosts.add(hostNqn);
    }

    public void removeHost(String hostNqn) {
        hosts.remove(hostNqn);
    }

    public boolean allows(String hostNqn) {
        return discovery || allowAnyHost || hosts.contains(hostNqn);
    }

    /** The namespace with {@code nsid}, or null. Any thread, lock-free. */
    public Namespace namespace(long nsid) {
        Namespace[] ns = namespaces;
        return nsid >= 1 && nsid <= MAX_NAMESPACES ? ns[(int) nsid] : null;
    }

    public List<Namespace> namespaces() {
        List<Namespace> out = new ArrayList<>();
        for (Namespace n : namespaces) {
            if (n != null) {
                out.add(n);
            }
        }
        return out;
    }

    /** Adds {@code bdev} under {@code nsid} (0 = the lowest free NSID). */
    synchronized Namespace addNamespace(Bdev bdev, int nsid) {
        Namespace[] ns = namespaces.clone();
        for (Namespace n : ns) {
            if (n != null && n.bdev() == bdev) {
                throw new EngineException(ALREADY_EXISTS, "bdev " + bdev.name() + " is already namespace " + n.nsid()
                        + " of " + nqn);
            }
        }
        if (nsid == 0) {
            for (int i = 1; i <= MAX_NAMESPACES && nsid == 0; i++) {
                if (ns[i] == null) {
                    nsid = i;
                }
            }
            if (nsid == 0) {
                throw new EngineException(NO_SPACE, nqn + " has " + MAX_NAMESPACES + " namespaces already");
            }
        }
        if (nsid < 1 || nsid > MAX_NAMESPACES) {
            throw new EngineException(INVALID_ARGUMENT, "NSID " + nsid + " is out of range 1.." + MAX_NAMESPACES);
        }
        if (ns[nsid] != null) {
            throw new EngineException(ALREADY_EXISTS,
                    "NSID " + nsid + " of " + nqn + " is taken by bdev " + ns[nsid].bdev().name());
        }
        Namespace n = Namespace.of(nsid, bdev);
        ns[nsid] = n;
        namespaces = ns;
        return n;
    }

    synchronized Namespace removeNamespace(int nsid) {
        Namespace[] ns = namespaces.clone();
        Namespace n = nsid >= 1 && nsid <= MAX_NAMESPACES ? ns[nsid] : null;
        if (n == null) {
            throw new EngineException(NOT_FOUND, nqn + " has no namespace " + nsid);
        }
        ns[nsid] = null;
        namespaces = ns;
        return n;
    }

    /** The highest active NSID. */
    int maxNsid() {
        Namespace[] ns = namespaces;
        for (int i = MAX_NAMESPACES; i >= 1; i--) {
            if (ns[i] != null) {
                return i;
            }
        }
        return 0;
    }

    int allocateCntlid() {
        for (int tries = 0; tries <= MAX_CNTLID; tries++) {
            int id = nextCntlid.getAndUpdate(i -> i >= MAX_CNTLID ? 1 : i + 1);
            if (!controllers.containsKey(id)) {
                return id;
            }
        }
        return -1;
    }

    void attach(Controller c) {
        controllers.put(c.cntlid(), c);
    }

    void detach(Controller c) {
        controllers.remove(c.cntlid(), c);
    }

    public Controller controller(int cntlid) {
        return controllers.get(cntlid);
    }

    public Collection<Controller> controllers() {
        return List.copyOf(controllers.values());
    }
}
