package io.panastor.api.cli;

import java.nio.file.Path;
import java.util.List;

/**
 * Bdev URIs as a user types them on a command line: a relative file or device path (no
 * {@code scheme://}) means that file in the current directory, as it would to any other
 * tool; the engine itself takes only URIs and absolute paths.
 */
public final class BdevArgs {
    private BdevArgs() {
    }

    /** {@code arg} with a relative path made absolute; URIs and absolute paths unchanged. */
    public static String resolve(String arg) {
        if (arg == null || arg.isEmpty() || arg.contains("://") || arg.startsWith("/")) {
            return arg;
        }
        return Path.of(arg).toAbsolutePath().normalize().toString();
    }

    public static List<String> resolve(List<String> args) {
        return args.stream().map(BdevArgs::resolve).toList();
    }
}
