package io.panastor.engine.nexus;

/** What {@code ChildOperation} asks of a child. */
public enum ChildAction {
    /** Back into the nexus: it takes writes from now on (and reads once rebuilt). */
    ONLINE,
    /** Out of the IO path for now (a partial rebuild can bring it back later). */
    OFFLINE,
    /** Out of the IO path for good: faulted by the client (only a full rebuild brings it back). */
    OFFLINE_PERMANENT
}
