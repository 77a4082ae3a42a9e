//! Area `context`: where the job runs — GitLab CI, Kubernetes or
//! OpenShift, which container engine started it, and how (the runner's
//! shell-detection script or an image entrypoint as PID 1). Informational:
//! these checks never block; they tell the other areas and the reader which
//! remedies apply (config.toml keys differ between executors).

use super::{AreaOut, Findings, Obs};
use crate::host::Host;
use crate::model::{Action, Check, Spec};
use serde_json::json;

const CONTAINERENV: &str = "/run/.containerenv";
const DOCKERENV: &str = "/.dockerenv";
const K8S_SECRETS: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
const K8S_NAMESPACE: &str = "/run/secrets/kubernetes.io/serviceaccount/namespace";
/// OpenShift adds the service CA to every service account volume.
const OPENSHIFT_SERVICE_CA: &str = "/run/secrets/kubernetes.io/serviceaccount/service-ca.crt";
const PID1_CMDLINE: &str = "/proc/1/cmdline";
const ATTR_CURRENT: &str = "/proc/self/attr/current";

#[derive(Debug, Default, Clone)]
pub struct Facts {
    /// `Some("gitlab")` inside a GitLab CI job.
    pub ci: Option<String>,
    pub gitlab_server_version: Option<String>,
    /// `FF_KUBERNETES_HONOR_ENTRYPOINT` is true.
    pub honor_entrypoint: bool,
    /// `FF_USE_ADVANCED_POD_SPEC_CONFIGURATION` is true.
    pub advanced_pod_spec: bool,
    pub kubernetes: bool,
    pub openshift: bool,
    /// `podman`, `docker`, a `$container` value, `cri` (Kubernetes), or None.
    pub engine: Option<String>,
    /// `/run/.containerenv` says `rootless=1` (the outer podman is rootless).
    pub outer_rootless: Option<bool>,
    /// PID 1 is the runner's shell-detection script (not an entrypoint).
    pub pid1_shell_detection: bool,
    /// `DOCKER_HOST` is set (value not kept).
    pub docker_host_set: bool,
}

pub const SPECS: &[Spec] = &[
    Spec {
        id: "context.ci",
        title: "CI system",
        explain: "Whether this runs in a GitLab CI job (GITLAB_CI) and which runner feature flags \
that matter for podman are on: FF_KUBERNETES_HONOR_ENTRYPOINT (image entrypoints run on the \
Kubernetes executor) and FF_USE_ADVANCED_POD_SPEC_CONFIGURATION (needed for pod_spec patches such as \
a `github.com/fuse: 1` resource or `hostUsers: false`).",
        signatures: &[],
    },
    Spec {
        id: "context.orchestrator",
        title: "Kubernetes or OpenShift",
        explain: "Kubernetes is recognised by KUBERNETES_SERVICE_HOST or the service account volume; \
OpenShift by its service CA in that volume, an arbitrary uid >= 1000000000 with gid 0, or an SELinux \
MCS label. Remedies for the other findings then name runner config.toml [runners.kubernetes] keys, \
and on OpenShift the SCC.",
        signatures: &[],
    },
    Spec {
        id: "context.engine",
        title: "container engine running the job",
        explain: "podman (/run/.containerenv), docker (/.dockerenv), $container, or a Kubernetes CRI. \
Nested podman under a rootless outer podman only gets the IDs the outer user namespace maps.",
        signatures: &[],
    },
    Spec {
        id: "context.docker_host",
        title: "DOCKER_HOST while podman is used",
        explain: "DOCKER_HOST points docker clients at a daemon (often a docker:dind service). Podman \
ignores it, so `podman build` does not use that daemon; scripts mixing `docker` and `podman` commands \
then see different image stores. Unset DOCKER_HOST or use one tool.",
        signatures: &[],
    },
    Spec {
        id: "context.remote",
        title: "podman runs locally (CONTAINER_HOST / CONTAINER_CONNECTION unset)",
        explain: "Podman becomes a remote client as soon as CONTAINER_HOST or CONTAINER_CONNECTION is in the environment, even with an empty value (podman `cmd/podman/registry` looks the variables up, it does not read them), and `podman build` then talks to a podman service socket that a CI job has not got. Verified with podman 4.3 and 5.4: `Error: unable to connect to Podman socket: … dial unix …/podman.sock: connect: no such file or directory`, or `Error: read cli flags: connection \"ci\" not found`. Job fix: unset both (`podrun-doctor env` prints `unset CONTAINER_HOST`, `exec` leaves them out of the command's environment). Where they come from: the pipeline's or the runner's `variables`.",
        signatures: &[
            "unable to connect to Podman socket",
            "read cli flags: connection",
        ],
    },
    Spec {
        id: "context.entrypoint",
        title: "how the job container was started (PID 1)",
        explain: "The Kubernetes executor replaces the image ENTRYPOINT with its shell-detection script \
unless FF_KUBERNETES_HONOR_ENTRYPOINT=true, so environment preparation in an entrypoint silently does \
not happen. Run `podrun-doctor` from before_script (eval \"$(podrun-doctor env)\"), or set \
FF_KUBERNETES_HONOR_ENTRYPOINT=true (the entrypoint must end with `exec \"$@\"`, and the runner needs \
RBAC get/list on pods/log).",
        signatures: &["FF_KUBERNETES_HONOR_ENTRYPOINT feature not working"],
    },
];

/// The variables whose presence alone makes podman a remote client.
const REMOTE_VARS: &[&str] = &["CONTAINER_HOST", "CONTAINER_CONNECTION"];

/// context.remote: podman is remote when either variable exists at all.
fn remote_check(host: &Host, found: &mut Obs) {
    let set: Vec<&str> = REMOTE_VARS
        .iter()
        .copied()
        .filter(|k| host.env(k).is_some())
        .collect();
    let check = if set.is_empty() {
        Check::ok(
            "context.remote",
            "CONTAINER_HOST and CONTAINER_CONNECTION are unset: podman runs locally",
        )
    } else {
        // Names only: a connection URL may carry credentials.
        Check::error(
            "context.remote",
            format!(
                "{} set in the environment (even empty, podman then is a remote client): `podman \
                 build` tries a podman service socket and fails with `unable to connect to Podman \
                 socket` or `connection … not found`",
                set.join(" and ")
            ),
        )
        .job_fix(
            format!(
                "Unset {} (env prints `unset …`, exec leaves them out of CMD's environment); or \
                 remove them from the pipeline's / runner's variables",
                set.join(" and ")
            ),
            set.iter()
                .map(|k| Action::UnsetEnv { key: k.to_string() })
                .collect(),
        )
    };
    found.checks.push(check.with("set", json!(set)));
}

fn truthy(v: Option<&str>) -> bool {
    matches!(
        v.map(|s| s.trim().to_ascii_lowercase()).as_deref(),
        Some("true" | "1" | "yes" | "on")
    )
}

/// `key=value` lines of `/run/.containerenv` (values quoted).
pub fn parse_containerenv(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        .collect()
}

/// Whether a PID 1 command line (NUL-separated) is GitLab Runner's
/// shell-detection script rather than an image entrypoint.
pub fn is_shell_detection(cmdline: &str) -> bool {
    let text = cmdline.replace('\0', " ");
    text.contains("if [ -x /usr/local/bin/bash ]")
        || (text.contains("elif [ -x") && text.contains("exec /bin/sh"))
}

pub fn probe(host: &Host, earlier: &Findings) -> AreaOut<Facts> {
    let found = &mut Obs::new(earlier);
    let mut f = Facts::default();
    found.checks.push(ci_check(host, &mut f));
    let (orchestrator, check) = orchestrator_check(host, &mut f);
    found.checks.push(check);
    found.checks.push(engine_check(host, &mut f));
    f.docker_host_set = host.env_nonempty("DOCKER_HOST").is_some();
    if f.docker_host_set {
        found.checks.push(docker_host_check());
    }
    remote_check(host, found);
    found.checks.push(entrypoint_check(host, &mut f));

    found.report_context.insert("ci".into(), json!(f.ci));
    found
        .report_context
        .insert("orchestrator".into(), json!(orchestrator));
    found
        .report_context
        .insert("engine".into(), json!(f.engine));
    found.finish(f)
}

// --- context.ci
fn ci_check(host: &Host, f: &mut Facts) -> Check {
    if truthy(host.env("GITLAB_CI")) {
        f.ci = Some("gitlab".into());
        f.gitlab_server_version = host.env_nonempty("CI_SERVER_VERSION").map(str::to_string);
    }
    f.honor_entrypoint = truthy(host.env("FF_KUBERNETES_HONOR_ENTRYPOINT"));
    f.advanced_pod_spec = truthy(host.env("FF_USE_ADVANCED_POD_SPEC_CONFIGURATION"));
    Check::info(
        "context.ci",
        match &f.ci {
            Some(_) => format!(
                "GitLab CI job{}",
                f.gitlab_server_version
                    .as_ref()
                    .map(|v| format!(" (GitLab {v})"))
                    .unwrap_or_default()
            ),
            None => "not a GitLab CI job (GITLAB_CI unset)".to_string(),
        },
    )
    .with("ci", json!(f.ci))
    .with("FF_KUBERNETES_HONOR_ENTRYPOINT", f.honor_entrypoint)
    .with(
        "FF_USE_ADVANCED_POD_SPEC_CONFIGURATION",
        f.advanced_pod_spec,
    )
}

// --- context.orchestrator
/// Also the orchestrator's name for the report (`None`: not in Kubernetes).
fn orchestrator_check(host: &Host, f: &mut Facts) -> (Option<&'static str>, Check) {
    let service_host = host.env_nonempty("KUBERNETES_SERVICE_HOST").is_some();
    let secrets = host.exists(K8S_SECRETS) || host.exists(K8S_NAMESPACE);
    f.kubernetes = service_host || secrets;
    let random_uid = host.uid() >= 1_000_000_000 && host.gid() == 0;
    let service_ca = host.exists(OPENSHIFT_SERVICE_CA);
    let label = host
        .read(ATTR_CURRENT)
        .map(|s| s.trim_end_matches('\0').trim().to_string())
        .unwrap_or_default();
    let mcs = label.contains(":container_t:s0:c") || label.contains(":container_engine_t:s0:c");
    f.openshift = f.kubernetes && (service_ca || random_uid || mcs);
    let (orchestrator, summary) = if f.openshift {
        (Some("openshift"), "OpenShift pod")
    } else if f.kubernetes {
        (Some("kubernetes"), "Kubernetes pod")
    } else {
        (None, "not in Kubernetes")
    };
    let check = Check::info("context.orchestrator", summary)
        .with("KUBERNETES_SERVICE_HOST_set", service_host)
        .with("service_account_volume", secrets)
        .with("openshift_service_ca", service_ca)
        .with("uid_ge_1000000000_gid_0", random_uid)
        .with("selinux_label", label);
    (orchestrator, check)
}

// --- context.engine
fn engine_check(host: &Host, f: &mut Facts) -> Check {
    let container_env = host.env_nonempty("container").map(str::to_string);
    let mut evidence = Vec::new();
    if let Ok(text) = host.read(CONTAINERENV) {
        let kv = parse_containerenv(&text);
        let get = |k: &str| kv.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        f.engine = Some("podman".into());
        f.outer_rootless = get("rootless").map(|v| v == "1");
        evidence.push(
            json!({"file": CONTAINERENV, "engine": get("engine"), "rootless": get("rootless")}),
        );
    } else if host.exists(DOCKERENV) {
        f.engine = Some("docker".into());
        evidence.push(json!({"file": DOCKERENV}));
    } else if let Some(c) = &container_env {
        f.engine = Some(c.clone());
    } else if f.kubernetes {
        f.engine = Some("cri".into());
    }
    let engine = Check::info(
        "context.engine",
        match (&f.engine, f.outer_rootless) {
            (Some(e), Some(true)) => format!("started by {e} (rootless outer engine)"),
            (Some(e), _) => format!("started by {e}"),
            (None, _) => "no container engine detected (bare host or VM?)".to_string(),
        },
    )
    .with("engine", json!(f.engine))
    .with("container", json!(container_env));
    if evidence.is_empty() {
        engine
    } else {
        engine.with("files", json!(evidence))
    }
}

// --- context.docker_host
fn docker_host_check() -> Check {
    Check::warn(
        "context.docker_host",
        "DOCKER_HOST is set, but podman ignores it: `podman build` uses its own local storage, \
         not that daemon",
    )
    .with("DOCKER_HOST_set", true)
}

// --- context.entrypoint
fn entrypoint_check(host: &Host, f: &mut Facts) -> Check {
    let cmdline = match host.read(PID1_CMDLINE) {
        Ok(c) => c,
        Err(e) => {
            return Check::info(
                "context.entrypoint",
                format!("cannot read {PID1_CMDLINE}: {e}"),
            )
            .with("error", crate::host::io_error_name(&e))
        }
    };
    f.pid1_shell_detection = is_shell_detection(&cmdline);
    let argv0 = cmdline.split('\0').next().unwrap_or("").to_string();
    let check = if f.pid1_shell_detection && f.kubernetes && !f.honor_entrypoint {
        Check::info(
            "context.entrypoint",
            "PID 1 is GitLab Runner's shell-detection script: the image ENTRYPOINT does not run \
             on this executor; run podrun-doctor from before_script",
        )
    } else if f.pid1_shell_detection {
        Check::info(
            "context.entrypoint",
            "PID 1 is GitLab Runner's shell-detection script",
        )
    } else {
        Check::info("context.entrypoint", format!("PID 1 is {argv0}"))
    };
    check
        .with("pid1", argv0)
        .with("shell_detection", f.pid1_shell_detection)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;
    use crate::probes::testutil::Fixture;

    const SHELL_DETECTION: &str = "sh\0-c\0if [ -x /usr/local/bin/bash ]; then\n\texec /usr/local/bin/bash \nelif [ -x /usr/bin/bash ]; then\n\texec /usr/bin/bash \nelif [ -x /bin/bash ]; then\n\texec /bin/bash \nelif [ -x /usr/local/bin/sh ]; then\n\texec /usr/local/bin/sh \nelif [ -x /usr/bin/sh ]; then\n\texec /usr/bin/sh \nelif [ -x /bin/sh ]; then\n\texec /bin/sh \nelif [ -x /busybox/sh ]; then\n\texec /busybox/sh \nelse\n\techo shell not found\n\texit 1\nfi\n\n\0";

    #[test]
    fn gitlab_on_openshift() {
        let host = Fixture::new()
            .uid(1000680000)
            .gid(0)
            .env("GITLAB_CI", "true")
            .env("CI_SERVER_VERSION", "17.5.0")
            .env("FF_KUBERNETES_HONOR_ENTRYPOINT", "false")
            .env("KUBERNETES_SERVICE_HOST", "10.0.0.1")
            .env("DOCKER_HOST", "tcp://docker:2376")
            .file(K8S_NAMESPACE, "ci\n")
            .file(OPENSHIFT_SERVICE_CA, "x")
            .file(ATTR_CURRENT, "system_u:system_r:container_t:s0:c12,c34\0")
            .file(PID1_CMDLINE, SHELL_DETECTION)
            .host();
        let mut found = Findings::default();
        found.absorb(probe(&host, &found));
        assert_eq!(found.report_context["ci"], json!("gitlab"));
        assert_eq!(found.report_context["orchestrator"], json!("openshift"));
        assert_eq!(found.report_context["engine"], json!("cri"));
        assert!(found.context.pid1_shell_detection);
        assert!(found
            .check("context.entrypoint")
            .unwrap()
            .summary
            .contains("before_script"));
        let dh = found.check("context.docker_host").unwrap();
        assert_eq!(dh.status, Status::Warn);
        assert!(!serde_json::to_string(&dh.evidence)
            .unwrap()
            .contains("2376"));
        assert!(found.checks.iter().all(|c| c.status <= Status::Warn));
        for id in ["context.ci", "context.orchestrator", "context.engine"] {
            assert_eq!(
                found.check(id).map(|c| c.status),
                Some(Status::Info),
                "{id}"
            );
        }
        assert!(found
            .check("context.ci")
            .unwrap()
            .summary
            .contains("GitLab"));
        assert!(found
            .check("context.orchestrator")
            .unwrap()
            .summary
            .contains("OpenShift"));
    }

    #[test]
    fn podman_outer_engine_and_plain_host() {
        let host = Fixture::new()
            .file(
                CONTAINERENV,
                "engine=\"podman-4.3.1\"\nname=\"x\"\nrootless=1\n",
            )
            .file(
                PID1_CMDLINE,
                "/usr/local/bin/podrun-doctor\0exec\0--\0bash\0",
            )
            .host();
        let mut found = Findings::default();
        found.absorb(probe(&host, &found));
        assert_eq!(found.report_context["engine"], json!("podman"));
        assert_eq!(found.context.outer_rootless, Some(true));
        assert_eq!(found.report_context["ci"], json!(null));
        assert_eq!(found.report_context["orchestrator"], json!(null));
        assert!(found.check("context.docker_host").is_none());
        assert!(!found.context.pid1_shell_detection);

        let host = Fixture::new().file(DOCKERENV, "").host();
        let mut found = Findings::default();
        found.absorb(probe(&host, &found));
        assert_eq!(found.report_context["engine"], json!("docker"));
        assert_eq!(
            found.check("context.entrypoint").unwrap().status,
            Status::Info
        );
    }

    #[test]
    fn container_host_even_empty_makes_podman_remote() {
        // Rows deb13-rootless-priv-container-host-empty (CONTAINER_HOST=""),
        // deb13-root-fuse-nnp-container-connection: podman fails as a remote
        // client; `unset` builds.
        let host = Fixture::new()
            .env("CONTAINER_HOST", "")
            .env("CONTAINER_CONNECTION", "ci")
            .host();
        let mut found = Findings::default();
        found.absorb(probe(&host, &found));
        let c = found.check("context.remote").unwrap();
        assert_eq!(c.status, Status::Error);
        assert!(c
            .summary
            .contains("CONTAINER_HOST and CONTAINER_CONNECTION"));
        // Texts wrapped in the source read as single-spaced sentences.
        assert!(c.summary.contains("`podman build`"), "{}", c.summary);
        for text in [&c.summary, &c.fix.as_ref().unwrap().text] {
            assert!(!text.contains("  "), "{text}");
        }
        let fix = c.fix.as_ref().unwrap();
        assert_eq!(
            fix.actions,
            vec![
                Action::UnsetEnv {
                    key: "CONTAINER_HOST".into()
                },
                Action::UnsetEnv {
                    key: "CONTAINER_CONNECTION".into()
                },
            ]
        );
        let host = Fixture::new()
            .env("DOCKER_HOST", "tcp://docker:2375")
            .host();
        let mut found = Findings::default();
        found.absorb(probe(&host, &found));
        assert_eq!(found.check("context.remote").unwrap().status, Status::Ok);
    }
}
