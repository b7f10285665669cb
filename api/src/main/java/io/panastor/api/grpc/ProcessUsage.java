package io.panastor.api.grpc;

import io.panastor.api.v1.ResourceUsage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The engine process's resource usage, as getrusage(2) reports it, read from procfs. */
final class ProcessUsage {
    private ProcessUsage() {
    }

    static ResourceUsage read() {
        ResourceUsage.Builder u = ResourceUsage.newBuilder();
        try {
            // /proc/self/stat: the fields after the command name's closing parenthesis, from field 3 on.
            String stat = Files.readString(Path.of("/proc/self/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            u.setSoftFaults(Long.parseLong(f[9 - 2])).setHardFaults(Long.parseLong(f[11 - 2]));
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("voluntary_ctxt_switches:")) {
                    u.setVolCsw(Long.parseLong(line.substring(line.indexOf(':') + 1).strip()));
                } else if (line.startsWith("nonvoluntary_ctxt_switches:")) {
                    u.setInvolCsw(Long.parseLong(line.substring(line.indexOf(':') + 1).strip()));
                }
            }
            for (String line : Files.readAllLines(Path.of("/proc/self/io"))) {
                // 512-byte block operations are not kept by Linux per process; bytes / 512 stands in.
                if (line.startsWith("read_bytes:")) {
                    u.setInBlockOps(Long.parseLong(line.substring(line.indexOf(':') + 1).strip()) / 512);
                } else if (line.startsWith("write_bytes:")) {
                    u.setOutBlockOps(Long.parseLong(line.substring(line.indexOf(':') + 1).strip()) / 512);
                }
            }
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException("reading this process's usage from /proc: " + e, e);
        }
        return u.build();
    }
}
