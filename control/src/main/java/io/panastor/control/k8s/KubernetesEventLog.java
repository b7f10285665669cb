package io.panastor.control.k8s;

import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.MicroTime;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.panastor.api.control.v1.Event;
import io.panastor.control.store.EventLog;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Events as Kubernetes events (core/v1) about the DiskPool or PanastorVolume resource, so
 * {@code kubectl describe msv UUID} and {@code kubectl get events} show them; labelled with the
 * object so the control plane lists them back. The API server ages them out (an hour, by default).
 */
final class KubernetesEventLog implements EventLog {
    private static final Logger LOG = LoggerFactory.getLogger(KubernetesEventLog.class);
    static final String OBJECT_LABEL = "panastor.io/object";
    private final KubernetesClient client;
    private final String namespace;
    private final Function<String, Optional<HasMetadata>> resources;

    KubernetesEventLog(KubernetesClient client, String namespace, Function<String, Optional<HasMetadata>> resources) {
        this.client = client;
        this.namespace = namespace;
        this.resources = resources;
    }

    private static String label(String kind, String name) {
        return kind + "." + name;
    }

    @Override
    public void record(String kind, String name, boolean warning, String reason, String message) {
        boolean volume = kind.equals("volume");
        Optional<HasMetadata> about = resources.apply((volume ? KubernetesStore.VOLUMES : KubernetesStore.POOLS) + name);
        String now = Instant.now().toString();
        try {
            client.v1().events().inNamespace(namespace).resource(new EventBuilder()
                    .withNewMetadata().withGenerateName(name + ".").addToLabels(OBJECT_LABEL, label(kind, name)).endMetadata()
                    .withNewInvolvedObject().withApiVersion(volume ? "openebs.io/v1alpha1" : "openebs.io/v1beta2")
                    .withKind(volume ? "PanastorVolume" : "DiskPool").withName(name).withNamespace(namespace)
                    .withUid(about.map(h -> h.getMetadata().getUid()).orElse(null)).endInvolvedObject()
                    .withType(warning ? "Warning" : "Normal").withReason(reason).withMessage(message)
                    .withFirstTimestamp(now).withLastTimestamp(now).withEventTime(new MicroTime(now)).withCount(1)
                    .withReportingComponent("panastor-control-plane").withReportingInstance("panastor-control-plane")
                    .withAction(reason).withNewSource().withComponent("panastor-control-plane").endSource().build())
                    .create();
        } catch (KubernetesClientException e) {
            LOG.warn("event {} of {} {} not recorded: {}", reason, kind, name, e.getMessage());
        }
    }

    @Override
    public List<Event> list(String kind, String name) {
        List<Event> out = new ArrayList<>();
        try {
            for (var e : client.v1().events().inNamespace(namespace).withLabel(OBJECT_LABEL, label(kind, name)).list()
                    .getItems()) {
                long t = e.getLastTimestamp() == null ? 0 : Instant.parse(e.getLastTimestamp()).toEpochMilli();
                out.add(Event.newBuilder().setTimeMs(t).setType(String.valueOf(e.getType()))
                        .setReason(String.valueOf(e.getReason())).setMessage(String.valueOf(e.getMessage()))
                        .setCount(e.getCount() == null ? 1 : e.getCount()).build());
            }
        } catch (KubernetesClientException e) {
            LOG.warn("events of {} {} not read: {}", kind, name, e.getMessage());
        }
        out.sort(Comparator.comparingLong(Event::getTimeMs));
        return out.size() > KEPT ? out.subList(out.size() - KEPT, out.size()) : out;
    }

    @Override
    public void forget(String kind, String name) {
        // Kubernetes ages events out itself; those of a deleted object tell what happened to it.
    }
}
