package io.panastor.engine.nvmf.host;

import io.panastor.engine.error.EngineException;
import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BdevContext;
import io.panastor.engine.bdev.BdevException;
import io.panastor.engine.bdev.BdevFactory;
import io.panastor.engine.bdev.BdevUri;
import io.panastor.reactor.Reactor;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * {@code nvmf://host[:port]/nqn} (or {@code nvmf+tcp://}): connects to the subsystem and
 * makes its namespace a bdev named by the URI, as Mayastor names its nvmf bdevs. Attaching is
 * asynchronous ({@link #createAsync}): the admin queue runs on the reactor the registry gives
 * ({@link BdevContext#home()}), or on the {@link FallbackReactor}.
 */
public final class NvmfBdevFactory implements BdevFactory {
    @Override
    public List<String> schemes() {
        return List.of("nvmf", "nvmf+tcp");
    }

    @Override
    public String nameOf(BdevUri uri) {
        return NvmfUri.of(uri).text();
    }

    @Override
    public Bdev create(BdevUri uri) {
        try {
            return createAsync(uri, BdevContext.NONE).join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException re ? re : e;
        }
    }

    @Override
    public CompletableFuture<Bdev> createAsync(BdevUri uri, BdevContext context) {
        NvmfUri n;
        try {
            n = NvmfUri.of(uri);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
        Reactor home = context.home() != null ? context.home() : FallbackReactor.get();
        UUID uuid = uri.param("uuid") != null ? uri.uuidOrRandom()
                : UUID.nameUUIDFromBytes(n.text().getBytes(StandardCharsets.UTF_8));
        return AdminQueue.attach(n, home).handle((admin, failure) -> {
            if (failure != null) {
                Throwable why = failure instanceof CompletionException && failure.getCause() != null
                        ? failure.getCause() : failure;
                // By what the connection ended with: a target that refuses, cannot be reached or
                // does not answer in time is UNAVAILABLE (try again later); one that answers
                // wrongly (not NVMe/TCP, a refused Connect) is IO_ERROR.
                int errno = why instanceof AdminQueue.AttachFailed f ? f.errno() : io.panastor.natives.Errno.EIO;
                // (as Discovery reads it: EPROTO and EIO are the target's answers, any other errno
                // the connection's failing: refused, unreachable, reset, timed out)
                boolean unreachable = errno != io.panastor.natives.Errno.EPROTO && errno != io.panastor.natives.Errno.EIO;
                EngineException.Reason reason = why instanceof IllegalArgumentException
                        ? EngineException.Reason.INVALID_ARGUMENT     // e.g. a host name that does not resolve
                        : unreachable ? EngineException.Reason.UNAVAILABLE : EngineException.Reason.IO_ERROR;
                throw new BdevException(reason,
                        "cannot attach " + uri.text() + ": " + why.getMessage(), why);
            }
            return new NvmfBdev(n.text(), uuid, n, admin);
        });
    }
}
