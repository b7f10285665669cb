package io.panastor.engine.bdev;

import io.panastor.reactor.Reactor;

/**
 * What a kind may use while it makes a bdev ({@link BdevFactory#createAsync}).
 *
 * @param home  the reactor for the new bdev's control-path work (a remote bdev's admin queue,
 *              say): {@link Bdevs} hands its reactors out round-robin, so such work spreads over
 *              the engine; {@code null} when the registry was given no reactors
 * @param bdevs the registry making the bdev, for a kind built on other bdevs (delay): it finds
 *              its base there and claims it ({@link Bdevs#claim}); {@code null} when a factory
 *              is called outside a registry
 */
public record BdevContext(Reactor home, Bdevs bdevs) {
    /** A context with no reactor and no registry. */
    public static final BdevContext NONE = new BdevContext(null, null);

    /** A context with a home reactor and no registry. */
    public BdevContext(Reactor home) {
        this(home, null);
    }
}
