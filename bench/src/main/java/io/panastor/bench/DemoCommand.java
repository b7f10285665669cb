package io.panastor.bench;

import io.panastor.engine.Engine;
import io.panastor.natives.Cpu;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** {@code panastor demo}: what exists so far, shown on one machine. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"The seed experiment on one machine: a file read and written through Panastor's io_uring",
                "data path next to fio, then the same file served over NVMe/TCP on 127.0.0.1 and measured",
                "through Panastor's initiator, side by side."})
final class DemoCommand extends BenchCommand.LocalOptions implements Callable<Integer> {
    static final String NQN = "nqn.2026-11.io.panastor:demo";

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
        System.out.println("Panastor demo 1/2: the data plane's floor (reactors, io_uring, bdevs), measured against fio.");
        System.out.println();
        LocalBench.Config config = config();
        new LocalBench(config, System.out).run();

        System.out.println();
        System.out.println("Panastor demo 2/2: the same file over NVMe/TCP (target and initiator in this process, "
                + "127.0.0.1), next to the local file.");
        List<Integer> cores = Cpu.allowedCpus();
        try (Engine engine = Engine.start(List.of(cores.getLast()))) {
            Engine.await(engine.createBdev("uring://" + config.file()));
            Engine.await(engine.createSubsystem(NQN, "PANASTOR-DEMO", "Panastor demo", true, List.of()));
            Engine.await(engine.addNamespace(NQN, config.file().toString(), 1));
            InetSocketAddress at = Engine.await(engine.addListener("127.0.0.1", 0));
            String remote = "nvmf://127.0.0.1:" + at.getPort() + "/" + NQN;
            for (Workload.Mode mode : List.of(Workload.Mode.RANDREAD, Workload.Mode.RANDWRITE)) {
                for (int qd : List.of(1, 32)) {
                    System.out.println();
                    TargetBench b = new TargetBench(List.of(config.file().toString(), remote),
                            new Workload(mode, 4096, qd, 0, false), 1, config.runtimeSeconds(),
                            config.rampSeconds(), System.out, false);
                    b.printTable(b.run());
                }
            }
        }
        System.out.println();
        System.out.println("Serve a file yourself: ./panastor serve FILE --listen 127.0.0.1:4420; measure it: "
                + "./panastor bench FILE nvmf://127.0.0.1:4420/nqn.2026-11.io.panastor:serve");
        return 0;
    }
}
