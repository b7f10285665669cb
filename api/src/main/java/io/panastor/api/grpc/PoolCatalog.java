package io.panastor.api.grpc;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.panastor.engine.error.EngineException;
import io.panastor.engine.error.EngineException.Reason;
import io.panastor.engine.DurableFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The pools this engine should have open, in {@code pools.json} in its state directory: what
 * a restart (or a kill -9) imports again before the engine says it is ready. Written whole on
 * each change, to a temporary file that is synced and renamed over the old one, so a crash
 * leaves the old list or the new one. The pools' own metadata (replicas, their shares) lives
 * on their disks; this only says where the disks are.
 */
public final class PoolCatalog {
    public static final String FILE = "pools.json";

    /** One pool: its name, UUID and the URI of its disk. */
    public record Entry(String name, String uuid, String disk) {
    }

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Path file;
    private final Map<String, Entry> entries = new LinkedHashMap<>();

    private PoolCatalog(Path file) {
        this.file = file;
    }

    /** The catalog in {@code stateDir}, read from its file (none yet: empty). */
    public static PoolCatalog load(Path stateDir) {
        PoolCatalog c = new PoolCatalog(stateDir.resolve(FILE));
        try {
            List<Entry> read = JSON.readValue(Files.readAllBytes(c.file), new TypeReference<List<Entry>>() { });
            for (Entry e : read) {
                if (e.name() == null || e.disk() == null) {
                    throw new IllegalStateException(c.file + ": an entry without a name or disk: " + e);
                }
                c.entries.put(e.name(), e);
            }
        } catch (NoSuchFileException e) {
            // a new state directory
        } catch (IOException e) {
            throw new IllegalStateException(c.file + ": cannot read the pools this engine had: " + e.getMessage()
                    + " (fix or remove the file; the pools themselves are on their disks and can be imported)", e);
        }
        return c;
    }

    public synchronized List<Entry> entries() {
        return List.copyOf(entries.values());
    }

    /** Records pool {@code e} (replacing one of its name) and writes the file. */
    public synchronized void put(Entry e) {
        Entry old = entries.put(e.name(), e);
        if (e.equals(old)) {
            return;
        }
        try {
            save();
        } catch (RuntimeException failure) {
            if (old == null) {
                entries.remove(e.name());
            } else {
                entries.put(e.name(), old);
            }
            throw failure;
        }
    }

    /** Forgets pool {@code name} and writes the file; a name not recorded changes nothing. */
    public synchronized void remove(String name) {
        Entry old = entries.remove(name);
        if (old == null) {
            return;
        }
        try {
            save();
        } catch (RuntimeException failure) {
            entries.put(name, old);
            throw failure;
        }
    }

    private void save() {
        try {
            DurableFile.replace(file, JSON.writeValueAsBytes(new ArrayList<>(entries.values())));
        } catch (IOException e) {
            throw new EngineException(Reason.IO_ERROR, "cannot record the engine's pools in " + file + ": " + e.getMessage());
        }
    }
}
