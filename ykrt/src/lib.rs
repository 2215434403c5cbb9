//! The yk runtime: a meta-tracing JIT for interpreters built with yk-ld.
//!
//! An interpreter creates one [`MT`], gives each loop-header bytecode a
//! [`Location`], and calls the control point at the top of its dispatch loop. The
//! runtime counts executions per location; a hot location is recorded (by the
//! software tracer, [`trace::swt`]) until the same thread comes back to it, and
//! the recording goes to the trace compiler ([`TraceCompiler`]). The
//! embedded AOT IR the recordings refer to is loaded and indexed on the first
//! trace ([`aotir`]).
//!
//! The C API (`yk.h`, `libykcapi`) is the `ykcapi` crate; the hooks yk-ld-linked
//! code calls are in [`abi`].

#![warn(missing_docs)]

pub mod abi;
pub mod abort;
pub mod aot;
pub mod aotir;
pub mod compile;
pub mod config;
pub mod deopt;
pub mod guard;
pub mod jit;
pub mod location;
pub mod log;
pub mod mt;
mod reclaim;
pub mod stats;
pub mod trace;

#[cfg(test)]
mod testutil;

pub use compile::{CompileError, CompiledTrace, RecordedTrace};
pub use config::{Config, ConfigError, Truncate};
pub use location::Location;
pub use mt::{MtError, TraceCompiler, MT};

/// Values that `yk_promote` can promote: integers and raw pointers (they travel
/// through a `u64`).
pub trait Promote: Copy {
    /// The value as 64 bits.
    fn to_u64(self) -> u64;
    /// Back from [`Promote::to_u64`].
    fn from_u64(v: u64) -> Self;
}

macro_rules! promote_int {
    ($($t:ty),*) => {$(
        impl Promote for $t {
            fn to_u64(self) -> u64 { self as u64 }
            fn from_u64(v: u64) -> Self { v as $t }
        }
    )*};
}
promote_int!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);

impl<T> Promote for *const T {
    fn to_u64(self) -> u64 {
        self as usize as u64
    }
    fn from_u64(v: u64) -> Self {
        v as usize as *const T
    }
}

impl<T> Promote for *mut T {
    fn to_u64(self) -> u64 {
        self as usize as u64
    }
    fn from_u64(v: u64) -> Self {
        v as usize as *mut T
    }
}

/// `yk_promote` for Rust interpreters: returns `x`, and tells the trace builder
/// that `x` is constant in a trace (the trace guards on the recorded value).
#[inline(always)]
pub fn promote<T: Promote>(x: T) -> T {
    T::from_u64(abi::__yk_promote_u64(x.to_u64()))
}

/// `yk_disjoint` for Rust interpreters: returns `p`, and tells the trace
/// builder that the object `p` points into belongs to alias class `class`:
/// memory reached through pointers of two different classes (and pointers
/// derived from them by offsets) never overlaps, so a store through one class
/// does not make the trace reload what it knows of another (docs/abi.md,
/// "Alias classes"). A promise of the interpreter's author, which nothing
/// checks: a wrong class makes traces wrong. The call is erased from the
/// running code by yk-ld; it costs nothing outside traces.
#[inline(always)]
pub fn disjoint<T>(p: *mut T, class: u32) -> *mut T {
    abi::__yk_disjoint(p.cast(), u64::from(class)).cast()
}

/// True while the interpreter (not a compiled trace) runs and this thread is
/// not recording a trace.
#[inline(always)]
pub fn is_interpreting() -> bool {
    abi::yk_is_interpreting()
}
