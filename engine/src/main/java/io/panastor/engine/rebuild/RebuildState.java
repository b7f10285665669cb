package io.panastor.engine.rebuild;

/**
 * Where a rebuild job is in its life (Mayastor's RebuildJobState, with its Init as
 * {@link #QUEUED}). The last three are final: the job is then in its nexus's history.
 */
public enum RebuildState {
    /** Waiting for one of the engine's rebuild slots. */
    QUEUED,
    /** Copying segments. */
    RUNNING,
    /** Paused: no new segments; those in flight at the pause end ({@code tasksActive} counts them). */
    PAUSED,
    /** Stopped by the client, or by the child or nexus going away; the child stays out of reads. */
    STOPPED,
    /** Could not finish: no source left, or the destination failed. */
    FAILED,
    /** Every segment copied and the child made healthy. */
    COMPLETED;

    public boolean finished() {
        return this == STOPPED || this == FAILED || this == COMPLETED;
    }
}
