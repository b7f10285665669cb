package io.panastor.control;

/**
 * {@link ControlPlaneCrashTest} with the control plane's state in custom resources of fabric8's mock Kubernetes
 * API server (CRUD mode; no real API server can be had on these machines), restarts of the control
 * plane included: the same scenarios as on the file store.
 */
class KubernetesControlPlaneCrashTest extends ControlPlaneCrashTest {
    @Override
    Cluster.Stores stores() {
        return new Cluster.KubernetesStores();
    }
}
