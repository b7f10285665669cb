package io.panastor.engine.bdev;

import java.util.function.Consumer;

/**
 * An exclusive claim on a bdev, as an SPDK module claims its base bdevs: a pool or a nexus
 * takes one on each bdev it builds on, so that nothing else claims, destroys or exports it
 * underneath. A second claim is refused (BUSY) with this claimant's name; closing the claim
 * releases it. Made by {@link Bdevs#claim}.
 *
 * <p>A claim may carry a removal listener: when the bdev is hot-removed (its device is gone
 * for good) the registry frees the claim and calls the listener once, so that a mirror can
 * fault that child. See {@link Bdevs#claim(String, String, Consumer)}.
 *
 * <p>Thread-safety: any thread; {@link #close()} more than once does nothing.
 */
public final class BdevClaim implements AutoCloseable {
    private final Bdevs registry;
    private final Bdev bdev;
    private final String claimant;
    private final Consumer<BdevClaim> onRemoved;
    private volatile boolean released;
    private volatile String removedWhy;

    BdevClaim(Bdevs registry, Bdev bdev, String claimant, Consumer<BdevClaim> onRemoved) {
        this.registry = registry;
        this.bdev = bdev;
        this.claimant = claimant;
        this.onRemoved = onRemoved;
    }

    public Bdev bdev() {
        return bdev;
    }

    /** Who holds the claim (a pool's or nexus's name), as shown to whoever is refused. */
    public String claimant() {
        return claimant;
    }

    public boolean released() {
        return released;
    }

    /** Whether the bdev was hot-removed under this claim (the claim is released then too). */
    public boolean removed() {
        return removedWhy != null;
    }

    /** Why the bdev was hot-removed, or null while it was not. */
    public String removedReason() {
        return removedWhy;
    }

    /** The bdev went for good: the claim is released (the registry forgot it) and the listener told. */
    void removed(String why) {
        removedWhy = why;
        released = true;
    }

    Consumer<BdevClaim> removalListener() {
        return onRemoved;
    }

    /** Releases the claim: the bdev may be claimed or destroyed again. */
    @Override
    public void close() {
        if (!released) {
            released = true;
            registry.release(this);
        }
    }

    @Override
    public String toString() {
        return "claim of " + bdev.name() + " by " + claimant
                + (removedWhy != null ? " (removed: " + removedWhy + ")" : released ? " (released)" : "");
    }
}
