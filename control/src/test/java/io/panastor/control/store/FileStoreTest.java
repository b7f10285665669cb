package io.panastor.control.store;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FileStoreTest {
    @TempDir
    Path dir;

    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void putGetListDeleteAndReopen() throws Exception {
        FileStore s = new FileStore(dir);
        assertThat(s.get("volumes/a")).isEmpty();
        s.put("volumes/a", b("one"));
        s.put("volumes/b", b("two"));
        s.put("pools/p", b("pool"));
        s.put("volumes/a", b("one again"));
        assertThat(new String(s.get("volumes/a").orElseThrow(), StandardCharsets.UTF_8)).isEqualTo("one again");
        assertThat(s.list("volumes/").keySet()).containsExactly("volumes/a", "volumes/b");
        assertThat(s.list("").keySet()).containsExactly("pools/p", "volumes/a", "volumes/b");
        s.delete("volumes/b");
        s.delete("volumes/missing");
        FileStore again = new FileStore(dir);
        assertThat(again.list("volumes/").keySet()).containsExactly("volumes/a");
        assertThat(new String(again.get("pools/p").orElseThrow(), StandardCharsets.UTF_8)).isEqualTo("pool");
        assertThat(s.get("volumes/b")).isEmpty();
    }

    @Test
    void badKeysAreRefusedAndChangeNothing() throws Exception {
        FileStore s = new FileStore(dir);
        for (String k : new String[] {"../x", "a//b", "", "a/.hidden", "a/b.tmp", "a b"}) {
            assertThatThrownBy(() -> s.put(k, b("x"))).as(k).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("store key");
        }
        assertThat(s.list("")).isEmpty();
    }

    @Test
    void aFileThatWasNotWrittenWholeIsAnErrorNotData() throws Exception {
        FileStore s = new FileStore(dir);
        s.put("volumes/a", b("a value long enough"));
        Path f = dir.resolve("volumes").resolve("a");
        byte[] raw = Files.readAllBytes(f);
        Files.write(f, java.util.Arrays.copyOf(raw, raw.length - 3));
        assertThatThrownBy(() -> s.get("volumes/a")).hasMessageContaining("checksum");
    }

    @Test
    void leftoverTemporaryFilesAreRemovedAtOpen() throws Exception {
        FileStore s = new FileStore(dir);
        s.put("volumes/a", b("x"));
        Files.write(dir.resolve("volumes").resolve(".b.tmp"), b("half"));
        new FileStore(dir);
        assertThat(dir.resolve("volumes").resolve(".b.tmp")).doesNotExist();
        assertThat(new FileStore(dir).list("volumes/").keySet()).containsExactly("volumes/a");
    }

    @Test
    void openNamesTheStoreKinds() throws Exception {
        assertThat(Store.open("file:" + dir.resolve("x"))).isInstanceOf(FileStore.class);
        assertThatThrownBy(() -> Store.open("etcd://somewhere")).hasMessageContaining("file:DIR");
    }
}
