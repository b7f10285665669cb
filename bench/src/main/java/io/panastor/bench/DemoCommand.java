package io.panastor.bench;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** {@code panastor demo}: what exists so far, shown on one machine. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run the local benchmark briefly: Panastor's uring data path next to fio on the same file.")
final class DemoCommand extends BenchCommand.LocalOptions implements Callable<Integer> {
    DemoCommand() {
        size = "256M";
        runtime = 3;
        ramp = 1;
        idleSeconds = 3;
        steadySeconds = 5;
        rounds = 1;
    }

    @Override
    public Integer call() throws Exception {
        System.out.println("Panastor demo: the data plane's floor (reactors, io_uring, bdevs), measured against fio.");
        System.out.println("Longer and steadier: ./panastor bench local");
        System.out.println();
        new LocalBench(config(), System.out).run();
        return 0;
    }
}
