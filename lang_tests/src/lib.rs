//! The Lua test suite of the yk toolchain: every `tests/*.lua` program is run under the
//! instrumented `yklua` (JIT on, low hot threshold) and under the plain `lua`; both must print
//! the expectations in the program's leading comment (checked by `lang_tester`), agree with
//! each other, and, where the test says so, yklua must have compiled and run a trace.
//!
//! The test target `tests/lang_tests.rs` drives this. See `lang_tests/README.md` for the test
//! file format.

pub mod interps;
pub mod run;
pub mod spec;
