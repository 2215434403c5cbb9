//! `yk-x64`: tier 0, an x86-64 code generator for the trace IR.
//!
//! Turns an optimised [`tir::Trace`] and a [`Plan`] (what the trace
//! function does besides the body: where its parameters come from, the
//! buffer slots it writes, its exits, counters and ends; it mirrors the LLVM
//! lowering in `ykrt/src/jit/tirb/lower.rs`) into machine code with the trace
//! ABI, `extern "C" fn(vars: *mut u8, info: *mut u8, buf: *mut u64) -> i64`,
//! in an executable mapping ([`Code`]). [`side_entry`] makes a side trace's
//! counting entry stub.
//!
//! Owns the public API: [`Plan`] and its parts, [`Symbols`] (how AOT symbols
//! resolve), [`Error`], [`compile`], [`side_entry`]. Invariants: code is
//! only ever produced for forms whose semantics (tir's `sem.rs`, LLVM's) it
//! implements exactly; anything else is [`Error::Unsupported`] (the caller
//! falls back to LLVM), an inconsistent plan is [`Error::Plan`]. The
//! generator itself is in `emit.rs`, the mapping in `code.rs`.

mod code;
mod emit;

pub use code::Code;

/// Where a trace parameter comes from at the entry and at a re-entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamSrc {
    /// The `vars` pointer itself (parameter 0).
    Vars,
    /// The field at this byte offset in `vars` (read at the parameter's
    /// type's size).
    Field(u32),
    /// The buffer slot with this index (`buf[k]`).
    Slot(u32),
}

/// The trace's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A root trace that loops (`End::Jump`).
    Loop,
    /// A root trace that ends at a location (`End::Exit`).
    Linear,
    /// A side trace (entered once from its parent's guard; never re-entered).
    Side,
}

/// What the trace function does besides the trace IR's body (mirrors
/// lower.rs).
#[derive(Clone, Debug)]
pub struct Plan {
    /// The trace's shape.
    pub shape: Shape,
    /// One per trace parameter; parameter 0 is always ParamSrc::Vars.
    pub params: Vec<ParamSrc>,
    /// After the parameters are loaded at the entry, and again at each
    /// re-entry: buf\[slot\] = parameter. `(param, slot)`.
    pub reserved: Vec<(u32, u32)>,
    /// Root shapes (Loop, Linear) only: at the head, each pass: buf\[slot\] =
    /// parameter. `(param, slot)`.
    pub carried: Vec<(u32, u32)>,
    /// Right after the instruction defining value v: buf\[slot\] = v.
    pub eager: Vec<(tir::ValId, u32)>,
    /// Per snapshot that some guard uses: the stores its exit makes, in
    /// order: buf\[slot\] = operand (a constant or a value defined before
    /// every guard that uses this snapshot). A snapshot not listed makes no
    /// stores.
    pub exits: Vec<(tir::SnapId, Vec<(tir::Operand, u32)>)>,
    /// Root shapes only: byte offset in `info` of a pointer to a u64
    /// counter, incremented (plain load, add 1, plain store) at each pass
    /// through the head (the entry, each back edge, each re-entry); `n` =
    /// the new value.
    pub counter: Option<u32>,
    /// Loop shape only (requires `counter`): at the head, after counting, if
    /// n & (every - 1) == 0: r = check_fn(info, own_entry_address as i64);
    /// if r != 0: vars\[field\] = parameter for each of `stores`, then return
    /// `resume`.
    pub tier_check: Option<TierCheck>,
    /// Called on a failing guard after its exit's stores: r = exit_fn(info,
    /// guard_no as i64, buf, vars) -> i64, guard_no being the guard's index
    /// among the body's guards in body order. Then: Side shape: return r.
    /// Root shapes: if r == reenter: re-enter, else return r.
    pub exit_fn: u64,
    /// The trace's end when the body ends in End::Exit (Linear and Side
    /// shapes): vars\[field\] = operand for each (at the operand's type's
    /// size), then r = outcome(end_loc) (see [`Plan::end_loc`]). Linear: if
    /// r == reenter: re-enter; else return r. Side: return r.
    pub end_stores: Vec<(u32, tir::Operand)>,
    /// The location the end reaches: None -> resume; Some(loc): loc ==
    /// start_loc -> reenter, loc < jump_min (unsigned) -> resume, else loc.
    pub end_loc: Option<tir::Operand>,
    /// The trace's own location.
    pub start_loc: u64,
    /// The outcome that means "re-enter this trace".
    pub reenter: u64,
    /// The outcome that means "resume interpreting".
    pub resume: u64,
    /// Locations below this are no jump targets.
    pub jump_min: u64,
}

/// The tier check of a loop (see [`Plan::tier_check`]).
#[derive(Clone, Debug)]
pub struct TierCheck {
    /// `extern "C" fn(info: *mut u8, own_entry: i64) -> i64`.
    pub check_fn: u64,
    /// How often (in passes through the head) to call it: a power of two.
    pub every: u64,
    /// `(vars field offset, parameter)` stored before leaving.
    pub stores: Vec<(u32, u32)>,
}

/// How a narrow integer argument is extended (an AOT function's
/// `signext`/`zeroext` parameter attributes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ext {
    /// As it is (zero-extended: the generator's canonical form).
    None,
    /// Sign-extended to (at least) 32 bits.
    Sign,
    /// Zero-extended to (at least) 32 bits.
    Zero,
}

/// What `@fN` is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Callee {
    /// A native function at `addr`; `arg_ext[i]` for its i-th parameter
    /// (arguments beyond, varargs, get [`Ext::None`]).
    Addr {
        /// The function's address.
        addr: u64,
        /// Its parameters' extension attributes.
        arg_ext: Vec<Ext>,
    },
    /// An LLVM intrinsic, by its full name (`llvm.memcpy.p0.p0.i64`).
    Intrinsic(String),
}

/// How the AOT module's symbols resolve.
pub trait Symbols {
    /// Function `n` (`@fN`).
    fn func(&self, n: u32) -> Result<Callee, Error>;
    /// The address of global `n` (`@gN`).
    fn global(&self, n: u32) -> Result<u64, Error>;
}

/// Why no code was produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// A form the generator doesn't implement (fall back to LLVM).
    Unsupported(String),
    /// The plan doesn't fit the trace (a caller's bug).
    Plan(String),
    /// A symbol that doesn't resolve.
    Symbol(String),
    /// The assembler refused an instruction (a generator bug).
    Asm(String),
    /// The executable mapping failed.
    Map(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Error::Unsupported(s) => write!(f, "x64: unsupported: {s}"),
            Error::Plan(s) => write!(f, "x64: bad plan: {s}"),
            Error::Symbol(s) => write!(f, "x64: symbol: {s}"),
            Error::Asm(s) => write!(f, "x64: assembler: {s}"),
            Error::Map(s) => write!(f, "x64: mapping: {s}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<iced_x86::IcedError> for Error {
    fn from(e: iced_x86::IcedError) -> Error {
        Error::Asm(e.to_string())
    }
}

/// Compiles trace `t` with plan `plan` into a trace function.
pub fn compile(t: &tir::Trace, plan: &Plan, syms: &dyn Symbols) -> Result<Code, Error> {
    emit::compile(t, plan, syms)
}

/// A side trace's entry stub, with the trace function's signature: `f =
/// *(slot as *const usize)`; `r = f(vars, info, buf)`; `n = *((slot + 8) as
/// *mut u64) + 1`, stored; if `n == tier_up_at && r != outcome_return`:
/// `hook(slot)`; returns `r`. (Mirrors `add_side_entry` in
/// ykrt/src/jit/tier.rs.)
pub fn side_entry(
    slot: u64,
    tier_up_at: u64,
    outcome_return: u64,
    hook: u64,
) -> Result<Code, Error> {
    emit::side_entry(slot, tier_up_at, outcome_return, hook)
}
