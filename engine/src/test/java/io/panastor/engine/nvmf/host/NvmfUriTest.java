package io.panastor.engine.nvmf.host;

import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.engine.bdev.BdevUri;
import org.junit.jupiter.api.Test;

class NvmfUriTest {
    @Test
    void aUriWithoutAPortMeansTheStandardNvmeTcpPortThatServeListensOn() {
        NvmfUri u = NvmfUri.of(BdevUri.parse("nvmf://10.0.0.7/nqn.2026-11.io.panastor:serve"));
        assertThat(u.host()).isEqualTo("10.0.0.7");
        assertThat(u.port()).isEqualTo(4420).isEqualTo(NvmfUri.DEFAULT_PORT);
        assertThat(NvmfUri.of(BdevUri.parse("nvmf://10.0.0.7:8420/nqn.x:y")).port()).isEqualTo(8420);
    }
}
