package io.panastor.engine.bdev;

import io.panastor.reactor.Reactor;

/**
 * What a kind may use while it makes a bdev ({@link BdevFactory#createAsync}).
 *
 * @param home the reactor for the new bdev's control-path work (a remote bdev's admin queue,
 *             say): {@link Bdevs} hands its reactors out round-robin, so such work spreads over
 *             the engine; {@code null} when the registry was given no reactors
 */
public record BdevContext(Reactor home) {
    /** A context with no reactor. */
    public static final BdevContext NONE = new BdevContext(null);
}
