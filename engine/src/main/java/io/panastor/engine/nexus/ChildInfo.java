package io.panastor.engine.nexus;

import java.util.UUID;

/**
 * One child as a nexus reports it.
 *
 * @param uri    the URI it was added by
 * @param uuid   its device's UUID (the replica's, for a replica), null while it has no device
 * @param bdev   the name of its bdev, null while it has none (removed)
 * @param state  its state
 * @param reason why it is in that state
 * @param rebuild its rebuild job while it has one (queued, running or paused); null otherwise
 */
public record ChildInfo(String uri, UUID uuid, String bdev, ChildState state, ChildReason reason,
                        io.panastor.engine.rebuild.RebuildStats rebuild) {
    public ChildInfo(String uri, UUID uuid, String bdev, ChildState state, ChildReason reason) {
        this(uri, uuid, bdev, state, reason, null);
    }

    /** Whether the child holds an up-to-date copy (what the persisted child health calls healthy). */
    public boolean healthy() {
        return state == ChildState.OPEN;
    }
}
