package io.panastor.engine.nexus;

/** Why a child is in its state (Mayastor's {@code ChildStateReason}, plus hot removal). */
public enum ChildReason {
    NONE,
    /** Closed by the client (offline). */
    CLOSED,
    /** Its device could not be opened again. */
    CANNOT_OPEN,
    /** It failed an IO. */
    IO_FAILURE,
    /** Faulted on the client's request. */
    BY_CLIENT,
    /** It missed writes and is waiting to be brought up to date. */
    OUT_OF_SYNC,
    /** Its pool had no space for a write the others took. */
    NO_SPACE,
    /** An IO or admin command to it timed out. */
    TIMED_OUT,
    /** Its device went away for good (a remote whose controller was lost). */
    HOT_REMOVED,
    /** Its rebuild failed (no source left, or the copy could not be made healthy). */
    REBUILD_FAILED
}
