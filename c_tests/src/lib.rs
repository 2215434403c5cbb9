//! The C test harness of the yk toolchain: builds each `tests/*.c` program with the toolchain
//! and plainly, checks the toolchain build against the expectations in the file's leading
//! comment (via `lang_tester`), and checks that both builds print the same stdout.
//!
//! The test target `tests/c_tests.rs` drives this; `xtask bench-swt` reuses [`toolchain`].
//! See `c_tests/README.md` for the test file format.

pub mod compile;
pub mod run;
pub mod spec;
pub mod toolchain;
