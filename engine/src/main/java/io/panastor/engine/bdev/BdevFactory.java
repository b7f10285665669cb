package io.panastor.engine.bdev;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Makes bdevs of one kind from their URIs. A kind registers its factory in
 * {@code META-INF/services/io.panastor.engine.bdev.BdevFactory}; {@link Bdevs} finds it
 * by scheme, so adding a kind touches no other.
 */
public interface BdevFactory {
    /** URI schemes this kind serves, e.g. {@code ["malloc"]}. */
    List<String> schemes();

    /**
     * The name the bdev for {@code uri} will have (checked before it is made): by default the
     * URI's single path segment, as memory-backed kinds are named ({@code malloc:///NAME}).
     */
    default String nameOf(BdevUri uri) {
        return uri.simpleName();
    }

    /** Makes the bdev, or throws a {@link BdevException} that says what is wrong. Control path. */
    Bdev create(BdevUri uri);

    /**
     * Makes the bdev without blocking the caller: kinds that wait on the network or a device
     * (nvmf) override this, and their future fails with a {@link BdevException} that says what
     * is wrong. By default {@link #create} on the calling thread. Control path.
     */
    default CompletableFuture<Bdev> createAsync(BdevUri uri, BdevContext context) {
        try {
            return CompletableFuture.completedFuture(create(uri));
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }
}
