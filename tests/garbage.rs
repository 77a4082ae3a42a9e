//! Bad input never crashes the doctor or loses a file: every file of a
//! captured environment is replaced in turn by garbage, and the whole run
//! (probes, fixes staged as in `check`) must finish; for the files a user
//! edits, a finding must name the file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{copy_tree, env_dir};
use podrun_doctor::fix::fix_loop;
use podrun_doctor::host::Host;
use std::path::{Path, PathBuf};

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            files_under(&entry.path(), out);
        } else {
            out.push(entry.path());
        }
    }
}

/// Garbage of several kinds, deterministic (a small LCG, no dependency).
fn garbage(kind: usize, seed: u64) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut bytes = |n: usize| {
        (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (x >> 33) as u8
            })
            .collect::<Vec<u8>>()
    };
    match kind {
        0 => Vec::new(),
        1 => bytes(512),
        2 => b"::::\n:x:\n[[[\n= = =\nkey = \"unterminated\n\0\0\n-1 -1 -1\n99999999999999999999 0 1\n".to_vec(),
        _ => {
            let mut v = b"podman:".to_vec();
            v.extend(std::iter::repeat_n(b'9', 5000));
            v.extend(b":\xff\xfe\n");
            v
        }
    }
}

fn run_check(root: &Path) -> Vec<podrun_doctor::model::Check> {
    let mut host = Host::fixture(root).unwrap();
    host.stage_writes();
    let (before, _after, _fixes) = fix_loop(&mut host, &[]);
    before.checks
}

#[test]
fn every_file_replaced_by_garbage_still_gives_a_report() {
    for name in ["deb13-rootless-priv", "deb12-root-fuse-nnp"] {
        let work = tempfile::tempdir().unwrap();
        copy_tree(&env_dir(name), work.path());
        let mut files = Vec::new();
        files_under(&work.path().join("root"), &mut files);
        assert!(files.len() > 10, "{name}: too few files to mean anything");
        for (i, file) in files.iter().enumerate() {
            let original = std::fs::read(file).unwrap();
            for kind in 0..4 {
                std::fs::write(file, garbage(kind, i as u64)).unwrap();
                let outcome = std::panic::catch_unwind(|| run_check(work.path()));
                let rel = file
                    .strip_prefix(work.path())
                    .unwrap()
                    .display()
                    .to_string();
                let checks = outcome
                    .unwrap_or_else(|_| panic!("{name}: panicked on garbage kind {kind} in {rel}"));
                assert!(checks.len() > 20, "{name}: {rel}: the run stopped early");
            }
            std::fs::write(file, &original).unwrap();
        }
    }
}

#[test]
fn garbage_in_files_a_user_edits_is_named_in_a_finding() {
    let edited = [
        "/etc/subuid",
        "/etc/subgid",
        "/etc/passwd",
        "/usr/share/containers/containers.conf",
    ];
    let work = tempfile::tempdir().unwrap();
    copy_tree(&env_dir("deb13-rootless-priv"), work.path());
    for path in edited {
        let file = work.path().join("root").join(path.trim_start_matches('/'));
        let original = std::fs::read(&file).unwrap();
        std::fs::write(&file, garbage(2, 7)).unwrap();
        let checks = run_check(work.path());
        let named = checks.iter().any(|c| {
            c.status >= podrun_doctor::model::Status::Warn
                && (c.summary.contains(path)
                    || serde_json::to_string(&c.evidence).unwrap().contains(path))
        });
        assert!(named, "no warning or error names {path}");
        // A check never changes anything: the garbage is still there.
        assert_eq!(std::fs::read(&file).unwrap(), garbage(2, 7));
        std::fs::write(&file, original).unwrap();
    }
}
