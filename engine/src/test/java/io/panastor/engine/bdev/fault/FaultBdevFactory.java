package io.panastor.engine.bdev.fault;

import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BdevClaim;
import io.panastor.engine.bdev.BdevContext;
import io.panastor.engine.bdev.BdevException;
import io.panastor.engine.bdev.BdevFactory;
import io.panastor.engine.bdev.BdevUri;
import io.panastor.engine.bdev.Bdevs;
import io.panastor.engine.error.EngineException;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * Test kind {@code fault:///NAME?base=BASE}: a {@link FaultBdev} over the registered bdev
 * {@code BASE}, which it claims ({@code fault NAME}). Registered on the test class path only
 * ({@code src/test/resources/META-INF/services}), beside the main kinds. Thread-safety:
 * stateless, any thread.
 */
public final class FaultBdevFactory implements BdevFactory {
    @Override
    public List<String> schemes() {
        return List.of("fault");
    }

    @Override
    public Bdev create(BdevUri uri) {
        return make(uri, null);
    }

    @Override
    public CompletableFuture<Bdev> createAsync(BdevUri uri, BdevContext context) {
        try {
            return CompletableFuture.completedFuture(make(uri, context.bdevs()));
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private static Bdev make(BdevUri uri, Bdevs bdevs) {
        uri.requireOnly(Set.of("base"));
        String name = uri.simpleName();
        String baseName = uri.param("base");
        if (baseName == null || baseName.isBlank()) {
            throw BdevUri.invalid(uri.text(), "a fault bdev needs its base bdev: fault:///NAME?base=BASE_BDEV_NAME");
        }
        if (bdevs == null) {
            throw new BdevException(EngineException.Reason.INTERNAL, "a fault bdev is made through a bdev registry");
        }
        Bdev base = bdevs.get(baseName);
        FaultBdev made = new FaultBdev(name, uri.canonical(), base);
        BdevClaim claim = bdevs.claim(base.name(), "fault " + name, made::baseRemoved);
        made.claimed(claim);
        return made;
    }
}
