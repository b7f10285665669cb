package io.panastor.engine.bdev.delay;

import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BdevClaim;
import io.panastor.engine.bdev.BdevContext;
import io.panastor.engine.bdev.BdevException;
import io.panastor.engine.bdev.BdevFactory;
import io.panastor.engine.bdev.BdevUri;
import io.panastor.engine.bdev.Bdevs;
import io.panastor.engine.error.EngineException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * {@code delay:///NAME?base=BASE[&read_avg_us=N][&read_p99_us=N][&write_avg_us=N][&write_p99_us=N][&max_inflight=N][&uuid=U]}:
 * a {@link DelayBdev} over the registered bdev {@code BASE}, which it claims. Latencies are
 * microseconds (0, the default, adds none); a p99 defaults to its average and may not be
 * below it; {@code max_inflight} 0 (the default) sets no cap. Its UUID is {@code uuid}, or
 * one derived from its name and its base's UUID: the same delay over the same base has the
 * same UUID each time it is made (so a nexus's child health recognises it after a restart).
 *
 * <p>The base is found in the registry making the bdev ({@link BdevContext#bdevs()}), so a
 * delay bdev is made through {@link Bdevs#create}/{@link Bdevs#createAsync}; {@link #create}
 * alone, with no registry, is refused. Thread-safety: stateless, any thread.
 */
public final class DelayBdevFactory implements BdevFactory {
    static final Set<String> PARAMS = Set.of("base", "read_avg_us", "read_p99_us", "write_avg_us", "write_p99_us",
            "max_inflight", "uuid");

    @Override
    public List<String> schemes() {
        return List.of("delay");
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
        uri.requireOnly(PARAMS);
        String name = uri.simpleName();
        String baseName = uri.param("base");
        if (baseName == null || baseName.isBlank()) {
            throw BdevUri.invalid(uri.text(), "a delay bdev needs its base bdev: delay:///NAME?base=BASE_BDEV_NAME");
        }
        long readAvg = micros(uri, "read_avg_us", 0);
        long readP99 = micros(uri, "read_p99_us", readAvg);
        long writeAvg = micros(uri, "write_avg_us", 0);
        long writeP99 = micros(uri, "write_p99_us", writeAvg);
        requireAtLeast(uri, "read", readP99, readAvg);
        requireAtLeast(uri, "write", writeP99, writeAvg);
        long maxInflight = uri.nonNegativeLong("max_inflight", 0);
        if (maxInflight > Integer.MAX_VALUE) {
            throw BdevUri.invalid(uri.text(), "parameter max_inflight is too large: " + maxInflight);
        }
        if (bdevs == null) {
            throw new BdevException(EngineException.Reason.INTERNAL, "a delay bdev is made through a bdev registry,"
                    + " which holds its base: use Bdevs.create('" + uri.text() + "')");
        }
        Bdev base = bdevs.get(baseName);
        UUID uuid = uri.param("uuid") != null ? uri.uuidOrRandom() : UUID.nameUUIDFromBytes(
                ("delay:" + name + ":" + base.uuid()).getBytes(StandardCharsets.UTF_8));
        DelayBdev made = new DelayBdev(name, uuid, uri.canonical(), base,
                new long[] {readAvg * 1000, readP99 * 1000, writeAvg * 1000, writeP99 * 1000}, (int) maxInflight);
        BdevClaim claim = bdevs.claim(base.name(), "delay " + name, made::baseRemoved);
        made.claimed(claim);
        return made;
    }

    /** A latency parameter in microseconds, at most an hour (so that nanoseconds cannot overflow). */
    private static long micros(BdevUri uri, String key, long fallback) {
        long us = uri.nonNegativeLong(key, fallback);
        if (us > 3_600_000_000L) {
            throw BdevUri.invalid(uri.text(), "parameter " + key + " is more than an hour: " + us + " us");
        }
        return us;
    }

    private static void requireAtLeast(BdevUri uri, String kind, long p99, long avg) {
        if (p99 < avg) {
            throw BdevUri.invalid(uri.text(), kind + "_p99_us (" + p99 + ") must be at least " + kind + "_avg_us ("
                    + avg + ")");
        }
    }
}
