//! The hardware tracer's runtime side (`YKD_TRACER=hwt`): Intel PT records
//! the blocks of a root trace, the software tracer's hooks still record the
//! promoted values and idempotent results.
//!
//! A recording starts and stops at the same points as a software recording
//! (`swt::start`/`swt::stop`, in the control point); only the flag differs:
//! the hardware tracer sets the value bit and leaves the block bit clear
//! (docs/abi.md), so no block hook calls the runtime. At the end the PT
//! packets are decoded ([hwt::flow], reading this process's code) and mapped
//! to `(function index, block index)` pairs by [hwt::irmap], which yields
//! exactly what the software tracer would have recorded (docs/hwt.md).
//!
//! Side traces stay with the software tracer: their recording starts in the
//! blackhole, which records its blocks itself before native code continues.

use hwt::{
    collector::{ThreadTracer, TracerConfig},
    flow::{FlowDecoder, SelfMemory},
    irmap::IrMap,
};
use std::sync::OnceLock;

/// The flag value of a software recording: blocks (and values). The bit
/// is the one yk-ld's block hooks test.
pub(crate) const FLAG_SWT: u8 = yk_abi::flags::BLOCKS;
/// The flag value of a hardware recording: values only (any bit but the
/// block hooks').
pub(crate) const FLAG_HWT: u8 = yk_abi::flags::VALUES;

/// The running binary's block map and load bias, built once.
struct Map {
    map: IrMap,
    bias: u64,
}

/// Can this process record with Intel PT? `Err` says why not (PT missing,
/// or the binary's block map could not be built). Decided once.
pub(crate) fn usable() -> Result<(), String> {
    static USABLE: OnceLock<Result<(), String>> = OnceLock::new();
    USABLE
        .get_or_init(|| {
            if let Some(why) = hwt::unavailable_reason() {
                return Err(why);
            }
            map().map(|_| ())
        })
        .clone()
}

fn map() -> Result<&'static Map, String> {
    static MAP: OnceLock<Result<Map, String>> = OnceLock::new();
    MAP.get_or_init(|| {
        let exe = std::env::current_exe().map_err(|e| format!("finding the executable: {e}"))?;
        let bytes = std::fs::read(&exe).map_err(|e| format!("reading {}: {e}", exe.display()))?;
        let map = IrMap::from_elf(&bytes)
            .map_err(|e| format!("mapping {} to embedded-IR blocks: {e:#}", exe.display()))?;
        Ok(Map {
            map,
            bias: hwt::bbaddrmap::main_exe_load_bias(),
        })
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// A hardware recording going on on this thread.
pub(crate) struct Pt {
    tracer: ThreadTracer,
}

impl Pt {
    /// Start tracing this thread.
    pub(crate) fn start() -> Result<Pt, String> {
        usable()?;
        let tracer = ThreadTracer::start(TracerConfig::default()).map_err(|e| format!("{e:#}"))?;
        Ok(Pt { tracer })
    }

    /// Stop tracing and return the recorded blocks, as the software tracer
    /// would have recorded them.
    pub(crate) fn finish(self) -> Result<Vec<(u32, u32)>, String> {
        let packets = self.tracer.stop().map_err(|e| format!("{e:#}"))?;
        let m = map()?;
        let mut dec = FlowDecoder::new(SelfMemory);
        let blocks = dec
            .decode(&packets)
            .map_err(|e| format!("decoding the PT trace: {e}"))?;
        Ok(m.map.map_blocks(&blocks, m.bias))
    }
}
