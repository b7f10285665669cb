package io.panastor.engine.rebuild;

import java.time.Instant;
import java.util.UUID;

/**
 * One rebuild job as it is now, or as it ended (a history record).
 *
 * @param nexus             the nexus's name
 * @param nexusUuid         its UUID
 * @param childUri          the child being rebuilt (the destination)
 * @param sourceUri         the child copied from (the latest, after a switch); null before the job started
 * @param kind              full or partial
 * @param state             where the job is
 * @param failure           why it failed or stopped; null otherwise
 * @param blockSize         the nexus's block size
 * @param segmentBlocks     blocks per segment (Mayastor's blocks_per_task)
 * @param segmentsTotal     segments to copy (a partial rebuild: the dirty ones)
 * @param segmentsDone      segments done (copied, or skipped as unallocated on a thin source)
 * @param blocksTotal       blocks to copy
 * @param blocksDone        blocks done (Mayastor's blocks_recovered)
 * @param blocksTransferred blocks actually read and written (the rest were unallocated on the source)
 * @param tasksActive       segments in flight now
 * @param tasksMax          segments the job keeps in flight
 * @param started           when it started copying; null while queued
 * @param ended             when it reached its final state; null before
 * @param bytesPerSecond    bytes done per second of running (paused time not counted)
 */
public record RebuildStats(String nexus, UUID nexusUuid, String childUri, String sourceUri, RebuildKind kind,
                           RebuildState state, String failure, int blockSize, long segmentBlocks, long segmentsTotal,
                           long segmentsDone, long blocksTotal, long blocksDone, long blocksTransferred,
                           int tasksActive, int tasksMax, Instant started, Instant ended, long bytesPerSecond) {

    /** Percent done, 0 to 100 (100 for a job with nothing to copy). */
    public int progressPercent() {
        return blocksTotal == 0 ? 100 : (int) Math.min(100, blocksDone * 100 / blocksTotal);
    }

    public long blocksRemaining() {
        return Math.max(0, blocksTotal - blocksDone);
    }
}
