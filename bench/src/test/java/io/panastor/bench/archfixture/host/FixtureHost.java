package io.panastor.bench.archfixture.host;

/** Test fixture for ArchitectureTest: the "host" side of a deliberately violating pair. */
public final class FixtureHost {
    public int queues() {
        return 1;
    }
}
