package io.panastor.engine.bdev;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** A memory bdev's size as a URI gives it: size in people's units, Mayastor's size_mb, or num_blocks. */
class GeometryTest {
    private static Geometry of(String uri) {
        return Geometry.of(BdevUri.parse(uri), 512);
    }

    @Test
    void sizeTakesBinaryUnitsAndPlainBytes() {
        assertThat(of("malloc:///m?size=512MiB")).isEqualTo(new Geometry(512, (512L << 20) / 512));
        assertThat(of("malloc:///m?size=1GiB&blk_size=4096")).isEqualTo(new Geometry(4096, (1L << 30) / 4096));
        assertThat(of("malloc:///m?size=1G&blk_size=4096")).isEqualTo(of("malloc:///m?size_mb=1024&blk_size=4096"));
        assertThat(of("malloc:///m?size=1048576")).isEqualTo(new Geometry(512, 2048));
        assertThat(of("malloc:///m?num_blocks=10")).isEqualTo(new Geometry(512, 10));
    }

    @Test
    void aBadSizeSaysHowToWriteOne() {
        assertThatThrownBy(() -> of("malloc:///m?size=lots")).hasMessageContaining("size").hasMessageContaining("512MiB");
        assertThatThrownBy(() -> of("malloc:///m?size=1000&blk_size=4096")).hasMessageContaining("whole number");
        assertThatThrownBy(() -> of("malloc:///m?size=1GiB&size_mb=1")).hasMessageContaining("exactly one");
        assertThatThrownBy(() -> of("malloc:///m")).hasMessageContaining("exactly one");
    }
}
