package io.panastor.engine.rebuild;

/** What a rebuild copies: the whole volume, or only the segments its child missed while away. */
public enum RebuildKind {
    FULL,
    PARTIAL
}
