package io.panastor.bench;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Rows of text in columns as wide as their widest cell (the first {@code leftAligned} columns
 * to the left, the rest to the right), printed in one piece with the notes about them after
 * the last row, so that nothing comes between the rows. Control path.
 */
final class Table {
    private final int leftAligned;
    private final List<String[]> rows = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();

    Table(int leftAligned, List<String> header) {
        this.leftAligned = leftAligned;
        rows.add(header.toArray(String[]::new));
    }

    Table row(List<String> cells) {
        if (cells.size() != rows.getFirst().length) {
            throw new IllegalArgumentException(cells.size() + " cells for " + rows.getFirst().length + " columns");
        }
        rows.add(cells.toArray(String[]::new));
        return this;
    }

    /** A line printed under the table (a failure, say), indented. */
    Table note(String text) {
        notes.add(text);
        return this;
    }

    void print(PrintStream out) {
        int columns = rows.getFirst().length;
        int[] widths = new int[columns];
        for (String[] r : rows) {
            for (int c = 0; c < columns; c++) {
                widths[c] = Math.max(widths[c], r[c].length());
            }
        }
        StringBuilder b = new StringBuilder();
        for (String[] r : rows) {
            StringBuilder line = new StringBuilder();
            for (int c = 0; c < columns; c++) {
                String pad = " ".repeat(widths[c] - r[c].length());
                line.append(c == 0 ? "" : "  ").append(c < leftAligned ? r[c] + pad : pad + r[c]);
            }
            b.append(line.toString().stripTrailing()).append(System.lineSeparator());
        }
        for (String n : notes) {
            b.append("  ").append(n).append(System.lineSeparator());
        }
        out.print(b);
        out.flush();
    }
}
