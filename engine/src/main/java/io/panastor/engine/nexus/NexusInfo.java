package io.panastor.engine.nexus;

import java.util.List;
import java.util.UUID;

/**
 * What a nexus reports (Mayastor's {@code Nexus} message, less the device URI, which the
 * management API makes from the NQN and its listener).
 *
 * @param name         its name, also its bdev's name
 * @param uuid         its UUID (a volume's), also its bdev's
 * @param sizeBytes    its size
 * @param state        from its children
 * @param children     in the order they were given or added
 * @param nqn          the subsystem it is published as, null while unpublished
 * @param allowedHosts the hosts that may connect while published; empty for any host
 * @param infoKey      the key its child health is persisted under
 */
public record NexusInfo(String name, UUID uuid, long sizeBytes, NexusState state, List<ChildInfo> children,
                        String nqn, List<String> allowedHosts, String infoKey) {
    public boolean published() {
        return nqn != null;
    }
}
