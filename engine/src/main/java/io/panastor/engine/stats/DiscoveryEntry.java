package io.panastor.engine.stats;

/**
 * One entry of a discovery log page (NVMe over Fabrics 1.1 §5.3): a way to reach a
 * subsystem. Names as nvme-cli prints them: {@code trtype} "tcp", {@code adrfam} "ipv4" or
 * "ipv6", {@code subtype} "nvme", "discovery" (a referral) or "current discovery"; a value
 * without a name is its number. {@code cntlid} 0xFFFF is the dynamic controller model.
 * Immutable.
 */
public record DiscoveryEntry(String trtype, String adrfam, String subtype, String traddr, String trsvcid,
                             String subnqn, int portId, int cntlid) {
}
