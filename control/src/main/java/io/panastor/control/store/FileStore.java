package io.panastor.control.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;

/**
 * The embedded store: one file per key under a directory ({@code volumes/UUID} is
 * {@code DIR/volumes/UUID}). A put writes {@code .NAME.tmp}, fsyncs it, renames it over
 * the key's file and fsyncs the directory; a delete unlinks and fsyncs the directory. So
 * after kill -9 or a power cut a key holds its old value or its new one. Each file ends with a
 * CRC32C of its contents: a file that does not check (a disk that lied about a flush) is an
 * error naming it rather than data taken as good. Leftover temporary files are removed at open.
 */
public final class FileStore implements Store {
    private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:@-]*");
    private static final String TMP_SUFFIX = ".tmp";
    private final Path root;

    public FileStore(Path root) throws IOException {
        this.root = root.toAbsolutePath().normalize();
        Files.createDirectories(this.root);
        cleanTemporaries(this.root);
    }

    public Path root() {
        return root;
    }

    private static void cleanTemporaries(Path dir) throws IOException {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                if (Files.isDirectory(p)) {
                    cleanTemporaries(p);
                } else if (p.getFileName().toString().endsWith(TMP_SUFFIX)) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    private Path path(String key) {
        String[] parts = key.split("/", -1);
        Path p = root;
        for (String part : parts) {
            if (!SEGMENT.matcher(part).matches() || part.endsWith(TMP_SUFFIX)) {
                throw new IllegalArgumentException("store key '" + key + "': each part must be letters, digits or "
                        + "-._:@ and start with a letter or digit");
            }
            p = p.resolve(part);
        }
        return p;
    }

    @Override
    public Optional<byte[]> get(String key) throws IOException {
        Path p = path(key);
        byte[] raw;
        try {
            raw = Files.readAllBytes(p);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
        return Optional.of(check(p, raw));
    }

    private static byte[] check(Path p, byte[] raw) throws IOException {
        if (raw.length < 4) {
            throw new IOException("store file " + p + " is " + raw.length + " bytes: too short to be a record");
        }
        CRC32C crc = new CRC32C();
        crc.update(raw, 0, raw.length - 4);
        int want = ByteBuffer.wrap(raw, raw.length - 4, 4).getInt();
        if ((int) crc.getValue() != want) {
            throw new IOException("store file " + p + " fails its checksum: it was not written whole");
        }
        return java.util.Arrays.copyOf(raw, raw.length - 4);
    }

    @Override
    public synchronized void put(String key, byte[] value) throws IOException {
        Path p = path(key);
        Path dir = p.getParent();
        Files.createDirectories(dir);
        Path tmp = dir.resolve("." + p.getFileName() + TMP_SUFFIX);
        CRC32C crc = new CRC32C();
        crc.update(value);
        ByteBuffer body = ByteBuffer.allocate(value.length + 4).put(value).putInt((int) crc.getValue()).flip();
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            while (body.hasRemaining()) {
                ch.write(body);
            }
            ch.force(true);
        }
        try {
            Files.move(tmp, p, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("store directory " + dir + " cannot rename atomically", e);
        }
        syncDirectory(dir);
        if (!dir.equals(root)) {
            syncDirectory(dir.getParent());     // a directory made for this key is durable too
        }
    }

    @Override
    public synchronized void delete(String key) throws IOException {
        Path p = path(key);
        if (Files.deleteIfExists(p)) {
            syncDirectory(p.getParent());
        }
    }

    @Override
    public SortedMap<String, byte[]> list(String prefix) throws IOException {
        SortedMap<String, byte[]> out = new TreeMap<>();
        String dirPart = prefix.contains("/") ? prefix.substring(0, prefix.lastIndexOf('/')) : "";
        Path dir = dirPart.isEmpty() ? root : path(dirPart);
        if (!Files.isDirectory(dir)) {
            return out;
        }
        walk(dir, dirPart.isEmpty() ? "" : dirPart + "/", prefix, out);
        return out;
    }

    private void walk(Path dir, String keyPrefix, String want, SortedMap<String, byte[]> out) throws IOException {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                String name = p.getFileName().toString();
                if (name.startsWith(".")) {
                    continue;
                }
                String key = keyPrefix + name;
                if (Files.isDirectory(p)) {
                    walk(p, key + "/", want, out);
                } else if (key.startsWith(want)) {
                    try {
                        out.put(key, check(p, Files.readAllBytes(p)));
                    } catch (NoSuchFileException e) {
                        // deleted while listing
                    }
                }
            }
        }
    }

    private static void syncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }
}
