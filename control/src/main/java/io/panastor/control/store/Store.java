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

    /**
     * Tells {@code listener} of changes someone else made to the store — a user's
     * {@code kubectl apply}, another writer — once each, in order per key; the store's own writes
     * are not reported. A store no one else writes (the file store) reports nothing. The
     * listener runs on the store's thread: it must not block, nor call back into the store.
     */
    default void watch(Listener listener) {
    }

    /** Someone else changed a key: its value now, or empty when it was deleted. */
    @FunctionalInterface
    interface Listener {
        void changed(String key, Optional<byte[]> value);
    }

    /** A write refused because the key changed since this store last read it (optimistic concurrency). */
    final class Conflict extends IOException {
        public Conflict(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** Where events about the objects this store holds are kept: a bounded log per object in the store itself. */
    default EventLog events() {
        return new StoreEventLog(this);
    }

    @Override
    default void close() throws IOException {
    }

    /**
     * A store as {@code --store} names it: {@code file:DIR} (or a bare directory), or
     * {@code k8s} / {@code k8s:NAMESPACE} for custom resources in a Kubernetes cluster (the
     * in-cluster configuration, else the kubeconfig; its namespace unless one is given).
     *
     * @throws IllegalArgumentException for any other scheme
     */
    static Store open(String spec) throws IOException {
        String s = spec.trim();
        if (s.startsWith("file:")) {
            return new FileStore(java.nio.file.Path.of(s.substring("file:".length())));
        }
        if (s.equals("k8s") || s.startsWith("k8s:")) {
            return io.panastor.control.k8s.KubernetesStore.connect(s.equals("k8s") ? "" : s.substring("k8s:".length()));
        }
        if (s.matches("^[a-zA-Z][a-zA-Z0-9+.-]*:.*") && !s.startsWith("/")) {
            throw new IllegalArgumentException("--store " + spec + ": unknown kind of store; give file:DIR or k8s[:NAMESPACE]");
        }
        return new FileStore(java.nio.file.Path.of(s));
    }
}
