//! Runner-side remedies of the fuse area: how an executor exposes
//! `/dev/fuse` to the build container.

use super::runner::RunnerFix;

/// Exposing /dev/fuse, per executor (`remedy::runner`).
pub const EXPOSE_FUSE: RunnerFix = RunnerFix {
    lead: "Expose /dev/fuse to the build container.",
    kubernetes: "Kubernetes (with a fuse device plugin DaemonSet on the nodes), in config.toml:
  [runners.feature_flags]
    FF_USE_ADVANCED_POD_SPEC_CONFIGURATION = true
  [[runners.kubernetes.pod_spec]]
    name = \"fuse-device\"
    patch_type = \"strategic\"
    patch = '''
      containers:
        - name: build
          resources:
            limits:
              github.com/fuse: 1
    '''",
    openshift: "OpenShift/CRI-O: `pod_annotations = {\"io.kubernetes.cri-o.Devices\" = \"/dev/fuse\"}` under [runners.kubernetes].",
    docker: "Docker executor: `devices = [\"/dev/fuse\"]` under [runners.docker].",
    node: "Node: `modprobe fuse`.",
    id: "fuse.device",
};
