package io.panastor.engine.lvs;

/** A pool's state, as Mayastor's {@code PoolState}. */
public enum PoolState {
    /** Imported and serving: metadata reads and writes work. */
    ONLINE,
    /** A metadata write failed: the pool serves reads of what it has but refuses every change (export and re-import it). */
    FAULTED
}
