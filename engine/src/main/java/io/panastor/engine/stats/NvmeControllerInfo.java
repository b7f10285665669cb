package io.panastor.engine.stats;

/**
 * A remote NVMe controller this engine holds as an initiator (an {@code nvmf://} bdev), as
 * listed for operators. {@code state}: RUNNING (live), RESETTING (being disabled for a reset),
 * RECONNECTING (lost; a new association is being made or waited for), FAULTED (lost past its
 * {@code ctrlr_loss_timeout_ms}: given up), CLOSED. {@code cntlid} is -1 while there is no
 * live controller; {@code ioQueues} is what the controller granted and {@code queueDepth}
 * the entries each IO queue has. The IO counters are the bdev's {@link IoStats}. Immutable.
 */
public record NvmeControllerInfo(String name, String address, String subnqn, String hostnqn, int cntlid, String state,
                                 int ioQueues, int queueDepth, long numReadOps, long numWriteOps, long bytesRead,
                                 long bytesWritten, long numUnmapOps, long bytesUnmapped) {
}
