package io.panastor.bench.archfixture.tgt;

import io.panastor.bench.archfixture.host.FixtureHost;

/** Test fixture for ArchitectureTest: a "target" that uses the "host", which the rules forbid. */
public final class FixtureTarget {
    public int queues(FixtureHost host) {
        return host.queues();
    }
}
