package io.panastor.engine.bdev;

import io.panastor.engine.error.EngineException;
import io.panastor.engine.stats.IoCounters;
import io.panastor.reactor.Reactor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.RejectedExecutionException;

/**
 * What every bdev kind shares: identity, geometry, and one {@link IoChannel} per reactor,
 * closed on its own reactor at {@link #destroy()}.
 *
 * Thread-safety: any thread, except {@link #channel} (on its reactor).
 */
public abstract class AbstractBdev implements Bdev {
    private final String name;
    private final UUID uuid;
    private final String uri;
    private final int blockSize;
    /** Volatile: a bdev may grow (a replica resized, a disk rescanned). */
    private volatile long blockCount;
    private final List<String> aliases = new CopyOnWriteArrayList<>();
    private final Map<Reactor, IoChannel> channels = new ConcurrentHashMap<>();
    /** IO counters by reactor, each confined to its reactor; they outlive the channels that count into them. */
    private final Map<Reactor, IoCounters> counters = new ConcurrentHashMap<>();
    private volatile boolean destroyed;
    private CompletableFuture<Void> destruction;
    /** Why the device went for good, once {@link #removed} is called. Guarded by {@code this}. */
    private String removedWhy;
    /** The registry's hook, installed when it registers this bdev. Guarded by {@code this}. */
    private java.util.function.Consumer<String> removalHook;

    protected AbstractBdev(String name, UUID uuid, String uri, int blockSize, long blockCount) {
        this.name = name;
        this.uuid = uuid;
        this.uri = uri;
        this.blockSize = blockSize;
        this.blockCount = blockCount;
    }

    @Override
    public final String name() {
        return name;
    }

    @Override
    public final UUID uuid() {
        return uuid;
    }

    @Override
    public final String uri() {
        return uri;
    }

    @Override
    public final List<String> aliases() {
        return List.copyOf(aliases);
    }

    /** Adds another name this bdev is found by. */
    public final void addAlias(String alias) {
        if (!alias.equals(name) && !aliases.contains(alias)) {
            aliases.add(alias);
        }
    }

    @Override
    public final int blockSize() {
        return blockSize;
    }

    @Override
    public final long blockCount() {
        return blockCount;
    }

    /**
     * Changes the size (a kind whose device grew or shrank): IO checks use the new size from
     * the next IO on. Any thread.
     */
    protected final void setBlockCount(long blocks) {
        if (blocks < 0) {
            throw new IllegalArgumentException("negative block count " + blocks);
        }
        this.blockCount = blocks;
    }

    @Override
    public final IoChannel channel(Reactor reactor) {
        if (!reactor.isCurrent()) {
            throw new IllegalStateException("the channel of bdev " + name + " on " + reactor
                    + " must be got on that reactor");
        }
        if (destroyed) {
            throw new BdevException(EngineException.Reason.NOT_FOUND, "bdev " + name + " is being destroyed");
        }
        IoChannel ch = channels.get(reactor);
        if (ch == null) {
            ch = createChannel(reactor);
            channels.put(reactor, ch);
        }
        return ch;
    }

    /** The counters a new channel on {@code reactor} counts into (the last one's, if there was one). */
    final IoCounters countersOn(Reactor reactor) {
        return counters.computeIfAbsent(reactor, r -> new IoCounters());
    }

    @Override
    public final IoCounters ioCounters(Reactor reactor) {
        return counters.get(reactor);
    }

    /**
     * Hot-remove: a kind calls this when its device is gone for good (a remote whose
     * controller is lost past its {@code ctrlr_loss_timeout_ms}), after it has failed every IO
     * it held. The registry that holds the bdev unregisters it, tells its claimant (see
     * {@link Bdevs#claim(String, String, java.util.function.Consumer)}) and destroys it.
     * Only the first call counts; called before the bdev is registered, it takes effect at
     * registration. Any thread.
     */
    protected final void removed(String why) {
        java.util.function.Consumer<String> hook;
        synchronized (this) {
            if (removedWhy != null) {
                return;
            }
            removedWhy = why;
            hook = removalHook;
        }
        if (hook != null) {
            hook.accept(why);
        }
    }

    /** Why the device is gone for good, or null while it is not. Any thread. */
    public final synchronized String removedReason() {
        return removedWhy;
    }

    /** Installed by {@link Bdevs} at registration; runs at once when the bdev was removed already. */
    final void onRemoved(java.util.function.Consumer<String> hook) {
        String why;
        synchronized (this) {
            removalHook = hook;
            why = removedWhy;
        }
        if (why != null && hook != null) {
            hook.accept(why);
        }
    }

    /** Makes this kind's channel; runs on {@code reactor}. */
    protected abstract IoChannel createChannel(Reactor reactor);

    @Override
    public final synchronized CompletableFuture<Void> destroy() {
        if (destruction != null) {
            return destruction;
        }
        destroyed = true;
        List<CompletableFuture<Void>> closes = new ArrayList<>();
        for (Map.Entry<Reactor, IoChannel> e : channels.entrySet()) {
            IoChannel ch = e.getValue();
            // A channel whose reactor has stopped has nothing in flight and nothing to close.
            closes.add(e.getKey().submit(ch::close)
                    .exceptionallyCompose(t -> t.getCause() instanceof RejectedExecutionException
                            || t instanceof RejectedExecutionException
                            ? CompletableFuture.completedFuture(CompletableFuture.completedFuture(null))
                            : CompletableFuture.failedFuture(t))
                    .thenCompose(f -> f));
        }
        destruction = CompletableFuture.allOf(closes.toArray(CompletableFuture[]::new))
                .handle((v, t) -> t)
                .thenCompose(failure -> {
                    channels.clear();
                    return releaseAsync().thenCompose(v -> failure == null ? CompletableFuture.<Void>completedFuture(null)
                            : CompletableFuture.<Void>failedFuture(failure));
                });
        return destruction;
    }

    /** Frees the device's resources once every channel is closed. */
    protected abstract void release();

    /**
     * {@link #release} for a kind that has goodbyes to say once the channels are closed (a
     * remote bdev's admin queue disconnecting): {@link #destroy} completes with the returned
     * future. By default {@link #release}, done at once.
     */
    protected CompletableFuture<Void> releaseAsync() {
        release();
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public String toString() {
        return name + " (" + productName() + ", " + blockCount + " x " + blockSize + " B)";
    }
}
