package io.panastor.engine.nexus;

/** A nexus's state, from its children's (Mayastor's {@code NexusState}). */
public enum NexusState {
    /** Every child is healthy. */
    ONLINE,
    /** At least one child is healthy and at least one is not. */
    DEGRADED,
    /** No healthy child remains: IO fails. */
    FAULTED,
    /** Shutdown is under way: new IO fails, IO in flight ends. */
    SHUTTING_DOWN,
    /** Shut down: IO fails; it can only be destroyed. */
    SHUTDOWN
}
