package io.panastor.reactor;

/**
 * Work a reactor runs on every duty cycle, as an SPDK poller does. Returns how much it did
 * (0 = idle), which the reactor hands to its idle strategy. A poller that throws is logged
 * and removed; the reactor lives on. Called only on its reactor's thread.
 */
@FunctionalInterface
public interface Poller {
    int poll();
}
