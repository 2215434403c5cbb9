//! The Lua test suite of the yk toolchain, to come: see `lang_tests/README.md`. This crate is
//! a placeholder so that the workspace layout is in place; it contains no tests yet.
