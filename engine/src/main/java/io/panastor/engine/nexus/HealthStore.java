package io.panastor.engine.nexus;

import java.io.IOException;
import java.util.Optional;

/**
 * Where nexuses persist their child health ({@link HealthRecord}), by key: a file per nexus
 * in the engine's state directory ({@link FileHealthStore}) now; the control plane's store
 * later. A write must be durable when {@link #save} returns: a write that faulted a child is
 * acknowledged only after that.
 *
 * <p>Thread-safety: any thread; called from virtual threads, never a reactor (it blocks).
 */
public interface HealthStore {
    Optional<HealthRecord> load(String key) throws IOException;

    void save(String key, HealthRecord record) throws IOException;

    void delete(String key) throws IOException;

    /**
     * The store refused the write because this nexus is no longer the one whose health it keeps
     * (the volume was published elsewhere): final, not worth a retry. The writes waiting for it
     * fail; a destroy goes on without its clean-shutdown record.
     */
    final class Fenced extends IOException {
        public Fenced(String message) {
            super(message);
        }
    }

    /** A store in memory (tests, benches, an engine with no state directory): durable for as long as the process. */
    static HealthStore inMemory() {
        java.util.Map<String, HealthRecord> map = new java.util.concurrent.ConcurrentHashMap<>();
        return new HealthStore() {
            @Override
            public Optional<HealthRecord> load(String key) {
                return Optional.ofNullable(map.get(key));
            }

            @Override
            public void save(String key, HealthRecord record) {
                map.put(key, record);
            }

            @Override
            public void delete(String key) {
                map.remove(key);
            }
        };
    }
}
