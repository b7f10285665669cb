package io.panastor.api.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class BdevArgsTest {
    @Test
    void relativePathsBecomeAbsoluteAndEverythingElseIsLeftAlone() {
        String cwd = Path.of("").toAbsolutePath().toString();
        assertThat(BdevArgs.resolve("disk.img")).isEqualTo(cwd + "/disk.img");
        assertThat(BdevArgs.resolve("./a/../disk.img")).isEqualTo(cwd + "/disk.img");
        assertThat(BdevArgs.resolve(List.of("/dev/loop0", "malloc:///m0?size_mb=8", "nvmf://127.0.0.1:4420/nqn.x:y")))
                .containsExactly("/dev/loop0", "malloc:///m0?size_mb=8", "nvmf://127.0.0.1:4420/nqn.x:y");
    }
}
