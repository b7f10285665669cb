package io.panastor.engine.nexus;

import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BdevClaim;
import io.panastor.engine.rebuild.RebuildJob;
import java.util.UUID;

/**
 * One child of a nexus: the URI it was given, the bdev it opened (and claimed) for it, and
 * its state. The IO path sees a child only through the nexus's {@link ChildSet} snapshots.
 *
 * <p>Thread-safety: its state and device are changed under the nexus's lock
 * ({@link Nexus}); {@link #bdev} is readable from any thread.
 */
final class NexusChild {
    final String uri;
    /** Its slot in the nexus, stable while it is a child: a bit in the IO path's masks. */
    final int id;
    /** The device's UUID as last opened (kept after a hot-remove, for the health record). */
    UUID uuid;
    /** Null while it has no device (hot-removed, or failed to reopen). */
    volatile Bdev bdev;
    BdevClaim claim;
    /** The nexus it belongs to, once it does: whom a hot-remove of its device tells. */
    volatile Nexus owner;
    /** Whether the nexus made the bdev from the URI (then it destroys it when the child goes). */
    boolean ownsBdev;
    ChildState state;
    ChildReason reason;
    /** The segments written since it left the IO path, while it keeps a log (then a partial rebuild will do). */
    DirtyLog log;
    /** Its rebuild job while it has one that has not ended. */
    volatile RebuildJob rebuild;

    NexusChild(String uri, int id, ChildState state, ChildReason reason) {
        this.uri = uri;
        this.id = id;
        this.state = state;
        this.reason = reason;
    }

    void set(ChildState state, ChildReason reason) {
        this.state = state;
        this.reason = reason;
    }

    ChildInfo info() {
        Bdev b = bdev;
        RebuildJob j = rebuild;
        return new ChildInfo(uri, uuid, b == null ? null : b.name(), state, reason, j == null ? null : j.stats());
    }

    HealthRecord.ChildHealth health() {
        DirtyLog l = state == ChildState.OPEN ? null : log;
        return new HealthRecord.ChildHealth(String.valueOf(uuid), uri, state == ChildState.OPEN, l == null ? null
                : new HealthRecord.Log(l.sinceMillis, l.segmentBlocks, l.blockCount, l.snapshot()));
    }

    @Override
    public String toString() {
        return uri;
    }
}
