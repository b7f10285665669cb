import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.panastor.api.control.v1.GetRequest;
import io.panastor.api.control.v1.NodesGrpc;
import io.panastor.api.control.v1.Volume;
import io.panastor.api.control.v1.VolumeReplica;
import io.panastor.api.control.v1.VolumeStatus;
import io.panastor.api.control.v1.VolumesGrpc;
import java.util.StringJoiner;
import java.util.concurrent.TimeUnit;

/**
 * For e2e/heal-time.sh: polls a volume and a node through the control plane every INTERVAL_MS
 * and prints a line, stamped with the epoch millisecond, whenever what it sees changes:
 * {@code EPOCH_MS node=STATUS volume=STATUS replicas=NODE:STATE:PROGRESS,...}. One JVM for the
 * whole watch, since a CLI call costs a JVM start (a second or more here), far longer than the
 * phases it times. Exits 0 once the volume is Online with no replica left on NODE, 1 after
 * TIMEOUT_S. Run from source: {@code java -cp "dist/target/lib/*" e2e/HealWatch.java ...}.
 *   HealWatch CONTROL_PLANE VOLUME NODE INTERVAL_MS TIMEOUT_S
 */
public final class HealWatch {
    public static void main(String[] a) throws Exception {
        String[] hp = a[0].split(":");
        ManagedChannel ch = ManagedChannelBuilder.forAddress(hp[0], Integer.parseInt(hp[1])).usePlaintext().build();
        String volume = a[1];
        String node = a[2];
        long interval = Long.parseLong(a[3]);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.parseLong(a[4]));
        String last = "";
        System.out.println(System.currentTimeMillis() + " watching");
        while (System.nanoTime() < deadline) {
            long t0 = System.nanoTime();
            String line;
            boolean healed = false;
            try {
                var d = io.grpc.Deadline.after(5, TimeUnit.SECONDS);
                Volume v = VolumesGrpc.newBlockingStub(ch).withDeadline(d)
                        .getVolume(GetRequest.newBuilder().setName(volume).build());
                var n = NodesGrpc.newBlockingStub(ch).withDeadline(d).getNode(GetRequest.newBuilder().setName(node).build());
                StringJoiner rs = new StringJoiner(",");
                boolean onNode = false;
                for (VolumeReplica r : v.getState().getReplicasList()) {
                    rs.add(r.getNode() + ":" + r.getState() + ":" + r.getRebuildProgress());
                    onNode |= r.getNode().equals(node);
                }
                line = "node=" + n.getStatus() + " volume=" + v.getState().getStatus() + " replicas=" + rs;
                healed = v.getState().getStatus() == VolumeStatus.VOLUME_ONLINE && !onNode;
            } catch (RuntimeException e) {
                line = "error=" + e.getMessage().replace(' ', '_');
            }
            if (!line.equals(last)) {
                System.out.println(System.currentTimeMillis() + " " + line);
                System.out.flush();
                last = line;
            }
            if (healed) {
                ch.shutdownNow();
                return;
            }
            long left = interval - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            if (left > 0) {
                Thread.sleep(left);
            }
        }
        ch.shutdownNow();
        System.exit(1);
    }
}
