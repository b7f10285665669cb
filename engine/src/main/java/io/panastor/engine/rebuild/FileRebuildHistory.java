package io.panastor.engine.rebuild;

import io.panastor.engine.DurableFile;
import java.io.IOException;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Rebuild histories in files: one per nexus key in a directory
 * ({@code <state-dir>/rebuild-history}), named by the key URL-encoded, written whole to a
 * temporary file, synced and renamed. After a header line, one job per line, its fields
 * separated by spaces, text fields URL-encoded ({@code -} for none):
 *
 * <pre>
 * panastor-rebuild-history 1
 * NEXUS NEXUS_UUID CHILD SOURCE KIND STATE FAILURE BLOCK_SIZE SEGMENT_BLOCKS SEGMENTS_TOTAL
 *   SEGMENTS_DONE BLOCKS_TOTAL BLOCKS_DONE BLOCKS_TRANSFERRED STARTED_MS ENDED_MS BYTES_PER_SECOND
 * </pre>
 *
 * <p>Thread-safety: any thread; writes of one key are serialised by {@link Rebuilds}.
 */
public final class FileRebuildHistory implements RebuildHistoryStore {
    static final String HEADER = "panastor-rebuild-history 1";
    private static final int FIELDS = 17;
    private final Path dir;

    public FileRebuildHistory(Path dir) throws IOException {
        this.dir = dir;
        Files.createDirectories(dir);
    }

    private Path file(String key) {
        return dir.resolve(URLEncoder.encode(key, StandardCharsets.UTF_8) + ".history");
    }

    @Override
    public List<RebuildStats> load(String key) throws IOException {
        List<String> lines;
        try {
            lines = Files.readAllLines(file(key), StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return List.of();
        }
        if (lines.isEmpty() || !lines.getFirst().equals(HEADER)) {
            throw new IOException("rebuild history " + file(key) + " is not in the expected format");
        }
        List<RebuildStats> out = new ArrayList<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split(" ");
            if (f.length != FIELDS) {
                throw new IOException("rebuild history " + file(key) + " has a bad line: " + line);
            }
            try {
                out.add(new RebuildStats(text(f[0]), UUID.fromString(f[1]), text(f[2]), text(f[3]),
                        RebuildKind.valueOf(f[4]), RebuildState.valueOf(f[5]), text(f[6]), Integer.parseInt(f[7]),
                        Long.parseLong(f[8]), Long.parseLong(f[9]), Long.parseLong(f[10]), Long.parseLong(f[11]),
                        Long.parseLong(f[12]), Long.parseLong(f[13]), 0, 0, time(f[14]), time(f[15]),
                        Long.parseLong(f[16])));
            } catch (IllegalArgumentException e) {
                throw new IOException("rebuild history " + file(key) + " has a bad line: " + line, e);
            }
        }
        return out;
    }

    @Override
    public void save(String key, List<RebuildStats> records) throws IOException {
        StringBuilder s = new StringBuilder(HEADER).append('\n');
        for (RebuildStats r : records) {
            s.append(field(r.nexus())).append(' ').append(r.nexusUuid()).append(' ').append(field(r.childUri()))
                    .append(' ').append(field(r.sourceUri())).append(' ').append(r.kind()).append(' ')
                    .append(r.state()).append(' ').append(field(r.failure())).append(' ').append(r.blockSize())
                    .append(' ').append(r.segmentBlocks()).append(' ').append(r.segmentsTotal()).append(' ')
                    .append(r.segmentsDone()).append(' ').append(r.blocksTotal()).append(' ').append(r.blocksDone())
                    .append(' ').append(r.blocksTransferred()).append(' ').append(millis(r.started())).append(' ')
                    .append(millis(r.ended())).append(' ').append(r.bytesPerSecond()).append('\n');
        }
        DurableFile.replace(file(key), s.toString().getBytes(StandardCharsets.UTF_8));
    }

    private static String field(String v) {
        return v == null ? "-" : URLEncoder.encode(v, StandardCharsets.UTF_8);
    }

    private static String text(String f) {
        return f.equals("-") ? null : URLDecoder.decode(f, StandardCharsets.UTF_8);
    }

    private static String millis(Instant t) {
        return t == null ? "-" : Long.toString(t.toEpochMilli());
    }

    private static Instant time(String f) {
        return f.equals("-") ? null : Instant.ofEpochMilli(Long.parseLong(f));
    }
}
