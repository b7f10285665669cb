package io.panastor.control.k8s;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.panastor.api.control.v1.NexusHealthRecord;
import io.panastor.api.control.v1.NodeRecord;
import io.panastor.api.control.v1.PoolRecord;
import io.panastor.api.control.v1.VolumeRecord;
import io.panastor.control.store.EventLog;
import io.panastor.control.store.Store;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The store over a Kubernetes API server, through the fabric8 client: pools are
 * {@code DiskPool} resources ({@code openebs.io/v1beta2}), volumes {@code PanastorVolume}
 * resources, and the records users need not read as resources (nodes, nexus child health,
 * event logs) ConfigMaps labelled {@value #RECORD_LABEL}, their record as JSON.
 *
 * <p>A put is durable when the API server answered (it answered after etcd committed). Each
 * write carries the resourceVersion this store last saw of the object: one changed since by
 * someone else is refused by the server (409), and the put fails with {@link Store.Conflict}
 * after the store read the new version and reported it to the watcher — the caller retries on
 * what is there now. A resource's spec is written first and its status second (the status
 * subresource takes no spec, nor the resource a status); a crash between the two leaves the new
 * spec with the old status, which reads as what it is: a volume with no status is a create with
 * no replica placed yet, one whose replicas are smaller than its spec a resize under way, one
 * with fewer replicas than its spec asks a scale the caller (never answered) retries.
 *
 * <p>Reads are served from what this store holds: filled by a full list at start, kept by its
 * own writes and by informers (a watch per kind, which list again and resume after a watch
 * ends, e.g. when the API server restarts). What the informers bring that this store did not
 * write is reported to the watcher.
 */
public final class KubernetesStore implements Store {
    private static final Logger LOG = LoggerFactory.getLogger(KubernetesStore.class);
    static final String RECORD_LABEL = "panastor.io/record";
    static final String KEY_ANNOTATION = "panastor.io/key";
    static final String POOLS = "pools/";
    static final String VOLUMES = "volumes/";
    /** The CRD manifests, kept beside the Java types (a test checks they are what the types generate). */
    static final List<String> CRDS = List.of("diskpools.openebs.io-v1.yml", "panastorvolumes.openebs.io-v1.yml");
    private static final Pattern DNS_NAME = Pattern.compile("[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?");
    /** The records kept as ConfigMaps, by key prefix, as JSON a user can read. */
    private static final Map<String, Message> TYPES = Map.of("nodes/", NodeRecord.getDefaultInstance(),
            "health/", NexusHealthRecord.getDefaultInstance(),
            "events/", io.panastor.api.control.v1.EventLog.getDefaultInstance());

    private final KubernetesClient client;
    private final String namespace;
    private final boolean ownsClient;
    /** Each key's object as this store last wrote or saw it. */
    private final Map<String, HasMetadata> known = new ConcurrentHashMap<>();
    private final Map<String, Object> keyLocks = new ConcurrentHashMap<>();
    private final List<SharedIndexInformer<?>> informers = new ArrayList<>();
    private final KubernetesEventLog events;
    private volatile Listener listener = (k, v) -> { };

    private KubernetesStore(KubernetesClient client, String namespace, boolean ownsClient) {
        this.client = client;
        this.namespace = namespace;
        this.ownsClient = ownsClient;
        this.events = new KubernetesEventLog(client, namespace, this::uidOf);
    }

    /** A store in {@code namespace} ("" the client's) of the cluster the in-cluster config or the kubeconfig names. */
    public static KubernetesStore connect(String namespace) throws IOException {
        KubernetesClient c = new KubernetesClientBuilder().build();
        String ns = namespace.isEmpty() ? Objects.requireNonNullElse(c.getNamespace(), "default") : namespace;
        try {
            return open(c, ns, true);
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /** A store over {@code client}: installs the CRDs it lacks, lists what is there and starts watching. */
    public static KubernetesStore open(KubernetesClient client, String namespace) throws IOException {
        return open(client, namespace, false);
    }

    /** A store that reads what is there at start and never watches (tests: a writer certain to hold a stale version). */
    static KubernetesStore openWithoutWatching(KubernetesClient client, String namespace) throws IOException {
        return open(client, namespace, true, false);
    }

    private static KubernetesStore open(KubernetesClient client, String namespace, boolean owns) throws IOException {
        return open(client, namespace, owns, true);
    }

    private static KubernetesStore open(KubernetesClient client, String namespace, boolean owns, boolean watching)
            throws IOException {
        KubernetesStore s = new KubernetesStore(client, namespace, owns);
        try {
            s.installCrds();
            s.load();
            if (watching) {
                s.startInformers();
            }
        } catch (KubernetesClientException e) {
            s.close();
            throw new IOException("Kubernetes API at " + client.getMasterUrl() + ", namespace " + namespace + ": "
                    + e.getMessage(), e);
        }
        LOG.info("store: Kubernetes API at {}, namespace {}: {} objects", client.getMasterUrl(), namespace,
                s.known.size());
        return s;
    }

    public String namespace() {
        return namespace;
    }

    /** The CRDs as this store installs them. */
    public static List<CustomResourceDefinition> crds() {
        List<CustomResourceDefinition> out = new ArrayList<>();
        var serialization = new io.fabric8.kubernetes.client.utils.KubernetesSerialization();
        for (String name : CRDS) {
            try (InputStream in = KubernetesStore.class.getResourceAsStream(name)) {
                out.add(serialization.unmarshal(Objects.requireNonNull(in, name), CustomResourceDefinition.class));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        return out;
    }

    private void installCrds() {
        for (CustomResourceDefinition crd : crds()) {
            var at = client.apiextensions().v1().customResourceDefinitions().withName(crd.getMetadata().getName());
            if (at.get() == null) {
                at.create(crd);
                LOG.info("store: installed CRD {}", crd.getMetadata().getName());
            }
        }
    }

    private void load() {
        for (DiskPoolResource d : client.resources(DiskPoolResource.class).inNamespace(namespace).list().getItems()) {
            known.put(POOLS + d.getMetadata().getName(), d);
        }
        for (VolumeResource v : client.resources(VolumeResource.class).inNamespace(namespace).list().getItems()) {
            known.put(VOLUMES + v.getMetadata().getName(), v);
        }
        for (ConfigMap m : client.configMaps().inNamespace(namespace).withLabel(RECORD_LABEL).list().getItems()) {
            String key = keyOf(m);
            if (key != null) {
                known.put(key, m);
            }
        }
    }

    private void startInformers() {
        informers.add(client.resources(DiskPoolResource.class).inNamespace(namespace).inform(handler(), 0));
        informers.add(client.resources(VolumeResource.class).inNamespace(namespace).inform(handler(), 0));
        informers.add(client.configMaps().inNamespace(namespace).withLabel(RECORD_LABEL).inform(handler(), 0));
    }

    private <T extends HasMetadata> ResourceEventHandler<T> handler() {
        return new ResourceEventHandler<>() {
            @Override
            public void onAdd(T obj) {
                seen(obj, false);
            }

            @Override
            public void onUpdate(T old, T obj) {
                seen(obj, false);
            }

            @Override
            public void onDelete(T obj, boolean finalStateUnknown) {
                seen(obj, true);
            }
        };
    }

    /** Whether every watch is up now (not while an API server restarts and the informers connect again). */
    public boolean watching() {
        return !informers.isEmpty() && informers.stream().allMatch(SharedIndexInformer::isWatching);
    }

    @Override
    public void watch(Listener l) {
        this.listener = l;
    }

    @Override
    public EventLog events() {
        return events;
    }

    // ------------------------------------------------------------------ keys and objects

    private static String keyOf(HasMetadata o) {
        if (o instanceof DiskPoolResource) {
            return POOLS + o.getMetadata().getName();
        }
        if (o instanceof VolumeResource) {
            return VOLUMES + o.getMetadata().getName();
        }
        Map<String, String> a = o.getMetadata().getAnnotations();
        return a == null ? null : a.get(KEY_ANNOTATION);
    }

    /** A ConfigMap's name for a key: the key made a DNS name, with a hash of the key when that changed it. */
    static String configMapName(String key) {
        String s = ("panastor-" + key).toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9.-]", "-");
        if (s.equals("panastor-" + key) && s.length() <= 253 && DNS_NAME.matcher(s).matches()) {
            return s;
        }
        CRC32C crc = new CRC32C();
        crc.update(key.getBytes(StandardCharsets.UTF_8));
        String tail = "-" + Long.toHexString(crc.getValue());
        s = s.replaceAll("[-.]+$", "");
        return s.substring(0, Math.min(s.length(), 253 - tail.length())) + tail;
    }

    private Object lockOf(String key) {
        return keyLocks.computeIfAbsent(key, k -> new Object());
    }

    /** The UID of the resource behind a key, for events to point at. */
    private Optional<HasMetadata> uidOf(String key) {
        return Optional.ofNullable(known.get(key));
    }

    private static boolean newer(HasMetadata candidate, HasMetadata than) {
        String a = candidate.getMetadata().getResourceVersion();
        String b = than.getMetadata().getResourceVersion();
        if (a == null || b == null) {
            return true;
        }
        // resourceVersions are opaque, but etcd's (and the mock server's) are counters: one that is
        // not newer than what this store holds is an event for a write it has already taken in.
        try {
            return Long.parseLong(a) > Long.parseLong(b);
        } catch (NumberFormatException e) {
            return !a.equals(b);
        }
    }

    /** An object an informer brought: taken in when it is news, and reported when it is someone else's change. */
    private void seen(HasMetadata obj, boolean deleted) {
        String key = keyOf(obj);
        if (key == null) {
            return;
        }
        Optional<byte[]> report;
        synchronized (lockOf(key)) {
            HasMetadata mine = known.get(key);
            if (deleted ? mine == null || newer(mine, obj) : mine != null && !newer(obj, mine)) {
                return;     // gone already, or an event for a version this store has (or has gone past)
            }
            report = takeIn(key, deleted ? null : obj);
        }
        if (report == null) {
            return;
        }
        try {
            listener.changed(key, report);
        } catch (RuntimeException e) {
            LOG.warn("store: watcher of {}: {}", key, e.toString());
        }
    }

    /**
     * Takes {@code now} in as the key's object ({@code null}: it is gone); what to report — its
     * record, or empty for gone — or {@code null} when no record changed. Under the key's lock.
     */
    private Optional<byte[]> takeIn(String key, HasMetadata now) {
        HasMetadata mine = known.get(key);
        byte[] before = mine == null ? null : decode(key, mine);
        if (now == null) {
            known.remove(key);
            return before == null ? null : Optional.empty();
        }
        known.put(key, now);
        byte[] after = decode(key, now);
        return after == null || Arrays.equals(before, after) ? null : Optional.of(after);
    }

    // ------------------------------------------------------------------ records as objects

    private static byte[] decode(String key, HasMetadata o) {
        try {
            if (o instanceof DiskPoolResource d) {
                return Resources.pool(d).toByteArray();
            }
            if (o instanceof VolumeResource v) {
                return Resources.volume(v).toByteArray();
            }
            ConfigMap m = (ConfigMap) o;
            Message type = typeOf(key);
            if (type != null && m.getData() != null && m.getData().containsKey("record.json")) {
                Message.Builder b = type.newBuilderForType();
                JsonFormat.parser().ignoringUnknownFields().merge(m.getData().get("record.json"), b);
                return b.build().toByteArray();
            }
            if (m.getBinaryData() != null && m.getBinaryData().containsKey("record")) {
                return Base64.getDecoder().decode(m.getBinaryData().get("record"));
            }
            return null;
        } catch (InvalidProtocolBufferException | RuntimeException e) {
            LOG.warn("store: {} does not read as a record: {}", key, e.toString());
            return null;
        }
    }

    private static Message typeOf(String key) {
        for (var e : TYPES.entrySet()) {
            if (key.startsWith(e.getKey())) {
                return e.getValue();
            }
        }
        return null;
    }

    private HasMetadata encode(String key, byte[] value) throws IOException {
        if (key.startsWith(POOLS)) {
            PoolRecord r = PoolRecord.parseFrom(value);
            requireName(key, r.getName());
            return Resources.pool(r);
        }
        if (key.startsWith(VOLUMES)) {
            VolumeRecord r = VolumeRecord.parseFrom(value);
            requireName(key, r.getSpec().getUuid());
            return Resources.volume(r);
        }
        ConfigMapBuilder b = new ConfigMapBuilder().withNewMetadata().withName(configMapName(key))
                .addToLabels(RECORD_LABEL, key.substring(0, Math.max(0, key.indexOf('/'))).replaceAll("[^A-Za-z0-9._-]", "-"))
                .addToAnnotations(KEY_ANNOTATION, key).endMetadata();
        Message type = typeOf(key);
        if (type != null) {
            b.addToData("record.json", JsonFormat.printer().print(type.getParserForType().parseFrom(value)));
        } else {
            b.addToBinaryData("record", Base64.getEncoder().encodeToString(value));
        }
        return b.build();
    }

    private static void requireName(String key, String name) throws IOException {
        String tail = key.substring(key.indexOf('/') + 1);
        if (!tail.equals(name) || !DNS_NAME.matcher(name).matches()) {
            throw new IOException("store key " + key + ": '" + name + "' cannot name a Kubernetes resource "
                    + "(lower-case letters, digits, '-' and '.')");
        }
    }

    // ------------------------------------------------------------------ the store

    @Override
    public Optional<byte[]> get(String key) {
        HasMetadata o = known.get(key);
        return o == null ? Optional.empty() : Optional.ofNullable(decode(key, o));
    }

    @Override
    public SortedMap<String, byte[]> list(String prefix) {
        SortedMap<String, byte[]> out = new TreeMap<>();
        known.forEach((k, o) -> {
            if (k.startsWith(prefix)) {
                byte[] b = decode(k, o);
                if (b != null) {
                    out.put(k, b);
                }
            }
        });
        return out;
    }

    @Override
    public void put(String key, byte[] value) throws IOException {
        HasMetadata desired = encode(key, value);
        synchronized (lockOf(key)) {
            HasMetadata mine = known.get(key);
            try {
                known.put(key, write(mine, desired));
            } catch (KubernetesClientException e) {
                if (e.getCode() == 409) {
                    refresh(key, desired);
                    throw new Conflict(key + " changed since this control plane read it; try again", e);
                }
                throw new IOException("Kubernetes API: writing " + key + ": " + e.getMessage(), e);
            }
        }
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private HasMetadata write(HasMetadata mine, HasMetadata desired) {
        if (mine != null) {
            var meta = mine.getMetadata();
            desired.getMetadata().setResourceVersion(meta.getResourceVersion());
            desired.getMetadata().setUid(meta.getUid());
            desired.getMetadata().setLabels(merged(meta.getLabels(), desired.getMetadata().getLabels()));
            desired.getMetadata().setAnnotations(merged(meta.getAnnotations(), desired.getMetadata().getAnnotations()));
            desired.getMetadata().setName(meta.getName());
        }
        if (!(desired instanceof CustomResource cr)) {
            var r = client.resource((ConfigMap) desired).inNamespace(namespace);
            return mine == null ? r.create() : r.update();
        }
        HasMetadata at = mine;
        var json = client.getKubernetesSerialization();
        if (at == null) {
            // A new resource: the status subresource takes no status with the create.
            at = client.resource(desired).inNamespace(namespace).create();
        } else if (!json.asJson(cr.getSpec()).equals(json.asJson(((CustomResource) mine).getSpec()))) {
            // The spec first, on the resourceVersion last seen: a user's edit since is a conflict, not overwritten.
            at = client.resource(cr).inNamespace(namespace).update();
        }
        if (mine == null || at != mine || !json.asJson(cr.getStatus()).equals(json.asJson(((CustomResource) at).getStatus()))) {
            cr.getMetadata().setResourceVersion(at.getMetadata().getResourceVersion());
            cr.getMetadata().setUid(at.getMetadata().getUid());
            at = client.resource(cr).inNamespace(namespace).updateStatus();
        }
        return at;
    }

    private static Map<String, String> merged(Map<String, String> theirs, Map<String, String> ours) {
        if ((theirs == null || theirs.isEmpty()) && (ours == null || ours.isEmpty())) {
            return null;
        }
        Map<String, String> m = new TreeMap<>();
        if (theirs != null) {
            m.putAll(theirs);
        }
        if (ours != null) {
            m.putAll(ours);
        }
        return m;
    }

    /** After a conflict: the object as it is now, taken in and reported as someone else's change. */
    private void refresh(String key, HasMetadata like) {
        HasMetadata now;
        try {
            now = client.resource(like).inNamespace(namespace).get();
        } catch (KubernetesClientException e) {
            LOG.warn("store: re-reading {} after a conflict: {}", key, e.getMessage());
            return;
        }
        Optional<byte[]> report = takeIn(key, now);
        if (report == null) {
            return;
        }
        Thread.ofVirtual().name("store-report").start(() -> listener.changed(key, report));
    }

    @Override
    public void delete(String key) throws IOException {
        synchronized (lockOf(key)) {
            HasMetadata mine = known.get(key);
            if (mine == null) {
                return;
            }
            try {
                client.resource(mine).inNamespace(namespace).delete();
            } catch (KubernetesClientException e) {
                if (e.getCode() != 404) {
                    throw new IOException("Kubernetes API: deleting " + key + ": " + e.getMessage(), e);
                }
            }
            known.remove(key);
        }
    }

    @Override
    public void close() {
        informers.forEach(SharedIndexInformer::close);
        if (ownsClient) {
            client.close();
        }
    }
}
