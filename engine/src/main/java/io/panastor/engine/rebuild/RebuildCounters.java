package io.panastor.engine.rebuild;

/**
 * An engine's rebuild totals since it started, for its metrics.
 *
 * @param bytesRebuilt bytes done by every job (copied, or zeroed where a thin source had none)
 * @param completed    jobs that completed
 * @param failed       jobs that failed
 * @param stopped      jobs that were stopped
 */
public record RebuildCounters(long bytesRebuilt, long completed, long failed, long stopped) {
}
