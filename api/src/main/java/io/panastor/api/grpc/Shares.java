package io.panastor.api.grpc;

import io.panastor.engine.Engine;
import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.error.EngineException;
import io.panastor.engine.error.EngineException.Reason;
import io.panastor.engine.nvmf.tgt.Namespace;
import io.panastor.engine.nvmf.tgt.Subsystem;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Bdevs shared over NVMe/TCP as Mayastor shares them: one subsystem per bdev, named
 * {@code nqn.2019-05.io.openebs:<bdev name>}, the bdev its namespace 1, reached through the
 * replica listener. What is shared is read back from the engine's target, so nothing here can
 * disagree with it.
 */
public final class Shares {
    /** Mayastor's NQN prefix. */
    public static final String NQN_PREFIX = "nqn.2019-05.io.openebs:";
    /** The longest NQN the NVMe base specification allows, in bytes. */
    static final int MAX_NQN = 223;

    private final Engine engine;
    private final String advertised;

    /** {@code advertised}: the replica listener as hosts reach it, {@code host:port}. */
    public Shares(Engine engine, String advertised) {
        this.engine = engine;
        this.advertised = advertised;
    }

    public static String nqn(String bdevName) {
        return NQN_PREFIX + bdevName;
    }

    /** The share URI of {@code b}, if it is shared. */
    public Optional<String> uri(Bdev b) {
        Subsystem s = subsystem(nqn(b.name()));
        if (s == null) {
            return Optional.empty();
        }
        for (Namespace ns : s.namespaces()) {
            if (ns.bdev() == b) {
                return Optional.of("nvmf://" + advertised + "/" + s.nqn());
            }
        }
        return Optional.empty();
    }

    /**
     * Shares {@code b}, allowing {@code hosts} (any host when empty); sharing a shared bdev
     * again makes its allowed hosts these. Completes with the share URI.
     */
    public CompletableFuture<String> share(Bdev b, List<String> hosts) {
        return serially(() -> doShare(b, hosts));
    }

    /**
     * Runs share and unshare calls one after another, each once the one before has finished:
     * two Shares of one bdev at once are then the same share twice, not a race over its
     * subsystem. Control path only; the calls are few.
     */
    private synchronized <T> CompletableFuture<T> serially(java.util.function.Supplier<CompletableFuture<T>> op) {
        CompletableFuture<T> next = last.handle((v, t) -> null).thenCompose(v -> {
            try {
                return op.get();
            } catch (RuntimeException e) {
                return CompletableFuture.failedFuture(e);
            }
        });
        last = next;
        return next;
    }

    private CompletableFuture<?> last = CompletableFuture.completedFuture(null);

    private CompletableFuture<String> doShare(Bdev b, List<String> hosts) {
        for (String h : hosts) {
            checkNqn(h);
        }
        String nqn = nqn(b.name());
        if (nqn.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MAX_NQN) {
            throw new EngineException(Reason.INVALID_ARGUMENT, "bdev name " + b.name()
                    + " makes an NQN longer than " + MAX_NQN + " bytes: use a shorter name");
        }
        if (engine.nexus(b.name()).isPresent()) {
            // A nexus is published by PublishNexus (its own NQN, hosts and listener), never as a bdev.
            throw new EngineException(Reason.BUSY, "bdev " + b.name() + " is a nexus's: publish it with PublishNexus");
        }
        Optional<String> claimant = engine.bdevs().claimant(b.name());
        if (claimant.isPresent()) {
            throw new EngineException(Reason.BUSY, "bdev " + b.name() + " is claimed by " + claimant.get()
                    + ": only an unclaimed bdev can be shared");
        }
        Subsystem existing = subsystem(nqn);
        if (existing != null) {
            engine.target().setAllowedHosts(nqn, hosts);
            return CompletableFuture.completedFuture(uri(b).orElseThrow(() -> new EngineException(Reason.BUSY,
                    "subsystem " + nqn + " exists without bdev " + b.name() + " as a namespace")));
        }
        String serial = serial(b);
        return engine.createSubsystem(nqn, serial, "Panastor bdev", hosts.isEmpty(), hosts)
                .thenCompose(s -> engine.addNamespace(nqn, b.name(), 1)
                        .handle((ns, t) -> {
                            if (t != null) {
                                engine.destroySubsystem(nqn);
                                throw EngineException.of(t);
                            }
                            return uri(b).orElseThrow();
                        }));
    }

    /** Stops sharing {@code b}, closing its hosts' connections; a bdev not shared is left as it is. */
    public CompletableFuture<Void> unshare(Bdev b) {
        return serially(() -> uri(b).isEmpty() ? CompletableFuture.completedFuture(null)
                : engine.destroySubsystem(nqn(b.name())));
    }

    private Subsystem subsystem(String nqn) {
        for (Subsystem s : engine.target().subsystems()) {
            if (s.nqn().equals(nqn)) {
                return s;
            }
        }
        return null;
    }

    /** Host NQNs as the NVMe base specification shapes them (§4.5): "nqn." and at most 223 bytes. */
    static void checkNqn(String nqn) {
        if (nqn == null || !nqn.startsWith("nqn.") || nqn.length() < 5) {
            throw new EngineException(Reason.INVALID_ARGUMENT, "allowed host '" + nqn
                    + "' is not an NQN: it must start with 'nqn.' (e.g. nqn.2014-08.org.nvmexpress:uuid:...)");
        }
        if (nqn.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MAX_NQN) {
            throw new EngineException(Reason.INVALID_ARGUMENT, "allowed host NQN is longer than " + MAX_NQN
                    + " bytes: " + nqn);
        }
    }

    /** A serial number of 20 printable characters from the bdev's UUID, stable across shares. */
    static String serial(Bdev b) {
        return b.uuid().toString().replace("-", "").substring(0, 20);
    }
}
