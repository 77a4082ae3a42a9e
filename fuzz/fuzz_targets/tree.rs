//! A whole fixture tree of fuzzed files through every area and the fix
//! loop: a seed environment from tests/fixtures/envs is copied afresh,
//! the fuzzer's bytes replace the contents of some of its files (or of
//! config files it lacks), and `check`, `env` or `exec` runs on it to the
//! end. No panic, no hang (libFuzzer's -timeout), and every run ends with a
//! JSON report that has a verdict.
//!
//! Input: byte 0 picks the seed (low nibble) and the mode (high nibble);
//! then chunks `[file index][length: u16 LE][contents]`, the file index
//! taken modulo the seed's list of files (see `tree::files`).
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../src/tree.rs"]
#[allow(dead_code)]
mod tree;

fuzz_target!(|data: &[u8]| {
    tree::run(data);
});
