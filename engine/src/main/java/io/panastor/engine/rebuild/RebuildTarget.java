package io.panastor.engine.rebuild;

import io.panastor.engine.bdev.Bdev;
import io.panastor.reactor.Reactor;
import java.util.Set;
import java.util.UUID;

/**
 * What a rebuild job needs of the mirror it rebuilds a child of: the nexus's side of a
 * rebuild. The job knows nothing of nexuses beyond this.
 *
 * <p>Thread-safety: the methods marked "reactor" are called on the job's reactor and must not
 * block; the others from a virtual thread.
 */
public interface RebuildTarget {
    String nexusName();

    UUID nexusUuid();

    int blockSize();

    int bufferAlignment();

    /** The reactor the job runs on. */
    Reactor reactor();

    /** The child being rebuilt. */
    String destinationUri();

    /** Its device (reactor). */
    Bdev destination();

    /**
     * A healthy child to copy from, not among {@code excluded} (URIs); a local one first
     * (one whose device is on this engine); null when there is none. Reactor.
     */
    Source source(Set<String> excluded);

    /** Whether {@code s} is still a healthy child on the same device. Reactor. */
    boolean readable(Source s);

    /** Whether the destination is still this job's, on the same device, taking writes. Reactor. */
    boolean destinationWritable();

    /**
     * Locks blocks {@code [first, first + count)} against modifying IO on every channel of the
     * nexus; {@code onLocked} runs on the job's reactor once no such IO is in flight there. Reactor.
     */
    Object lock(long first, long count, Runnable onLocked);

    /** Ends a lock {@link #lock} granted; the IO it held goes on. Reactor. */
    void unlock(Object lock);

    /** {@code s} failed a read: the nexus faults it unless it is its last healthy child. Reactor. */
    void sourceFailed(Source s, int status, int errno);

    /** The destination failed a write: the nexus faults it. Reactor. */
    void destinationFailed(int status, int errno);

    /**
     * Every segment is copied: the destination becomes a healthy child (its health persisted)
     * if it is still this job's; false if it is not. Virtual thread.
     */
    boolean completed() throws Exception;

    /** The job failed with {@code why}: the destination stays out of reads (faulted). Virtual thread. */
    void failed(String why);

    /** The job reached a final state (after {@link #completed} or {@link #failed}). Any thread. */
    void ended(RebuildJob job);

    /**
     * A child to read from.
     *
     * @param uri  its URI
     * @param bdev its device
     */
    record Source(String uri, Bdev bdev) {
    }
}
