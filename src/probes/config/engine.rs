//! The `[engine]` checks: the cgroup manager, the events logger and the
//! OCI runtime (chosen by `decide::runtime` from the facts observed here).

use super::facts::Facts;
use super::resolution::target_in;
use crate::decide::runtime::{self, Choice, RuntimeFacts};
use crate::host::Host;
use crate::model::{Action, By, Check};
use crate::probes::Obs;
use crate::remedy::conf::{attach, route, ConfRoute};
use serde_json::json;

const SYSTEMD_DIR: &str = "/run/systemd/system";
const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";
const RUNC: &str = "[engine]\nruntime = \"runc\"\n";

// --- config.cgroup_manager
pub(super) fn cgroup_manager_check(host: &Host, found: &mut Obs, f: &mut Facts) {
    let systemd = host.exists(SYSTEMD_DIR);
    f.cgroup_manager = f
        .get_str("engine.cgroup_manager")
        .map(str::to_string)
        .unwrap_or_else(|| if systemd { "systemd" } else { "cgroupfs" }.into());
    let cm_src = f.source("engine.cgroup_manager");
    let check = if f.cgroup_manager == "systemd" && !systemd {
        let c = if found.plan.rootless {
            Check::warn(
                "config.cgroup_manager",
                format!(
                    "cgroup_manager = \"systemd\" ({cm_src}) without systemd: rootless podman warns and \
                     falls back to cgroupfs"
                ),
            )
        } else {
            Check::error(
                "config.cgroup_manager",
                format!(
                    "cgroup_manager = \"systemd\" ({cm_src}) but {SYSTEMD_DIR} is missing: rootful podman \
                     fails with `cannot open sd-bus`"
                ),
            )
        };
        attach(
            c,
            host,
            &target_in(host, found, &f.settings),
            "cgroup-manager",
            "[engine]\ncgroup_manager = \"cgroupfs\"\n",
            "Use the cgroupfs cgroup manager",
        )
    } else {
        Check::ok(
            "config.cgroup_manager",
            format!("cgroup_manager = {:?} ({cm_src})", f.cgroup_manager),
        )
    };
    found.checks.push(
        check
            .with("value", f.cgroup_manager.clone())
            .with("source", cm_src)
            .with("systemd_running", systemd),
    );
}

// --- config.events_logger
pub(super) fn events_logger_check(host: &Host, found: &mut Obs, f: &mut Facts) {
    let systemd = host.exists(SYSTEMD_DIR);
    let journal = host.exists(JOURNAL_SOCKET);
    f.events_logger = f
        .get_str("engine.events_logger")
        .map(str::to_string)
        .unwrap_or_else(|| {
            if systemd && journal {
                "journald"
            } else {
                "file"
            }
            .into()
        });
    let ev_src = f.source("engine.events_logger");
    let check = if f.events_logger == "journald" && !journal {
        attach(
            Check::warn(
                "config.events_logger",
                format!(
                    "events_logger = \"journald\" ({ev_src}) but {JOURNAL_SOCKET} is missing: podman \
                     logs `unable to write system event` errors"
                ),
            ),
            host,
            &target_in(host, found, &f.settings),
            "events-logger",
            "[engine]\nevents_logger = \"file\"\n",
            "Log podman events to a file",
        )
    } else {
        Check::ok(
            "config.events_logger",
            format!("events_logger = {:?} ({ev_src})", f.events_logger),
        )
    };
    found.checks.push(
        check
            .with("value", f.events_logger.clone())
            .with("source", ev_src)
            .with("journal_socket", journal),
    );
}

// --- config.runtime
/// Observes the runtime facts, lets `decide::runtime` choose, and words
/// the choice with its remedy.
pub(super) fn runtime_check(host: &Host, found: &mut Obs, f: &mut Facts) {
    let runc_route = route(host, &target_in(host, found, &f.settings), "runtime", RUNC);
    let facts = runtime_facts(host, found, f, runc_route.is_some());
    let name = runtime::name(&facts).to_string();
    let src = f.source("engine.runtime");
    let chroot = found.plan.isolation == "chroot";
    // The route was found before the choice, which rests on it.
    let check = match (runtime::choose(&facts, chroot), runc_route) {
        (Choice::Usable { path }, _) => Check::ok(
            "config.runtime",
            format!("OCI runtime {name} at {path} ({src})"),
        ),
        (Choice::HybridToRunc { path }, Some(r)) => to_runc(hybrid_error(&name, path, &src), r),
        (Choice::HybridToRunc { path } | Choice::HybridChroot { path }, _) => chroot_fix(
            hybrid_error(&name, path, &src),
            "runc is not installed or cannot be configured here",
        ),
        (Choice::Missing, _) => Check::error(
            "config.runtime",
            format!("OCI runtime {name:?} ({src}) is not installed and no other runtime is"),
        )
        .fix(By::Image, "Install crun (or runc) in the job image."),
        (Choice::MissingOtherRefuses, _) => chroot_fix(
            Check::error(
                "config.runtime",
                format!(
                    "OCI runtime {name:?} ({src}) is not installed; crun is, but {HYBRID_TEXT}"
                ),
            ),
            "or install runc",
        ),
        (Choice::MissingUseOther(o), _) => attach(
            Check::error(
                "config.runtime",
                format!("OCI runtime {name:?} ({src}) is not installed; {o} is"),
            ),
            host,
            &target_in(host, found, &f.settings),
            "runtime",
            &format!("[engine]\nruntime = \"{o}\"\n"),
            &format!("Use the installed runtime {o}"),
        ),
    };
    let check = if facts.crun_refuses_hybrid {
        check.with("crun_refuses_hybrid_cgroups", true)
    } else {
        check
    };
    found.checks.push(
        check
            .with("runtime", name.clone())
            .with("source", src)
            .with("path", json!(facts.path)),
    );
    f.runtime = name;
    f.runtime_facts = Some(facts);
}

/// What the runtime decision rests on. The path is looked up as libpod
/// does: an absolute name itself, else the name's `[engine.runtimes]`
/// paths, else where the tools area found crun/runc, else PATH.
fn runtime_facts(host: &Host, found: &Obs, f: &Facts, runc_settable: bool) -> RuntimeFacts {
    let t = &found.tools;
    let mut facts = RuntimeFacts {
        configured: f.get_str("engine.runtime").map(str::to_string),
        crun: t.crun.is_some(),
        runc: t.runc.is_some(),
        path: None,
        crun_refuses_hybrid: found.cgroups.crun_refuses,
        runc_settable,
    };
    let name = runtime::name(&facts).to_string();
    facts.path = if name.starts_with('/') {
        host.exists(&name).then(|| name.clone())
    } else {
        f.get(&format!("engine.runtimes.{name}"))
            .and_then(|s| s.value.as_str_array())
            .unwrap_or_default()
            .into_iter()
            .find(|p| host.exists(p))
            .or_else(|| match name.as_str() {
                "crun" => t.crun.clone(),
                "runc" => t.runc.clone(),
                other => host.which(other),
            })
    };
    facts
}

const HYBRID_TEXT: &str = "crun fails every RUN step with `cgroups in hybrid mode not supported`";

fn hybrid_error(name: &str, path: &str, src: &str) -> Check {
    Check::error(
        "config.runtime",
        format!(
            "OCI runtime {name} at {path} ({src}), but the cgroup layout is hybrid with v2 \
             controllers: {HYBRID_TEXT}"
        ),
    )
}

fn to_runc(c: Check, r: ConfRoute) -> Check {
    c.job_fix(
        format!("Use runc, which accepts the hybrid layout ({})", r.place),
        r.actions,
    )
}

/// RUN steps without a runtime; the node admin's remedy is pure cgroup v2.
fn chroot_fix(c: Check, why: &str) -> Check {
    c.job_fix(
        format!(
            "export BUILDAH_ISOLATION=chroot (RUN steps without a runtime; {why}); node admin: \
             boot pure cgroup v2 (`systemd.unified_cgroup_hierarchy=1`)"
        ),
        vec![Action::SetEnv {
            key: "BUILDAH_ISOLATION".into(),
            value: "chroot".into(),
        }],
    )
}
