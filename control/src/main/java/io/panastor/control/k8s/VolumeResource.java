package io.panastor.control.k8s;

import com.fasterxml.jackson.annotation.JsonInclude;
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
import java.util.List;
import java.util.Map;

/**
 * A volume as a Kubernetes resource, named by its UUID, in the shape Mayastor's
 * {@code MayastorVolume} ({@code kubectl get msv}) had: replica count, required bytes and node
 * preferences in the spec; the nexus's node and {@code nvmf://} URI and each replica's node, pool,
 * URI and state in the status. The control plane writes both; a user may change the replica
 * count or grow the required bytes, and deleting the resource destroys the volume.
 */
@Group("openebs.io")
@Version("v1alpha1")
@Kind("PanastorVolume")
@Plural("panastorvolumes")
@ShortNames("msv")
@AdditionalPrinterColumn(name = "age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public final class VolumeResource extends CustomResource<VolumeResource.Spec, VolumeResource.Status>
        implements Namespaced {

    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    public static final class Spec {
        @JsonPropertyDescription("The volume's name (a CSI volume's, e.g. pvc-...).")
        public String name;

        @Required
        @PrinterColumn(name = "replicas")
        public int replicaCount;

        @Required
        @PrinterColumn(name = "size")
        @JsonPropertyDescription("The volume's size in bytes.")
        public long requiredBytes;

        public boolean thin;

        @JsonPropertyDescription("Nodes to place replicas on first, when they qualify.")
        public List<String> preferredNodes;

        @JsonPropertyDescription("Nodes replicas may be placed on (none: any).")
        public List<String> requiredNodes;

        @JsonPropertyDescription("Replicas only on nodes with these labels.")
        public Map<String, String> nodeSelector;

        @JsonPropertyDescription("Replicas only in pools with these labels.")
        public Map<String, String> poolSelector;

        public String protocol = "nvmf";
    }

    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    public static final class Status {
        @PrinterColumn(name = "state")
        @JsonPropertyDescription("Online, Degraded, Faulted or Unknown.")
        public String state;

        @JsonPropertyDescription("The size the replicas have now, in bytes.")
        public Long size;

        @JsonPropertyDescription("The operation under way: Creating, Publishing, Unpublishing, Destroying, Resizing, Scaling.")
        public String operation;

        @PrinterColumn(name = "target")
        @JsonPropertyDescription("The node of the nexus, while published.")
        public String targetNode;

        @JsonPropertyDescription("The nexus's nvmf:// URI, while published.")
        public String deviceUri;

        @JsonPropertyDescription("The host NQNs that may connect to the nexus (none: any).")
        public List<String> allowedHosts;

        public List<Replica> replicas;
    }

    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    public static final class Replica {
        public String uuid;
        public String node;
        public String pool;
        @JsonPropertyDescription("The URI the nexus has it by.")
        public String uri;
        @JsonPropertyDescription("Online, Degraded, Faulted, Missing or Unknown, as last seen.")
        public String state;
        @JsonPropertyDescription("Being taken out (a scale down, or a replacement).")
        public boolean removing;
    }
}
