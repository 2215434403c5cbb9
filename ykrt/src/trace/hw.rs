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
use std::{fmt, path::PathBuf, sync::OnceLock};

/// The flag value of a software recording: blocks (and values). The bit
/// is the one yk-ld's block hooks test.
pub(crate) const FLAG_SWT: u8 = yk_abi::flags::BLOCKS;
/// The flag value of a hardware recording: values only (any bit but the
/// block hooks').
pub(crate) const FLAG_HWT: u8 = yk_abi::flags::VALUES;

/// Why Intel PT can't record, or could not record or decode, a path. The
/// strings are the OS's or the PT crate's messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum HwtError {
    /// This machine or process can't use Intel PT (why).
    Unavailable(String),
    /// The running executable's path is unknown.
    FindExe(String),
    /// The running executable could not be read.
    ReadExe {
        /// Its path.
        path: PathBuf,
        /// The OS's message.
        msg: String,
    },
    /// The executable's block address map could not be mapped to the
    /// embedded IR's blocks.
    MapExe {
        /// Its path.
        path: PathBuf,
        /// Why.
        msg: String,
    },
    /// Tracing this thread could not start.
    Start(String),
    /// Tracing this thread could not stop cleanly.
    Stop(String),
    /// The packets do not decode to a path.
    Decode(String),
}

impl fmt::Display for HwtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HwtError::Unavailable(why) | HwtError::Start(why) | HwtError::Stop(why) => {
                f.write_str(why)
            }
            HwtError::FindExe(e) => write!(f, "finding the executable: {e}"),
            HwtError::ReadExe { path, msg } => write!(f, "reading {}: {msg}", path.display()),
            HwtError::MapExe { path, msg } => {
                write!(f, "mapping {} to embedded-IR blocks: {msg}", path.display())
            }
            HwtError::Decode(e) => write!(f, "decoding the PT trace: {e}"),
        }
    }
}

impl std::error::Error for HwtError {}

/// The running binary's block map and load bias, built once.
struct Map {
    map: IrMap,
    bias: u64,
}

/// Can this process record with Intel PT? `Err` says why not (PT missing,
/// or the binary's block map could not be built). Decided once.
pub(crate) fn usable() -> Result<(), HwtError> {
    static USABLE: OnceLock<Result<(), HwtError>> = OnceLock::new();
    USABLE
        .get_or_init(|| {
            if let Some(why) = hwt::unavailable_reason() {
                return Err(HwtError::Unavailable(why));
            }
            map().map(|_| ())
        })
        .clone()
}

fn map() -> Result<&'static Map, HwtError> {
    static MAP: OnceLock<Result<Map, HwtError>> = OnceLock::new();
    MAP.get_or_init(|| {
        let exe = std::env::current_exe().map_err(|e| HwtError::FindExe(e.to_string()))?;
        let bytes = std::fs::read(&exe).map_err(|e| HwtError::ReadExe {
            path: exe.clone(),
            msg: e.to_string(),
        })?;
        let map = IrMap::from_elf(&bytes).map_err(|e| HwtError::MapExe {
            path: exe.clone(),
            msg: format!("{e:#}"),
        })?;
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
    pub(crate) fn start() -> Result<Pt, HwtError> {
        usable()?;
        let tracer = ThreadTracer::start(TracerConfig::default())
            .map_err(|e| HwtError::Start(format!("{e:#}")))?;
        Ok(Pt { tracer })
    }

    /// Stop tracing and return the recorded blocks, as the software tracer
    /// would have recorded them.
    pub(crate) fn finish(self) -> Result<Vec<(u32, u32)>, HwtError> {
        let packets = self
            .tracer
            .stop()
            .map_err(|e| HwtError::Stop(format!("{e:#}")))?;
        let m = map()?;
        let mut dec = FlowDecoder::new(SelfMemory);
        let blocks = dec
            .decode(&packets)
            .map_err(|e| HwtError::Decode(e.to_string()))?;
        Ok(m.map.map_blocks(&blocks, m.bias))
    }
}
