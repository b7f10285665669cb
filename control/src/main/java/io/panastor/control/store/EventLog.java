package io.panastor.control.store;

import io.panastor.api.control.v1.Event;
import java.util.List;

/**
 * What the control plane did to an object, for users to read ({@code volume get}, or
 * {@code kubectl describe} in a cluster). Best effort: a record that cannot be written is
 * logged and dropped, never failing the action it tells of. Kinds are {@code volume} and
 * {@code pool}; names their UUIDs and names.
 */
public interface EventLog {
    /** How many events a log keeps per object (older ones drop off). */
    int KEPT = 32;

    void record(String kind, String name, boolean warning, String reason, String message);

    /** The object's events, oldest first. */
    List<Event> list(String kind, String name);

    /** The object is gone: its events may go too. */
    void forget(String kind, String name);
}
