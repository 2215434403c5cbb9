//! Hardware tracing with Intel Processor Trace (PT).
//!
//! The pieces, in the order a trace flows through them:
//! - [support]: can PT be used here ([unavailable_reason])?
//! - [collector]: a per-thread `perf_event_open` event on the `intel_pt` PMU
//!   (branch tracing, return compression off, user space only) whose AUX
//!   buffer is drained by [ring] without silent loss;
//! - [packet]: our own packet parser (the [encode] module writes packets, to
//!   synthesise traces for tests and benchmarks where there is no PT);
//! - [flow]: instruction-flow reconstruction with `iced-x86`, giving the
//!   executed blocks ([flow::Block]);
//! - [bbaddrmap]: the `.llvm_bb_addr_map` section (machine blocks of a
//!   function, which give [irmap] exact instruction boundaries);
//! - [irmap]: mapping executed code to the embedded-IR `(function index,
//!   block index)` pairs the software tracer would record, through the swt
//!   hooks' flag tests in the machine code (docs/hwt.md).
//!
//! Without PT hardware everything but the collector's system calls is tested:
//! the decoder on synthesised packet streams (`tests/decode.rs`), the ring
//! protocol on a simulated `perf_event_mmap_page`, the block map against
//! `llvm-readobj-22` on real clang-22 builds (`tests/bb_addr_map.rs`), the
//! packet parser against libipt (`tests/libipt.rs`), and [irmap] on the C
//! tests' toolchain-built binaries, with a round trip from swt recordings
//! through synthesised PT packets (`c_tests/tests/hwt_map.rs`).
//! `cargo run --release -p hwt --example decode_speed` measures the decoder.
//!
//! # Limits
//! - Only 64-bit code: a MODE.Exec for 16/32-bit code is an error.
//! - No IP address filtering: the event traces all user code of the thread
//!   (filtering would make conditional branches leaving the range emit
//!   TIP.PGD instead of TNT bits, which the decoder rejects).
//! - Any loss (OVF packet, truncated AUX data, lost records) makes the whole
//!   trace an error; there is no resynchronisation after an overflow.
//! - PEBS-in-PT block packets (BBP/BIP/BEP) are rejected; they are never
//!   enabled by the collector.
//! - Never run on PT hardware: the collector's system calls and real AUX data
//!   are untested (this project's machines have no PT).

#![warn(missing_docs)]

pub mod bbaddrmap;
pub mod collector;
pub mod encode;
pub mod flow;
pub mod irmap;
pub mod packet;
pub mod ring;
pub mod support;

use std::sync::OnceLock;

/// Why Intel PT cannot be used by this process, or `None` if it can.
///
/// Checks the CPU (CPUID), the kernel (`intel_pt` PMU in sysfs, with the
/// `branch` and `noretcomp` formats) and permissions (`perf_event_paranoid`,
/// root, `CAP_PERFMON`). Computed once per process.
pub fn unavailable_reason() -> Option<String> {
    static REASON: OnceLock<Option<String>> = OnceLock::new();
    REASON
        .get_or_init(|| support::judge(&support::gather()))
        .clone()
}
