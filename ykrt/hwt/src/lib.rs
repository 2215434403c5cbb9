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
//! - [bbaddrmap]: mapping those addresses to LLVM machine blocks through the
//!   `.llvm_bb_addr_map` section. See that module for what cannot be mapped
//!   to embedded-IR blocks yet.
//!
//! Without PT hardware everything but the collector is tested on synthesised
//! packet streams.

pub mod bbaddrmap;
pub mod collector;
pub mod encode;
pub mod flow;
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
