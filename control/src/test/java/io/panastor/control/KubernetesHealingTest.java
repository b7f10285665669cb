package io.panastor.control;

/**
 * {@link HealingTest} with the control plane's state in custom resources of fabric8's mock Kubernetes
 * API server (CRUD mode; no real API server can be had on these machines), restarts of the control
 * plane included: the same scenarios as on the file store.
 */
class KubernetesHealingTest extends HealingTest {
    @Override
    Cluster.Stores stores() {
        return new Cluster.KubernetesStores();
    }
}
