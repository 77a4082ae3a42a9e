//! Helpers the integration tests share: where the captured environments
//! live, and a copy of one to mutate.
#![allow(dead_code)] // each test file uses a part

use std::path::{Path, PathBuf};

/// A captured environment under tests/fixtures/envs.
pub fn env_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/envs")
        .join(name)
}

/// Copies a fixture tree, so a test can change files without touching it.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
