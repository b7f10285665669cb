package io.panastor.engine;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Waits for a condition in tests, polling, and says which condition did not come true. */
public final class Await {
    private Await() {
    }

    public static void until(String what, Duration timeout, BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout + " waiting for: " + what);
            }
            java.util.concurrent.locks.LockSupport.parkNanos(2_000_000L);
        }
    }
}
