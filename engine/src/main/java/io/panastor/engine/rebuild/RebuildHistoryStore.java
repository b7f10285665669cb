package io.panastor.engine.rebuild;

import java.io.IOException;
import java.util.List;

/**
 * Where the finished rebuilds of each nexus are kept, by the nexus's child-health key: in
 * memory, or a file per key in the engine's state directory ({@link FileRebuildHistory}).
 *
 * <p>Thread-safety: any thread; called from virtual threads (it may block).
 */
public interface RebuildHistoryStore {
    List<RebuildStats> load(String key) throws IOException;

    /** Replaces the history of {@code key} with {@code records} (oldest first). */
    void save(String key, List<RebuildStats> records) throws IOException;

    static RebuildHistoryStore inMemory() {
        java.util.Map<String, List<RebuildStats>> map = new java.util.concurrent.ConcurrentHashMap<>();
        return new RebuildHistoryStore() {
            @Override
            public List<RebuildStats> load(String key) {
                return map.getOrDefault(key, List.of());
            }

            @Override
            public void save(String key, List<RebuildStats> records) {
                map.put(key, List.copyOf(records));
            }
        };
    }
}
