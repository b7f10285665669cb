package io.panastor.engine.nexus;

import java.util.List;
import java.util.UUID;

/**
 * What CreateNexus asks for.
 *
 * @param name      the nexus's name (its bdev's), unique on the engine
 * @param uuid      its UUID, unique among bdevs
 * @param sizeBytes its size; every child must be at least this big
 * @param children  child URIs: {@code bdev:///NAME} (an existing bdev, such as a replica),
 *                  {@code nvmf://HOST:PORT/NQN} (a remote replica), or any URI a bdev kind
 *                  makes ({@code malloc:///m0?size_mb=64}); at least one, no two alike
 * @param infoKey   the key the child health is persisted under; null or blank for the UUID
 */
public record NexusSpec(String name, UUID uuid, long sizeBytes, List<String> children, String infoKey) {
    public NexusSpec {
        children = children == null ? List.of() : List.copyOf(children);
    }

    /** The key the child health is persisted under. */
    public String key() {
        return infoKey == null || infoKey.isBlank() ? String.valueOf(uuid) : infoKey;
    }
}
