package io.panastor.engine.stats;

/**
 * A connection the NVMe/TCP target serves: the queue {@code qid} (0: admin) of controller
 * {@code cntlid} of subsystem {@code subnqn} for host {@code hostnqn}, from {@code peer}
 * (ip:port), on reactor {@code reactor}. Before its fabrics Connect a connection has no
 * controller: {@code subnqn} and {@code hostnqn} are empty and {@code cntlid} and {@code qid}
 * are -1. {@code state} is its transport state (READY, ...). Immutable.
 */
public record TargetConnectionInfo(String subnqn, String hostnqn, int cntlid, int qid, String peer, int reactor,
                                   String state) {
}
