package io.panastor.control.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.crdv2.generator.CRDGenerator;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CRD manifests the store installs (and the deployment will ship) are kept as YAML beside
 * the Java types; this checks they are exactly what fabric8's CRD generator makes of those types.
 * {@code -Dpanastor.crds.write=true} writes them again after a change of the types.
 */
class CrdManifestTest {
    static final Path KEPT = Path.of("src/main/resources/io/panastor/control/k8s");

    @Test
    void theKeptManifestsAreWhatTheJavaTypesGenerate(@TempDir Path dir) throws Exception {
        new CRDGenerator().inOutputDir(dir.toFile()).forCRDVersions("v1")
                .customResourceClasses(DiskPoolResource.class, VolumeResource.class).generate();
        ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
        for (String name : KubernetesStore.CRDS) {
            Path generated = dir.resolve(name);
            assertThat(generated).as("generated " + name).exists();
            if (Boolean.getBoolean("panastor.crds.write")) {
                Files.copy(generated, KEPT.resolve(name), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
            JsonNode want = yaml.readTree(generated.toFile());
            JsonNode kept = yaml.readTree(KEPT.resolve(name).toFile());
            assertThat(kept).as(name + " is out of date: run this test with -Dpanastor.crds.write=true").isEqualTo(want);
        }
    }

    @Test
    void theManifestsHaveStatusSubresourcesAndPrinterColumns() {
        for (var crd : KubernetesStore.crds()) {
            var v = crd.getSpec().getVersions().getFirst();
            assertThat(v.getSubresources().getStatus()).as(crd.getMetadata().getName()).isNotNull();
            assertThat(v.getAdditionalPrinterColumns()).extracting(c -> c.getName()).contains("state", "age");
        }
        assertThat(KubernetesStore.crds()).extracting(c -> c.getSpec().getNames().getShortNames().getFirst())
                .containsExactly("dsp", "msv");
    }
}
