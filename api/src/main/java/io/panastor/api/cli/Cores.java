package io.panastor.api.cli;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code --cores} as the engine takes it: a count ({@code 2}: the first two cores this process
 * may run on) or a list ({@code 0,1}, {@code 2-3}, or in brackets as SPDK writes one,
 * {@code [3]} for core 3 alone).
 */
public final class Cores {
    private Cores() {
    }

    /** The cores {@code text} names, each one of {@code allowed}; errors name the option and value. */
    public static List<Integer> parse(String text, List<Integer> allowed) {
        String t = text == null ? "" : text.strip();
        if (t.isEmpty()) {
            throw new IllegalArgumentException("--cores takes a count (2) or a list (0,1 or 2-3 or [3]), got nothing");
        }
        boolean bracketed = t.startsWith("[") && t.endsWith("]");
        if (!bracketed && t.chars().allMatch(Character::isDigit)) {
            int n = number(t, text);
            if (n < 1 || n > allowed.size()) {
                throw new IllegalArgumentException("--cores " + text + ": this process may run on " + allowed.size()
                        + " cores " + allowed + ", so a count must be 1.." + allowed.size());
            }
            return List.copyOf(allowed.subList(0, n));
        }
        String body = bracketed ? t.substring(1, t.length() - 1) : t;
        Set<Integer> cores = new LinkedHashSet<>();
        for (String part : body.split(",", -1)) {
            String p = part.strip();
            if (p.isEmpty()) {
                throw new IllegalArgumentException("--cores " + text + ": empty entry in the list");
            }
            int dash = p.indexOf('-');
            int from = number(dash < 0 ? p : p.substring(0, dash), text);
            int to = dash < 0 ? from : number(p.substring(dash + 1), text);
            if (to < from) {
                throw new IllegalArgumentException("--cores " + text + ": range " + p + " runs backwards");
            }
            for (int c = from; c <= to; c++) {
                if (!allowed.contains(c)) {
                    throw new IllegalArgumentException("--cores " + text + ": core " + c
                            + " is not one this process may run on " + allowed);
                }
                cores.add(c);
            }
        }
        return new ArrayList<>(cores);
    }

    private static int number(String s, String text) {
        try {
            return Integer.parseInt(s.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--cores " + text + ": '" + s.strip() + "' is not a core number");
        }
    }
}
