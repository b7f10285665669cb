package io.panastor.engine.bdev;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;

/**
 * The bdevs of an engine, by name, alias and UUID, and the kinds that make them.
 * Creating from an identical URI again returns the existing bdev (as Mayastor does); a
 * different bdev under a taken name or UUID is refused.
 *
 * Thread-safety: any thread (control plane; methods are synchronized).
 */
public final class Bdevs {
    /** The scheme that names an existing bdev: {@code bdev:///NAME}. */
    public static final String EXISTING_SCHEME = "bdev";

    private final Map<String, BdevFactory> factories = new LinkedHashMap<>();
    private final Map<String, Bdev> byName = new LinkedHashMap<>();

    /** A registry with every kind on the class path. */
    public Bdevs() {
        this(ServiceLoader.load(BdevFactory.class, Bdevs.class.getClassLoader()).stream()
                .map(ServiceLoader.Provider::get).toList());
    }

    public Bdevs(Collection<BdevFactory> kinds) {
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

    /** Creates the bdev that {@code uri} describes, or returns the identical one that exists. */
    public synchronized Bdev create(String uri) {
        BdevUri u = BdevUri.parse(uri);
        if (EXISTING_SCHEME.equals(u.scheme())) {
            u.requireOnly(java.util.Set.of());
            return get(u.simpleName());
        }
        BdevFactory factory = factories.get(u.scheme());
        if (factory == null) {
            throw BdevUri.invalid(u.text(), "unsupported scheme '" + u.scheme() + "' (supported: "
                    + String.join(", ", schemes()) + ", bdev, or an absolute path)");
        }
        String name = factory.nameOf(u);
        Bdev existing = byName.get(name);
        if (existing != null) {
            if (existing.uri().equals(u.canonical())) {
                return existing;
            }
            throw new BdevException(BdevException.Reason.ALREADY_EXISTS, "bdev " + name + " already exists (from "
                    + existing.uri() + "); destroy it first or choose another name");
        }
        Bdev bdev = factory.create(u);
        for (Bdev other : byName.values()) {
            if (other.uuid().equals(bdev.uuid())) {
                bdev.destroy().join();
                throw new BdevException(BdevException.Reason.ALREADY_EXISTS, "uuid " + bdev.uuid()
                        + " is already used by bdev " + other.name());
            }
        }
        if (bdev instanceof AbstractBdev a && !u.text().equals(name)) {
            a.addAlias(u.text());
        }
        byName.put(name, bdev);
        return bdev;
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
        return lookup(key).orElseThrow(() -> new BdevException(BdevException.Reason.NOT_FOUND,
                "no bdev named '" + key + "' (by name, alias or uuid)"));
    }

    public synchronized List<Bdev> list() {
        return new ArrayList<>(byName.values());
    }

    /** Unregisters the bdev and destroys it; completes when its channels are closed and its device released. */
    public CompletableFuture<Void> destroy(String key) {
        Bdev b;
        synchronized (this) {
            b = get(key);
            byName.remove(b.name());
        }
        return b.destroy();
    }

    /** Destroys every bdev. */
    public CompletableFuture<Void> destroyAll() {
        List<Bdev> all;
        synchronized (this) {
            all = new ArrayList<>(byName.values());
            byName.clear();
        }
        return CompletableFuture.allOf(all.stream().map(Bdev::destroy).toArray(CompletableFuture[]::new));
    }
}
