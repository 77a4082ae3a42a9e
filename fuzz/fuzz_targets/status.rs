//! Fuzz target `status`: the oracle `oracles::status` (fuzz/src/oracles.rs).
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../src/oracles.rs"]
#[allow(dead_code)]
mod oracles;

fuzz_target!(|data: &[u8]| oracles::status(data));
