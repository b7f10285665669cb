package io.panastor.engine.bdev;

/**
 * Told when an IO ends, on the reactor that submitted it. The callback reads the status
 * and then either reuses the descriptor for the next IO or {@link BdevIo#release()}s it.
 */
@FunctionalInterface
public interface IoCompletion {
    void onIoComplete(BdevIo io);
}
