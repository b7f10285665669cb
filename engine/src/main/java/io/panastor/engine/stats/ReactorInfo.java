package io.panastor.engine.stats;

/**
 * A reactor and its load. {@code cpu} is -1 when unpinned; {@code mode} its {@code CoreMode}
 * (AUTO, DEDICATED, SHARED) and {@code sharesCore} whether it parks as soon as it is idle now.
 * {@code busyFraction} is {@code busyNanos / uptimeNanos}: the share of its time since it
 * started spent in duty cycles that did work (two readings a while apart give the share in
 * between: their {@code busyNanos} difference over their {@code uptimeNanos} difference).
 * Immutable.
 */
public record ReactorInfo(int id, int cpu, String mode, long cycles, long parks, double busyFraction, long busyNanos,
                          long uptimeNanos, boolean sharesCore) {
}
