package io.panastor.engine.bdev;

import io.panastor.engine.error.EngineException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Consumer;
import io.panastor.reactor.Reactor;
import io.panastor.reactor.Reactors;

/**
 * The bdevs of an engine, by name, alias and UUID, and the kinds that make them.
 * Creating from an identical URI again returns the existing bdev (as Mayastor does); a
 * different bdev under a taken name or UUID is refused.
 *
 * Thread-safety: any thread (control plane; methods are synchronized, and no lock is held
 * while a bdev is being made).
 */
public final class Bdevs {
    /** The scheme that names an existing bdev: {@code bdev:///NAME}. */
    public static final String EXISTING_SCHEME = "bdev";
    private static final System.Logger LOG = System.getLogger(Bdevs.class.getName());

    private final Map<String, BdevFactory> factories = new LinkedHashMap<>();
    private final Map<String, Bdev> byName = new LinkedHashMap<>();
    /** Bdevs being made, by name: an identical create joins the one under way. */
    private final Map<String, Creating> creating = new LinkedHashMap<>();
    /** Who made the bdevs that no URI makes (a pool's replicas), by bdev name. */
    private final Map<String, String> owners = new LinkedHashMap<>();
    /** Claims by bdev name. */
    private final Map<String, BdevClaim> claims = new LinkedHashMap<>();
    private final List<Reactor> reactors;
    private int nextHome;

    private record Creating(String uri, CompletableFuture<Bdev> future) {
    }

    /** A registry with every kind on the class path. */
    public Bdevs() {
        this(ServiceLoader.load(BdevFactory.class, Bdevs.class.getClassLoader()).stream()
                .map(ServiceLoader.Provider::get).toList());
    }

    /**
     * A registry with every kind on the class path whose bdevs do their control-path work
     * (remote admin queues) on {@code reactors}, spread round-robin.
     */
    public Bdevs(Reactors reactors) {
        this(ServiceLoader.load(BdevFactory.class, Bdevs.class.getClassLoader()).stream()
                .map(ServiceLoader.Provider::get).toList(), reactors.all());
    }

    /** The reactors the engine runs on (the first is where control-path jobs such as a rebuild run). */
    public List<Reactor> reactors() {
        return reactors;
    }

    public Bdevs(Collection<BdevFactory> kinds) {
        this(kinds, List.of());
    }

    public Bdevs(Collection<BdevFactory> kinds, List<Reactor> reactors) {
        this.reactors = List.copyOf(reactors);
        for (BdevFactory f : kinds) {
            for (String scheme : f.schemes()) {
                factories.put(scheme, f);
            }
        }
    }

    /** URI schemes that can be created. */
    public synchronized List<String> schemes() {
        return List.copyOf(new TreeSet<>(factories.keySet()));
    }

    /**
     * Creates the bdev that {@code uri} describes, or returns the identical one that exists;
     * waits for {@link #createAsync}. For tools and tests: an engine's control plane uses
     * {@link #createAsync}.
     */
    public Bdev create(String uri) {
        try {
            return createAsync(uri).join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw e;
        }
    }

    /**
     * Creates the bdev that {@code uri} describes without holding the registry while it is
     * made: attaching a remote bdev that takes its time (or never answers) blocks no other
     * bdev operation. The future completes with the new bdev, or the identical one that
     * exists, or the one an identical create under way makes (creates of one URI join one
     * attach); it fails with a {@link BdevException} (bad URI, name or UUID taken, the kind's
     * own error), and a failed create leaves nothing registered. Any thread.
     */
    public CompletableFuture<Bdev> createAsync(String uri) {
        BdevUri u;
        BdevFactory factory;
        String name;
        CompletableFuture<Bdev> result;
        Reactor home;
        synchronized (this) {
            try {
                u = BdevUri.parse(uri);
                if (EXISTING_SCHEME.equals(u.scheme())) {
                    u.requireOnly(java.util.Set.of());
                    return CompletableFuture.completedFuture(get(u.simpleName()));
                }
                factory = factories.get(u.scheme());
                if (factory == null) {
                    throw BdevUri.invalid(u.text(), "unsupported scheme '" + u.scheme() + "' (supported: "
                            + String.join(", ", schemes()) + ", bdev, or an absolute path)");
                }
                name = factory.nameOf(u);
            } catch (RuntimeException e) {
                return CompletableFuture.failedFuture(e);
            }
            Bdev existing = byName.get(name);
            if (existing != null) {
                if (existing.uri().equals(u.canonical())) {
                    return CompletableFuture.completedFuture(existing);
                }
                return CompletableFuture.failedFuture(new BdevException(EngineException.Reason.ALREADY_EXISTS, "bdev "
                        + name + " already exists (from " + existing.uri() + "); destroy it first or choose another name"));
            }
            Creating under = creating.get(name);
            if (under != null) {
                if (under.uri().equals(u.canonical())) {
                    return under.future();
                }
                return CompletableFuture.failedFuture(new BdevException(EngineException.Reason.ALREADY_EXISTS, "bdev "
                        + name + " is being created (from " + under.uri() + ")"));
            }
            result = new CompletableFuture<>();
            creating.put(name, new Creating(u.canonical(), result));
            home = reactors.isEmpty() ? null : reactors.get(Math.floorMod(nextHome++, reactors.size()));
        }
        CompletableFuture<Bdev> made;
        try {
            made = factory.createAsync(u, new BdevContext(home, this));
        } catch (RuntimeException e) {
            made = CompletableFuture.failedFuture(e);
        }
        BdevUri parsed = u;
        made.whenComplete((bdev, failure) -> register(name, parsed, bdev, failure, result));
        return result;
    }

    private void register(String name, BdevUri u, Bdev bdev, Throwable failure, CompletableFuture<Bdev> result) {
        Throwable refusal = failure instanceof CompletionException ce && ce.getCause() != null ? ce.getCause() : failure;
        synchronized (this) {
            creating.remove(name);
            if (refusal == null) {
                for (Bdev other : byName.values()) {
                    if (other.uuid().equals(bdev.uuid())) {
                        refusal = new BdevException(EngineException.Reason.ALREADY_EXISTS, "uuid " + bdev.uuid()
                                + " is already used by bdev " + other.name());
                        break;
                    }
                }
            }
            if (refusal == null) {
                if (bdev instanceof AbstractBdev a && !u.text().equals(name)) {
                    a.addAlias(u.text());
                }
                byName.put(name, bdev);
            }
        }
        if (refusal == null) {
            if (bdev instanceof AbstractBdev a) {
                a.onRemoved(why -> removed(bdev, why));
            }
            result.complete(bdev);
        } else if (bdev != null) {
            Throwable why = refusal;
            bdev.destroy().whenComplete((v, t) -> result.completeExceptionally(why));
        } else {
            result.completeExceptionally(refusal);
        }
    }

    /**
     * Registers a bdev that a module made (a pool's replica), not a URI: found by name, alias
     * and UUID like any other, shareable, claimable, but destroyed only through its owner
     * ({@link #destroy} refuses it as BUSY naming {@code owner}). ALREADY_EXISTS for a taken
     * name, alias or UUID. Any thread.
     */
    public synchronized void registerOwned(AbstractBdev bdev, String owner) {
        for (String key : keysOf(bdev)) {
            Optional<Bdev> other = lookup(key);
            if (other.isPresent() || creating.containsKey(key)) {
                throw new BdevException(EngineException.Reason.ALREADY_EXISTS, "bdev name or uuid " + key
                        + " is taken" + other.map(o -> " by bdev " + o.name()).orElse(""));
            }
        }
        byName.put(bdev.name(), bdev);
        owners.put(bdev.name(), owner);
        bdev.onRemoved(why -> removed(bdev, why));
    }

    private static List<String> keysOf(Bdev b) {
        List<String> keys = new ArrayList<>(b.aliases());
        keys.add(b.name());
        keys.add(b.uuid().toString());
        return keys;
    }

    /**
     * Unregisters a bdev {@link #registerOwned} registered and destroys it; BUSY while it is
     * claimed. The future completes when its channels are closed.
     */
    public CompletableFuture<Void> unregisterOwned(Bdev bdev) {
        synchronized (this) {
            if (byName.get(bdev.name()) != bdev) {
                return bdev.destroy();
            }
            BdevClaim c = claims.get(bdev.name());
            if (c != null) {
                return CompletableFuture.failedFuture(new BdevException(EngineException.Reason.BUSY, "bdev "
                        + bdev.name() + " is claimed by " + c.claimant() + ": release the claim first"));
            }
            byName.remove(bdev.name());
            owners.remove(bdev.name());
        }
        return bdev.destroy();
    }

    /** Who made bdev {@code key} when a module did (see {@link #registerOwned}). */
    public synchronized Optional<String> owner(String key) {
        return lookup(key).map(b -> owners.get(b.name()));
    }

    /** The bdev with this name, alias or UUID. */
    public synchronized Optional<Bdev> lookup(String key) {
        Bdev b = byName.get(key);
        if (b != null) {
            return Optional.of(b);
        }
        for (Bdev c : byName.values()) {
            if (c.aliases().contains(key) || c.uuid().toString().equalsIgnoreCase(key)) {
                return Optional.of(c);
            }
        }
        return Optional.empty();
    }

    /** Like {@link #lookup}, but a missing bdev is a {@link BdevException} NOT_FOUND. */
    public synchronized Bdev get(String key) {
        return lookup(key).orElseThrow(() -> new BdevException(EngineException.Reason.NOT_FOUND,
                "no bdev named '" + key + "' (by name, alias or uuid)"));
    }

    public synchronized List<Bdev> list() {
        return new ArrayList<>(byName.values());
    }

    /**
     * Unregisters the bdev and destroys it; completes when its channels are closed and its
     * device released. Fails (NOT_FOUND) for no such bdev and (BUSY) for a claimed one, naming
     * the claimant; either way nothing changes.
     */
    public CompletableFuture<Void> destroy(String key) {
        Bdev b;
        synchronized (this) {
            try {
                b = get(key);
                BdevClaim c = claims.get(b.name());
                if (c != null) {
                    throw new BdevException(EngineException.Reason.BUSY, "bdev " + b.name() + " is claimed by "
                            + c.claimant() + ": release the claim first");
                }
                String owner = owners.get(b.name());
                if (owner != null) {
                    throw new BdevException(EngineException.Reason.BUSY, "bdev " + b.name() + " belongs to " + owner
                            + ": destroy it there");
                }
            } catch (BdevException e) {
                return CompletableFuture.failedFuture(e);
            }
            byName.remove(b.name());
        }
        return b.destroy();
    }

    /**
     * Claims bdev {@code key} (name, alias or UUID) exclusively for {@code claimant}. Fails
     * with NOT_FOUND for no such bdev, BUSY (naming who holds it) when it is claimed already,
     * INVALID_ARGUMENT for a blank claimant. Any thread.
     */
    public BdevClaim claim(String key, String claimant) {
        return claim(key, claimant, null);
    }

    /**
     * {@link #claim(String, String)} with a removal listener: if the bdev is hot-removed (its
     * device is gone for good, {@link AbstractBdev#removed}) while claimed, the claim is
     * released and {@code onRemoved} is called exactly once, on a thread of its own (a virtual
     * thread, never a reactor: it may block, and may call the registry), after the bdev is
     * unregistered (its name is free) and before it is destroyed. A claim closed before the
     * removal hears nothing. {@code onRemoved} may be null.
     */
    public synchronized BdevClaim claim(String key, String claimant, Consumer<BdevClaim> onRemoved) {
        if (claimant == null || claimant.isBlank()) {
            throw new BdevException(EngineException.Reason.INVALID_ARGUMENT, "a claim needs the claimant's name");
        }
        Bdev b = get(key);
        BdevClaim held = claims.get(b.name());
        if (held != null) {
            throw new BdevException(EngineException.Reason.BUSY, "bdev " + b.name() + " is already claimed by "
                    + held.claimant());
        }
        BdevClaim c = new BdevClaim(this, b, claimant, onRemoved);
        claims.put(b.name(), c);
        return c;
    }

    /** Who claims bdev {@code key}, if anyone. */
    public synchronized Optional<String> claimant(String key) {
        return lookup(key).map(b -> claims.get(b.name())).map(BdevClaim::claimant);
    }

    synchronized void release(BdevClaim c) {
        claims.remove(c.bdev().name(), c);
    }

    /**
     * Hot-remove (the hook {@link #register} installs): a registered bdev whose device is gone
     * for good is unregistered and its claim freed, its claimant's listener runs once on a
     * thread of its own, and then the bdev is destroyed. A bdev no longer registered (destroyed
     * already, or shutting down) is left alone.
     */
    private void removed(Bdev bdev, String why) {
        BdevClaim claim;
        synchronized (this) {
            if (byName.get(bdev.name()) != bdev) {
                return;
            }
            byName.remove(bdev.name());
            owners.remove(bdev.name());
            claim = claims.remove(bdev.name());
        }
        LOG.log(System.Logger.Level.WARNING, "bdev {0} removed: {1}{2}", bdev.name(), why,
                claim == null ? "" : "; telling its claimant " + claim.claimant());
        if (claim == null) {
            bdev.destroy();
            return;
        }
        claim.removed(why);
        Consumer<BdevClaim> listener = claim.removalListener();
        Thread.ofVirtual().name("bdev-removed-" + bdev.name()).start(() -> {
            try {
                if (listener != null) {
                    listener.accept(claim);
                }
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "the removal listener of " + claim + " failed", e);
            } finally {
                bdev.destroy();
            }
        });
    }

    /** Destroys every bdev. */
    public CompletableFuture<Void> destroyAll() {
        List<Bdev> all;
        synchronized (this) {
            all = new ArrayList<>(byName.values());
            byName.clear();
            owners.clear();
            claims.clear();     // shutting down: claimants are going too
        }
        return CompletableFuture.allOf(all.stream().map(Bdev::destroy).toArray(CompletableFuture[]::new));
    }
}
