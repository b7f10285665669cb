package io.panastor.control.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.panastor.control.store.Store;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --store k8s} finds its cluster as kubectl does: here through a kubeconfig (the
 * {@code kubeconfig} system property stands for {@code $KUBECONFIG}) naming fabric8's mock API
 * server, its context's namespace the store's unless {@code k8s:NAMESPACE} gives one.
 */
class KubeconfigTest {
    @Test
    void theKubeconfigsClusterAndNamespaceAreTheStores(@TempDir Path dir) throws Exception {
        try (MockApi api = new MockApi(); KubernetesClient probe = api.client()) {
            Path kubeconfig = dir.resolve("config");
            Files.writeString(kubeconfig, """
                    apiVersion: v1
                    kind: Config
                    clusters:
                    - name: mock
                      cluster:
                        server: %s
                    contexts:
                    - name: mock
                      context:
                        cluster: mock
                        namespace: from-kubeconfig
                        user: nobody
                    current-context: mock
                    users:
                    - name: nobody
                      user: {}
                    """.formatted(probe.getMasterUrl().toString()));
            String before = System.getProperty("kubeconfig");
            System.setProperty("kubeconfig", kubeconfig.toString());
            try {
                try (Store s = Store.open("k8s")) {
                    assertThat(s).isInstanceOf(KubernetesStore.class);
                    assertThat(((KubernetesStore) s).namespace()).isEqualTo("from-kubeconfig");
                    s.put("nodes/n1", new byte[0]);
                }
                try (Store s = Store.open("k8s:other")) {
                    assertThat(((KubernetesStore) s).namespace()).isEqualTo("other");
                    assertThat(s.list("nodes/")).isEmpty();
                }
                assertThat(probe.configMaps().inNamespace("from-kubeconfig").withLabel(KubernetesStore.RECORD_LABEL)
                        .list().getItems()).hasSize(1);
            } finally {
                if (before == null) {
                    System.clearProperty("kubeconfig");
                } else {
                    System.setProperty("kubeconfig", before);
                }
            }
        }
    }
}
