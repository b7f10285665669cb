package io.panastor.control.k8s;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.crd.generator.annotation.PrinterColumn;
import io.fabric8.generator.annotation.Required;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A disk pool as a Kubernetes resource, in Mayastor's {@code openebs.io/v1beta2} shape: the user
 * writes the spec (node and disks, as with {@code kubectl apply}), the control plane the status.
 */
@Group("openebs.io")
@Version("v1beta2")
@Kind("DiskPool")
@Plural("diskpools")
@ShortNames("dsp")
@AdditionalPrinterColumn(name = "age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public final class DiskPoolResource extends CustomResource<DiskPoolResource.Spec, DiskPoolResource.Status>
        implements Namespaced {

    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    public static final class Spec {
        @Required
        @PrinterColumn(name = "node", priority = 0)
        @JsonPropertyDescription("The node whose engine holds the pool.")
        public String node;

        @Required
        @JsonPropertyDescription("The disk the pool is made on: one URI or device path.")
        public List<String> disks = new ArrayList<>();

        @JsonPropertyDescription("Labels of the pool, which volumes' pool selectors match.")
        public Topology topology;
    }

    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    public static final class Topology {
        public Map<String, String> labelled;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class Status {
        @JsonProperty("cr_state")
        @PrinterColumn(name = "state")
        @JsonPropertyDescription("Creating, Created or Terminating.")
        public String crState;

        @JsonProperty("pool_status")
        @PrinterColumn(name = "pool_status")
        @JsonPropertyDescription("Unknown, Online, Degraded or Faulted, as the pool's engine reports it.")
        public String poolStatus;

        @PrinterColumn(name = "capacity")
        public Long capacity;

        @PrinterColumn(name = "used")
        public Long used;

        @PrinterColumn(name = "available")
        public Long available;

        @JsonPropertyDescription("The sizes of the replicas placed on it.")
        public Long committed;

        public Integer replicas;

        @JsonPropertyDescription("The pool's UUID on its disk.")
        public String uuid;

        @JsonPropertyDescription("Why it is not created yet, if it is not.")
        public String message;
    }
}
