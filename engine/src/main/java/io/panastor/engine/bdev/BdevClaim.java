package io.panastor.engine.bdev;

/**
 * An exclusive claim on a bdev, as an SPDK module claims its base bdevs: a pool or a nexus
 * takes one on each bdev it builds on, so that nothing else claims, destroys or exports it
 * underneath. A second claim is refused (BUSY) with this claimant's name; closing the claim
 * releases it. Made by {@link Bdevs#claim}.
 *
 * <p>Thread-safety: any thread; {@link #close()} more than once does nothing.
 */
public final class BdevClaim implements AutoCloseable {
    private final Bdevs registry;
    private final Bdev bdev;
    private final String claimant;
    private volatile boolean released;

    BdevClaim(Bdevs registry, Bdev bdev, String claimant) {
        this.registry = registry;
        this.bdev = bdev;
        this.claimant = claimant;
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
        return "claim of " + bdev.name() + " by " + claimant + (released ? " (released)" : "");
    }
}
