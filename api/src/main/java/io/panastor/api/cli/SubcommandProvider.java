package io.panastor.api.cli;

/**
 * Contributes a subcommand to the {@code panastor} executable. Modules to the right of
 * {@code api} (bench, later control and csi) register one in
 * {@code META-INF/services/io.panastor.api.cli.SubcommandProvider}, so the executable
 * carries them without {@code api} depending on those modules.
 */
public interface SubcommandProvider {
    /** A picocli {@code @Command}-annotated object. */
    Object command();
}
