package io.panastor.engine.nvmf.host;

import io.panastor.reactor.Reactor;
import io.panastor.reactor.Reactors;
import java.util.List;

/**
 * The reactor admin queues run on when the registry that makes them was given no reactors
 * (tools and tests that build a bare {@code new Bdevs()}): one unpinned daemon reactor,
 * started on first use and shared by every such admin queue — still no thread per bdev. An
 * engine gives its registry its reactors, and its admin queues run on those.
 *
 * <p>Thread-safety: any thread.
 */
final class FallbackReactor {
    private static final int RING_ENTRIES = 256;
    private static Reactors reactors;

    private FallbackReactor() {
    }

    static synchronized Reactor get() {
        if (reactors == null) {
            reactors = Reactors.start(List.of(io.panastor.natives.Cpu.allowedCpus().getFirst()), false, RING_ENTRIES);
        }
        return reactors.get(0);
    }
}
