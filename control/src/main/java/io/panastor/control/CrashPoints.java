package io.panastor.control;

/**
 * Called before each step of an operation that changes an engine or the store, by name
 * ({@code volume.create.replica}, {@code store.put}, …). The control plane itself does
 * nothing here; crash tests throw from it to stop an operation at every point in turn, as a
 * kill -9 would, and then start another control plane on the same store.
 */
@FunctionalInterface
public interface CrashPoints {
    CrashPoints NONE = step -> { };

    void reached(String step);
}
