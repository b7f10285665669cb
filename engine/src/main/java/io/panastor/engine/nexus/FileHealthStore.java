package io.panastor.engine.nexus;

import io.panastor.engine.DurableFile;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Child health in files: one per nexus key in a directory ({@code <state-dir>/nexus-health}),
 * named by the key URL-encoded. A file is written whole to a temporary file, synced, renamed
 * over the old one and the directory synced, so a crash leaves the old record or the new,
 * never half of one. Its text:
 *
 * <pre>
 * panastor-nexus-health 1
 * clean_shutdown=false
 * child UUID healthy|unhealthy URI
 * log SINCE_MS SEGMENT_BLOCKS BLOCK_COUNT BASE64_BITS
 * </pre>
 *
 * A {@code log} line belongs to the child line before it: the segments written since that
 * child left the IO path.
 *
 * <p>Thread-safety: any thread; writes of one key are serialised by the nexus that owns it.
 */
public final class FileHealthStore implements HealthStore {
    static final String HEADER = "panastor-nexus-health 1";
    private final Path dir;

    public FileHealthStore(Path dir) throws IOException {
        this.dir = dir;
        Files.createDirectories(dir);
    }

    public Path dir() {
        return dir;
    }

    private Path file(String key) {
        return dir.resolve(URLEncoder.encode(key, StandardCharsets.UTF_8) + ".health");
    }

    @Override
    public Optional<HealthRecord> load(String key) throws IOException {
        List<String> lines;
        try {
            lines = Files.readAllLines(file(key), StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
        if (lines.size() < 2 || !lines.get(0).equals(HEADER) || !lines.get(1).startsWith("clean_shutdown=")) {
            throw new IOException("child health record " + file(key) + " is not in the expected format");
        }
        boolean clean = Boolean.parseBoolean(lines.get(1).substring("clean_shutdown=".length()));
        List<HealthRecord.ChildHealth> children = new ArrayList<>();
        for (String line : lines.subList(2, lines.size())) {
            if (line.startsWith("log ")) {
                String[] f = line.split(" ", -1);     // an empty log's bits are the empty string
                if (f.length != 5 || children.isEmpty() || children.getLast().log() != null) {
                    throw new IOException("child health record " + file(key) + " has a bad line: " + line);
                }
                HealthRecord.ChildHealth last = children.removeLast();
                try {
                    children.add(new HealthRecord.ChildHealth(last.uuid(), last.uri(), last.healthy(),
                            new HealthRecord.Log(Long.parseLong(f[1]), Long.parseLong(f[2]), Long.parseLong(f[3]),
                                    java.util.BitSet.valueOf(java.util.Base64.getDecoder().decode(f[4])))));
                } catch (IllegalArgumentException e) {
                    throw new IOException("child health record " + file(key) + " has a bad line: " + line, e);
                }
                continue;
            }
            String[] f = line.split(" ", 4);
            if (f.length != 4 || !f[0].equals("child") || !(f[2].equals("healthy") || f[2].equals("unhealthy"))) {
                throw new IOException("child health record " + file(key) + " has a bad line: " + line);
            }
            children.add(new HealthRecord.ChildHealth(f[1], f[3], f[2].equals("healthy")));
        }
        return Optional.of(new HealthRecord(clean, children));
    }

    @Override
    public void save(String key, HealthRecord record) throws IOException {
        StringBuilder text = new StringBuilder(HEADER).append('\n')
                .append("clean_shutdown=").append(record.cleanShutdown()).append('\n');
        for (HealthRecord.ChildHealth c : record.children()) {
            if (c.uri().indexOf('\n') >= 0 || c.uuid().indexOf(' ') >= 0) {
                throw new IOException("child " + c.uri() + " cannot be recorded: its URI or UUID has a separator in it");
            }
            text.append("child ").append(c.uuid()).append(' ').append(c.healthy() ? "healthy" : "unhealthy")
                    .append(' ').append(c.uri()).append('\n');
            HealthRecord.Log log = c.log();
            if (log != null) {
                text.append("log ").append(log.sinceMillis()).append(' ').append(log.segmentBlocks()).append(' ')
                        .append(log.blockCount()).append(' ')
                        .append(java.util.Base64.getEncoder().encodeToString(log.dirty().toByteArray())).append('\n');
            }
        }
        DurableFile.replace(file(key), text.toString().getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public void delete(String key) throws IOException {
        if (Files.deleteIfExists(file(key))) {
            DurableFile.syncDirectory(dir);
        }
    }
}
