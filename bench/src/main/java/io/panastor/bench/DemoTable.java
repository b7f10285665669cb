package io.panastor.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * The seed's table: IOPS of 4 KiB random reads, writes and a 50/50 mix on the local disk and on
 * repl=1 and repl=2 volumes, each volume's ratio to local, and beside them the seed's own run
 * (Mayastor, 2020, Intel Optane, fio 4 KiB QD 64 with 8 jobs) and its ratios. Every cell is one
 * word, so the table splits on blanks: IOPS are whole numbers (the seed's in thousands, {@code 585k}),
 * ratios have three decimals, a run that failed is {@code FAILED}. Control path.
 */
final class DemoTable {
    /** One row of the seed: its workload and IOPS local, repl=1, repl=2. */
    record Seed(String workload, long local, long repl1, long repl2) {}

    static final List<Seed> SEED = List.of(
            new Seed("read", 585_000, 579_000, 993_000),
            new Seed("write", 516_000, 490_000, 473_000),
            new Seed("50/50", 476_000, 454_000, 568_000));

    static final List<String> HEADER = List.of("workload", "local", "repl=1", "repl=2", "repl=1/local", "repl=2/local",
            "seed:local", "seed:repl=1", "seed:repl=2", "seed:repl=1/local", "seed:repl=2/local");

    /** A measured cell: the run's IOPS, or NaN when it failed. */
    static String iops(double iops) {
        return Double.isNaN(iops) ? "FAILED" : String.format("%.0f", iops);
    }

    static String ratio(double a, double b) {
        return Double.isNaN(a) || Double.isNaN(b) || b <= 0 ? "-" : String.format("%.3f", a / b);
    }

    /** The table for measured IOPS {@code [row][local, repl=1, repl=2]} (NaN: failed), rows in {@link #SEED} order. */
    static Table table(double[][] measured) {
        Table t = new Table(1, HEADER);
        for (int i = 0; i < SEED.size(); i++) {
            Seed s = SEED.get(i);
            double[] m = measured[i];
            List<String> cells = new ArrayList<>(List.of(s.workload(), iops(m[0]), iops(m[1]), iops(m[2]),
                    ratio(m[1], m[0]), ratio(m[2], m[0]), s.local() / 1000 + "k", s.repl1() / 1000 + "k",
                    s.repl2() / 1000 + "k", ratio(s.repl1(), s.local()), ratio(s.repl2(), s.local())));
            t.row(cells);
        }
        return t;
    }
}
