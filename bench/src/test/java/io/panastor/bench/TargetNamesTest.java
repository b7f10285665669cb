package io.panastor.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class TargetNamesTest {
    @Test
    void nvmfTargetsGoByAddressAndTheTailOfTheirNqn() {
        assertThat(TargetNames.shorten("nvmf://127.0.0.1:4420/nqn.2026-11.io.panastor:serve"))
                .isEqualTo("127.0.0.1:4420/...:serve");
        assertThat(TargetNames.shorten("nvmf://10.1.2.3/nqn.2026-11.io.panastor:serve?nsid=2&hdgst=1&ddgst=1"))
                .isEqualTo("10.1.2.3:4420/...:serve ns 2 HDDGST");
        assertThat(TargetNames.shorten("nvmf://h:1/nqn.x:y")).isEqualTo("h:1/nqn.x:y");
    }

    @Test
    void pathsKeepTheirEndAndOtherUrisLoseTheirParameters() {
        assertThat(TargetNames.shorten("/var/tmp/disk.img")).isEqualTo("/var/tmp/disk.img");
        String deep = "/very/long/path/that/goes/on/and/on/to/the/disk-image-file.img";
        assertThat(TargetNames.shorten(deep)).hasSize(TargetNames.MAX_WIDTH).startsWith("...")
                .endsWith("disk-image-file.img");
        assertThat(TargetNames.shorten("malloc:///m0?size_mb=64&blk_size=4096")).isEqualTo("malloc:///m0");
    }

    @Test
    void targetsThatWouldLookAlikeKeepTheirFullNames() {
        String a = "nvmf://127.0.0.1:4420/nqn.2026-11.io.panastor:serve";
        String b = "nvmf://127.0.0.1:4420/nqn.2026-11.io.other:serve";
        String c = "malloc:///m0?size_mb=8";
        assertThat(TargetNames.shorten(List.of(a, b, c))).containsExactly(a, b, "malloc:///m0");
    }
}
