package io.panastor.engine.lvs;

import java.util.Map;
import java.util.UUID;

/**
 * What a replica reports (Mayastor's {@code Replica} message, less the share, which the
 * management API keeps in {@link #properties}).
 *
 * @param name           the replica's name, unique on the engine
 * @param uuid           its UUID: also the name of its bdev ({@code bdev:///<uuid>})
 * @param pool           the pool it lives in
 * @param poolUuid       that pool's UUID
 * @param sizeBytes      its size
 * @param thin           whether clusters are allocated on first write (else all at creation)
 * @param allocatedBytes bytes of clusters it owns
 * @param entityId       the owner's id (a volume's UUID), "" for none
 * @param properties     small persistent key-value properties (the share state, say)
 */
public record ReplicaInfo(String name, UUID uuid, String pool, UUID poolUuid, long sizeBytes, boolean thin,
                          long allocatedBytes, String entityId, Map<String, String> properties) {
    /** The name of the replica's bdev. */
    public String bdevName() {
        return uuid.toString();
    }
}
