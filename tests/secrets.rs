//! issue 9: the job's secrets reach no output. Canary values sit in the
//! variables GitLab CI fills with credentials, in proxy URLs, and in a
//! ~/.docker/config.json; every mode (check, fix, env, exec, capture,
//! explain) runs with them, and no stdout, stderr, JSON, JUnit or capture
//! file may contain one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const CANARIES: &[(&str, &str)] = &[
    ("CI_JOB_TOKEN", "canaryJOBTOKEN7f3a"),
    ("CI_REGISTRY_PASSWORD", "canaryREGPASS91c2"),
    ("CI_JOB_JWT", "eyJcanaryJWT.e30.sig4d1"),
    (
        "DOCKER_AUTH_CONFIG",
        r#"{"auths":{"r.example":{"auth":"Y2FuYXJ5QVVUSDU1"}}}"#,
    ),
    (
        "HTTP_PROXY",
        "http://proxyuser:canaryPROXY1@proxy.example:3128",
    ),
    (
        "HTTPS_PROXY",
        "http://proxyuser:canaryPROXY2@proxy.example:3128",
    ),
    ("https_proxy", "http://u:canary/PROXY3@proxy.example:3128"),
];

/// The parts of each canary that must never be printed.
const SECRETS: &[&str] = &[
    "canaryJOBTOKEN7f3a",
    "canaryREGPASS91c2",
    "eyJcanaryJWT",
    "Y2FuYXJ5QVVUSDU1",
    "canaryPROXY1",
    "canaryPROXY2",
    "canary/PROXY3",
    "canaryDOCKERCFG",
];

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            copy_tree(&e.path(), &target);
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(e.path()).unwrap(), &target).unwrap();
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// A captured environment with the canaries added to its environment and
/// a Docker credentials file in its HOME.
fn fixture(tmp: &Path) -> PathBuf {
    let src =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/envs/deb13-rootless-default");
    let dir = tmp.join("env");
    copy_tree(&src, &dir);
    let host_json = dir.join("host.json");
    let mut host: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&host_json).unwrap()).unwrap();
    let env = host["env"].as_object_mut().unwrap();
    for (k, v) in CANARIES {
        env.insert(k.to_string(), serde_json::json!(v));
    }
    let home = env
        .get("HOME")
        .and_then(|h| h.as_str())
        .unwrap_or("/home/podman")
        .to_string();
    std::fs::write(&host_json, serde_json::to_string_pretty(&host).unwrap()).unwrap();
    docker_config(&dir.join("root").join(home.trim_start_matches('/')));
    dir
}

fn docker_config(home: &Path) {
    std::fs::create_dir_all(home.join(".docker")).unwrap();
    std::fs::write(
        home.join(".docker/config.json"),
        r#"{"auths":{"registry.example":{"auth":"canaryDOCKERCFG"}}}"#,
    )
    .unwrap();
}

fn doctor(tmp: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_podrun-doctor"));
    // The real process environment carries them too (exec, capture).
    c.envs(CANARIES.iter().copied())
        .env("HOME", tmp.join("realhome"))
        .env_remove("PODRUN_DOCTOR_DONE")
        .env_remove("PODRUN_DOCTOR_NO_FAIL")
        .stdin(Stdio::null());
    c
}

fn assert_clean(what: &str, text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "{what} leaks {s:?}:\n{text}");
    }
}

fn assert_output_clean(what: &str, o: &Output) {
    assert_clean(
        &format!("{what} stdout"),
        &String::from_utf8_lossy(&o.stdout),
    );
    assert_clean(
        &format!("{what} stderr"),
        &String::from_utf8_lossy(&o.stderr),
    );
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            files_under(&e.path(), out);
        } else {
            out.push(e.path());
        }
    }
}

#[test]
fn no_mode_prints_a_secret_in_any_output() {
    let tmp = tempfile::tempdir().unwrap();
    let env = fixture(tmp.path());
    docker_config(&tmp.path().join("realhome"));
    let (json, junit) = (tmp.path().join("r.json"), tmp.path().join("r.xml"));
    let reports = [
        "--json",
        json.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ];
    let modes: [&[&str]; 5] = [
        &["check"],
        &["fix", "--dry-run"],
        &["env"],
        &["exec", "--no-fail", "--", "/bin/true"],
        &["check", "--verbose"],
    ];
    for mode in modes {
        let out = doctor(tmp.path())
            .arg("--root")
            .arg(&env)
            .args(mode)
            .args(reports)
            .output()
            .unwrap();
        let name = mode.join(" ");
        assert_output_clean(&name, &out);
        let json_text = std::fs::read_to_string(&json).unwrap_or_default();
        assert!(!json_text.is_empty(), "{name}: no JSON report");
        assert_clean(&format!("{name} JSON"), &json_text);
        assert_clean(
            &format!("{name} JUnit"),
            &std::fs::read_to_string(&junit).unwrap_or_default(),
        );
    }
    for id in ["identity.user_env", "network.run", "-"] {
        let out = doctor(tmp.path()).args(["explain", id]).output().unwrap();
        assert_output_clean(&format!("explain {id}"), &out);
    }
}

#[test]
fn capture_records_no_secret() {
    let tmp = tempfile::tempdir().unwrap();
    docker_config(&tmp.path().join("realhome"));
    let dir = tmp.path().join("captured");
    // capture is pure (staged writes) and reads the real system.
    let out = doctor(tmp.path())
        .args(["capture", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert_output_clean("capture", &out);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut files = Vec::new();
    files_under(&dir, &mut files);
    assert!(!files.is_empty(), "capture wrote nothing");
    for f in files {
        if let Ok(text) = std::fs::read(&f) {
            assert_clean(&f.display().to_string(), &String::from_utf8_lossy(&text));
        }
    }
}
