package io.panastor.api.daemon;

import io.panastor.api.control.v1.NexusHealthRecord;
import io.panastor.engine.nexus.HealthRecord;
import java.util.BitSet;
import java.util.List;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** A nexus's child health, dirty-region logs included, is the same after a trip through the control plane's record. */
class ControlPlaneHealthStoreTest {
    @Test
    void aRecordSurvivesTheRoundTrip() throws Exception {
        BitSet dirty = new BitSet();
        dirty.set(3);
        dirty.set(700);
        HealthRecord r = new HealthRecord(true, List.of(
                new HealthRecord.ChildHealth("u1", "bdev:///u1?uuid=u1", true),
                new HealthRecord.ChildHealth("u2", "nvmf://127.0.0.1:8420/nqn.2019-05.io.openebs:u2", false,
                        new HealthRecord.Log(1_700_000_000_000L, 256, 65536, dirty)),
                new HealthRecord.ChildHealth("u3", "nvmf://127.0.0.1:8420/nqn.2019-05.io.openebs:u3", false,
                        new HealthRecord.Log(5, 256, 65536, new BitSet()))));
        NexusHealthRecord p = ControlPlaneHealthStore.toProto("vol", "node-1", r);
        assertThat(p.getKey()).isEqualTo("vol");
        assertThat(p.getNode()).isEqualTo("node-1");
        HealthRecord back = ControlPlaneHealthStore.fromProto(NexusHealthRecord.parseFrom(p.toByteArray()));
        assertThat(back).isEqualTo(r);
        assertThat(back.children().get(1).log().dirty()).isEqualTo(dirty);
        assertThat(back.children().get(0).log()).isNull();
        assertThat(back.children().get(2).log().dirty()).isEqualTo(new BitSet());
    }
}
