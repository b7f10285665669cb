package io.panastor.bench;

import java.io.Console;
import java.io.PrintStream;

/**
 * Where a long phase is, for the person watching: a status line on stderr, rewritten in place
 * ({@code \r}) and only on a terminal, and notes (lines that stay) on stderr always — never on
 * stdout, where results go. Control path, one thread.
 */
final class Progress {
    /** Shows nothing and notes nothing (tests, JSON consumers that capture stderr). */
    static final Progress NONE = new Progress(null, false);

    private final PrintStream err;
    private final boolean terminal;
    private int width;

    Progress(PrintStream err, boolean terminal) {
        this.err = err;
        this.terminal = terminal && err != null;
    }

    /** Notes to stderr; the status line only when this process talks to a terminal and {@code lines} is on. */
    static Progress toStderr(boolean lines) {
        Console c = System.console();
        return new Progress(System.err, lines && c != null && c.isTerminal());
    }

    /** Replaces the status line (terminal only). */
    void show(String line) {
        if (!terminal) {
            return;
        }
        err.print("\r" + line + " ".repeat(Math.max(0, width - line.length())));
        err.flush();
        width = Math.max(width, line.length());   // what the screen's line holds, padding included
    }

    /** Removes the status line. */
    void clear() {
        if (width > 0) {
            err.print("\r" + " ".repeat(width) + "\r");
            err.flush();
            width = 0;
        }
    }

    /** A line that stays, on stderr. */
    void note(String line) {
        if (err == null) {
            return;
        }
        clear();
        err.println(line);
        err.flush();
    }
}
