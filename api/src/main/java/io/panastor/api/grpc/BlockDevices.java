package io.panastor.api.grpc;

import io.panastor.api.v1.BlockDevice;
import io.panastor.engine.bdev.Bdev;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * This host's block devices, from sysfs: what a pool could be made on. A device is available
 * when nothing holds it (no holders, no mounted filesystem on it or a partition of it, no bdev of
 * this engine on it) and it has a size.
 */
final class BlockDevices {
    static final Path SYS_BLOCK = Path.of("/sys/block");

    private BlockDevices() {
    }

    static List<BlockDevice> list(boolean all, List<Bdev> bdevs) {
        return list(SYS_BLOCK, Path.of("/proc/self/mounts"), all, bdevs);
    }

    static List<BlockDevice> list(Path sysBlock, Path mounts, boolean all, List<Bdev> bdevs) {
        Set<String> mounted = mountedDevices(mounts);
        Set<String> used = new HashSet<>();
        for (Bdev b : bdevs) {
            String uri = b.uri();
            int dev = uri.indexOf("/dev/");
            if (dev >= 0) {
                String rest = uri.substring(dev + "/dev/".length());
                int q = rest.indexOf('?');
                used.add(q < 0 ? rest : rest.substring(0, q));
            }
        }
        List<BlockDevice> out = new ArrayList<>();
        if (!Files.isDirectory(sysBlock)) {
            return out;
        }
        try (DirectoryStream<Path> disks = Files.newDirectoryStream(sysBlock)) {
            for (Path disk : disks) {
                String name = disk.getFileName().toString();
                long size = number(disk.resolve("size"));
                if (size == 0) {
                    continue;       // an unused loop or ram device: nothing to put a pool on
                }
                List<String> partitions = new ArrayList<>();
                try (DirectoryStream<Path> children = Files.newDirectoryStream(disk)) {
                    for (Path c : children) {
                        if (Files.exists(c.resolve("partition"))) {
                            partitions.add(c.getFileName().toString());
                        }
                    }
                }
                boolean inUse = mounted.contains(name) || used.contains(name) || hasHolders(disk);
                for (String p : partitions) {
                    inUse |= mounted.contains(p) || used.contains(p) || hasHolders(disk.resolve(p));
                }
                BlockDevice.Builder b = BlockDevice.newBuilder()
                        .setDevname("/dev/" + name)
                        .setDevtype("disk")
                        .setModel(text(disk.resolve("device/model")))
                        .setDevpath(disk.toRealPath().toString().replaceFirst("^/sys", ""))
                        .setSize(size)
                        .setAvailable(!inUse)
                        .setIsRotational(number(disk.resolve("queue/rotational")) == 1);
                String[] dev = text(disk.resolve("dev")).split(":");
                if (dev.length == 2) {
                    b.setDevmajor(Integer.parseInt(dev[0])).setDevminor(Integer.parseInt(dev[1]));
                }
                b.setConnectionType(name.startsWith("nvme") ? "nvme" : name.startsWith("loop") ? "loop"
                        : name.startsWith("vd") ? "virtio" : name.startsWith("sd") ? "scsi" : "");
                if (all || b.getAvailable()) {
                    out.add(b.build());
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("listing " + sysBlock + ": " + e.getMessage(), e);
        }
        out.sort(java.util.Comparator.comparing(BlockDevice::getDevname));
        return out;
    }

    private static boolean hasHolders(Path dev) throws IOException {
        Path h = dev.resolve("holders");
        if (!Files.isDirectory(h)) {
            return false;
        }
        try (DirectoryStream<Path> s = Files.newDirectoryStream(h)) {
            return s.iterator().hasNext();
        }
    }

    private static Set<String> mountedDevices(Path mounts) {
        Set<String> out = new HashSet<>();
        try {
            for (String line : Files.readAllLines(mounts)) {
                String dev = line.split(" ", 2)[0];
                if (dev.startsWith("/dev/")) {
                    out.add(dev.substring("/dev/".length()));
                }
            }
        } catch (IOException e) {
            // no mount table: nothing is known to be mounted
        }
        return out;
    }

    private static String text(Path p) {
        try {
            return Files.readString(p).strip();
        } catch (IOException e) {
            return "";
        }
    }

    private static long number(Path p) {
        String t = text(p);
        try {
            return t.isEmpty() ? 0 : Long.parseLong(t);
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
