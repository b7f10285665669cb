package io.panastor.natives;

/**
 * Receives io_uring completions as {@link IoUring#reap} walks the CQ. Called on the thread
 * that owns the ring; {@code res} is the kernel's result (negative errno on failure).
 */
@FunctionalInterface
public interface CompletionHandler {
    void onCompletion(long userData, int res, int flags);
}
