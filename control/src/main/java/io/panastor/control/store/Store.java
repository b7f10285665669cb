package io.panastor.control.store;

import java.io.IOException;
import java.util.Optional;
import java.util.SortedMap;

/**
 * Where the control plane keeps its state: keys ({@code volumes/UUID}, {@code pools/NAME},
 * …, segments of letters, digits and {@code -._:@}) to values. Each {@link #put} and
 * {@link #delete} is atomic and durable when it returns: after a crash at any instant a key holds
 * its last acknowledged value, or the one being written, never a mix. The embedded
 * {@link FileStore} is the default on one machine; a Kubernetes store (custom resources) can
 * take its place.
 */
public interface Store extends AutoCloseable {
    Optional<byte[]> get(String key) throws IOException;

    void put(String key, byte[] value) throws IOException;

    /** Removes {@code key}; nothing happens if it is not there. */
    void delete(String key) throws IOException;

    /** Every key under {@code prefix} (e.g. {@code volumes/}) with its value, in key order. */
    SortedMap<String, byte[]> list(String prefix) throws IOException;

    @Override
    default void close() throws IOException {
    }

    /**
     * A store as {@code --store} names it: {@code file:DIR} (or a bare directory).
     *
     * @throws IllegalArgumentException for any other scheme
     */
    static Store open(String spec) throws IOException {
        String s = spec.trim();
        if (s.startsWith("file:")) {
            return new FileStore(java.nio.file.Path.of(s.substring("file:".length())));
        }
        if (s.matches("^[a-zA-Z][a-zA-Z0-9+.-]*:.*") && !s.startsWith("/")) {
            throw new IllegalArgumentException("--store " + spec + ": unknown kind of store; give file:DIR");
        }
        return new FileStore(java.nio.file.Path.of(s));
    }
}
