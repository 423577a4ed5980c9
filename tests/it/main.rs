//! Integration tests: one test binary (it compiles much faster than one per file), one
//! module per area. They run the real `v2g` binary on real files.

mod bad_input;
mod bounded;
mod case_study;
mod common;
mod docs;
mod examples;
mod import;
mod keyholders;
mod ledger;
mod network;
mod outputs;
mod policies;
mod realism;
mod report;
mod sessions;
mod simulate;
mod solver;
mod sweep;
