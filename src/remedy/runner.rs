//! Runner-side remedies chosen from the context facts: a job learns which
//! executor it runs under (Kubernetes, OpenShift, docker), and its remedy
//! shows that executor's snippet; the others stay behind `explain ID`.
//! When the executor cannot be told, every snippet is shown.

use crate::probes::context;

/// The GitLab Runner executor a job runs under, as far as the job can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Executor {
    Kubernetes,
    /// Kubernetes on OpenShift (CRI-O, SCCs).
    OpenShift,
    Docker,
    Unknown,
}

impl Executor {
    /// From the context area's facts. A podman engine is not told apart:
    /// it may be GitLab's docker executor on podman's socket or a local run.
    pub fn of(ctx: &context::Facts) -> Executor {
        if ctx.openshift {
            Executor::OpenShift
        } else if ctx.kubernetes {
            Executor::Kubernetes
        } else if ctx.engine.as_deref() == Some("docker") {
            Executor::Docker
        } else {
            Executor::Unknown
        }
    }
}

/// A remedy with one snippet per executor.
pub struct RunnerFix {
    /// What to do, in one line.
    pub lead: &'static str,
    pub kubernetes: &'static str,
    pub openshift: &'static str,
    pub docker: &'static str,
    /// What the node admin (or, where named, the image) does, whatever the
    /// executor; empty when nothing is needed there.
    pub node: &'static str,
    /// The check whose `explain` lists every executor.
    pub id: &'static str,
}

impl RunnerFix {
    /// The remedy for this executor; every snippet when it is unknown.
    pub fn text(&self, executor: Executor) -> String {
        let one = match executor {
            Executor::Kubernetes => self.kubernetes,
            Executor::OpenShift => self.openshift,
            Executor::Docker => self.docker,
            Executor::Unknown => {
                let all = [
                    self.lead,
                    self.kubernetes,
                    self.openshift,
                    self.docker,
                    self.node,
                ];
                return lines(&all);
            }
        };
        let more = format!("(other executors: `podrun-doctor explain {}`)", self.id);
        lines(&[self.lead, one, self.node, &more])
    }

    /// `text` with each `{name}` replaced by its value, for snippets that
    /// name what the probe found (the capabilities missing, a path).
    pub fn text_with(&self, executor: Executor, vars: &[(&str, &str)]) -> String {
        vars.iter().fold(self.text(executor), |t, (name, value)| {
            t.replace(&format!("{{{name}}}"), value)
        })
    }

    /// Every executor's snippet, `{placeholders}` shown as `<placeholders>`
    /// (what `explain ID` prints, with no probe's values to fill in).
    pub fn catalog_text(&self) -> String {
        let text = self.text(Executor::Unknown);
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after.find('}') {
                Some(close)
                    if close > 0
                        && after[..close]
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b == b'_') =>
                {
                    out.push_str(&format!("<{}>", &after[..close]));
                    rest = &after[close + 1..];
                }
                _ => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
}

/// The parts one per line, an empty one (no node change) left out.
fn lines(parts: &[&str]) -> String {
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIX: RunnerFix = RunnerFix {
        lead: "Do it.",
        kubernetes: "K: k",
        openshift: "O: o",
        docker: "D: d",
        node: "Node: n",
        id: "a.b",
    };

    #[test]
    fn only_the_jobs_executor_unless_unknown() {
        let ctx = context::Facts {
            engine: Some("docker".into()),
            ..context::Facts::default()
        };
        assert_eq!(Executor::of(&ctx), Executor::Docker);
        let t = FIX.text(Executor::of(&ctx));
        assert!(t.contains("D: d") && !t.contains("K: k") && !t.contains("O: o"));
        assert!(t.contains("Node: n") && t.contains("explain a.b"));
        let ocp = context::Facts {
            kubernetes: true,
            openshift: true,
            ..context::Facts::default()
        };
        assert_eq!(Executor::of(&ocp), Executor::OpenShift);
        assert_eq!(
            FIX.text(Executor::Unknown),
            "Do it.\nK: k\nO: o\nD: d\nNode: n"
        );
    }

    #[test]
    fn placeholders_are_filled_in_every_snippet() {
        let fix = RunnerFix {
            lead: "Add {caps}.",
            kubernetes: "cap_add = [{caps}]",
            ..FIX
        };
        let t = fix.text_with(Executor::Kubernetes, &[("caps", "\"SETUID\"")]);
        assert!(
            t.starts_with("Add \"SETUID\".\ncap_add = [\"SETUID\"]"),
            "{t}"
        );
    }

    #[test]
    fn the_catalog_text_names_its_placeholders() {
        let fix = RunnerFix {
            lead: "Add {caps}.",
            kubernetes: "appArmorProfile: {type: Unconfined} and {quoted}",
            ..FIX
        };
        let t = fix.catalog_text();
        assert!(t.starts_with("Add <caps>.\n"), "{t}");
        assert!(t.contains("{type: Unconfined} and <quoted>"), "{t}");
    }
}
