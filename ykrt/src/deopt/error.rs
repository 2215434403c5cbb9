//! What the blackhole can't run ([`Unsupported`], found when a function is
//! decoded), why it could not go on ([`BlackholeError`]), and the report
//! made before the process stops.
//!
//! The blackhole runs only what the trace compiler checked it can run
//! (`Prog::unsupported_from`), from a state the trace's guard rebuilt, so
//! each [`BlackholeError`] is a bug of the JIT, never of the program: going
//! on would run the interpreter from a wrong state. `__yk_guard_failed`
//! reports it through the `MT`'s log as a `yk-error:` line, which is
//! written at the default `YKD_LOG` level (and on stderr if the log is
//! off), naming the trace, the guard, the trace's location and where in the
//! AOT code the blackhole stopped ([`report`]), then aborts.

use super::blackhole::Frame;
use crate::location::LocationPtr;
use std::fmt;

/// What the decoder, and so the blackhole, has no form for. Its message
/// completes "the blackhole can't run ...". The decoder is the LLVM trace
/// compiler's (`jit::decode`); this type is the runtime core's and names
/// LLVM's type kinds, opcodes and value kinds by their names, so that the
/// core needs no LLVM binding.
#[derive(Clone, Debug, PartialEq)]
pub enum Unsupported {
    /// An integer type of this many bits, over 64.
    WideInt(u32),
    /// An array value of over 64 elements.
    LargeArray,
    /// A value of another type kind (vectors, `x86_fp80`, ...), by LLVM's
    /// name for it.
    TypeKind(String),
    /// An aggregate where a scalar is needed.
    AggregateForScalar,
    /// A float where an integer is needed.
    FloatForInt,
    /// An aggregate operand that is not a constant.
    NonConstAggregate,
    /// An aggregate constant whose leaves do not match its type.
    AggregateShape,
    /// An integer constant of this many bits, over 64.
    WideConstant(u32),
    /// A float constant of another type (LLVM's name for its type kind).
    FloatConstant(String),
    /// A function or global (`what`) that the address tables lack.
    NoAddress { what: &'static str, name: String },
    /// A GEP constant expression with variable indices.
    VariableGepConstant,
    /// A constant expression of another opcode (LLVM's name for it).
    ConstantExpr(String),
    /// A global alias.
    GlobalAlias,
    /// An operand of another value kind (LLVM's name for it).
    OperandKind(String),
    /// A GEP stepping into a vector.
    GepIntoVector,
    /// A GEP over vectors.
    VectorGep,
    /// A select over vectors.
    VectorSelect,
    /// A load of a value that is not a scalar (why).
    Load(Box<Unsupported>),
    /// A store of a value that is not a scalar (why).
    Store(Box<Unsupported>),
    /// Another instruction (LLVM's name for its opcode).
    Instruction(String),
    /// `extractvalue`/`insertvalue` with a path into a non-aggregate.
    AggregatePath,
    /// Inline assembly.
    InlineAsm,
    /// A call of this function (`setjmp` and its kin).
    Call(String),
    /// An argument passed as the ABI attribute says (`byval`, ...).
    ArgAttr(&'static str),
    /// An aggregate argument.
    AggregateArgument,
    /// A call returning an aggregate of over two integer or two float
    /// leaves.
    LargeAggregateReturn,
    /// An intrinsic (its name after `llvm.`).
    Intrinsic(String),
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unsupported::WideInt(w) => write!(f, "i{w}"),
            Unsupported::LargeArray => write!(f, "a large array value"),
            Unsupported::TypeKind(k) => write!(f, "a value of type kind {k}"),
            Unsupported::AggregateForScalar => write!(f, "an aggregate where a scalar is needed"),
            Unsupported::FloatForInt => write!(f, "a float where an integer is needed"),
            Unsupported::NonConstAggregate => write!(f, "a non-constant aggregate operand"),
            Unsupported::AggregateShape => {
                write!(f, "an aggregate constant of an unexpected shape")
            }
            Unsupported::WideConstant(w) => write!(f, "an i{w} constant"),
            Unsupported::FloatConstant(k) => write!(f, "a float constant of kind {k}"),
            Unsupported::NoAddress { what, name } => write!(f, "{what} {name} without an address"),
            Unsupported::VariableGepConstant => write!(f, "a gep constant with variable indices"),
            Unsupported::ConstantExpr(op) => write!(f, "a constant expression {op}"),
            Unsupported::GlobalAlias => write!(f, "a global alias"),
            Unsupported::OperandKind(k) => write!(f, "an operand of kind {k}"),
            Unsupported::GepIntoVector => write!(f, "a gep into a vector"),
            Unsupported::VectorGep => write!(f, "a vector gep"),
            Unsupported::VectorSelect => write!(f, "a vector select"),
            Unsupported::Load(e) => write!(f, "a load of {e}"),
            Unsupported::Store(e) => write!(f, "a store of {e}"),
            Unsupported::Instruction(op) => write!(f, "instruction {op}"),
            Unsupported::AggregatePath => write!(f, "extract/insertvalue into a non-aggregate"),
            Unsupported::InlineAsm => write!(f, "inline asm"),
            Unsupported::Call(name) => write!(f, "a call to {name}"),
            Unsupported::ArgAttr(why) => f.write_str(why),
            Unsupported::AggregateArgument => write!(f, "an aggregate argument"),
            Unsupported::LargeAggregateReturn => write!(f, "a call returning a large aggregate"),
            Unsupported::Intrinsic(name) => write!(f, "intrinsic llvm.{name}"),
        }
    }
}

impl std::error::Error for Unsupported {}

/// Why the blackhole stopped.
#[derive(Clone, Debug, PartialEq)]
pub enum BlackholeError {
    /// It was given no frames to run.
    NoFrames,
    /// A block ended without a terminator.
    RanOffBlock,
    /// A phi of function `func` has no entry for the block the frame came
    /// from.
    PhiWithoutEntry { func: String },
    /// A call through a null function pointer.
    NullCall,
    /// A frame other than the outermost reached a control point.
    InlinedControlPoint,
    /// An instruction the decoder could not decode (`why` says which).
    Unsupported { why: Unsupported },
    /// `unreachable` in function `func`.
    Unreachable { func: String },
}

impl fmt::Display for BlackholeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlackholeError::NoFrames => write!(f, "no frames"),
            BlackholeError::RanOffBlock => write!(f, "ran off the end of a block"),
            BlackholeError::PhiWithoutEntry { func } => {
                write!(f, "phi without an entry for its predecessor in {func}")
            }
            BlackholeError::NullCall => write!(f, "a call through a null function pointer"),
            BlackholeError::InlinedControlPoint => {
                write!(f, "a control point in an inlined frame")
            }
            BlackholeError::Unsupported { why } => write!(f, "the blackhole reached {why}"),
            BlackholeError::Unreachable { func } => write!(f, "unreachable code in {func}"),
        }
    }
}

impl std::error::Error for BlackholeError {}

/// The report of `e`, met by the blackhole run from guard `guard` of trace
/// `trace_no` (whose loop is at `loc`), with `frames` as the run left them
/// (outermost first).
pub fn report(
    e: &BlackholeError,
    trace_no: u64,
    guard: u64,
    loc: LocationPtr,
    frames: &[Frame],
) -> String {
    let loc = match loc.debug_str() {
        Some(s) => format!("{s} ({:#x})", loc.addr()),
        None => format!("{:#x}", loc.addr()),
    };
    let at = match frames.last() {
        // The frame's index is the next instruction to run: the failing one
        // is the one before, unless it failed on entering a block.
        Some(fr) => format!(
            "in {} (frame {} of {}), block {}, near instruction {}",
            fr.prog.name,
            frames.len() - 1,
            frames.len(),
            fr.block,
            fr.idx.saturating_sub(1)
        ),
        None => "with no frames".into(),
    };
    format!(
        "internal error in the blackhole: {e}; trace {trace_no}, guard {guard}, location {loc}, \
         {at}; stopping the process"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deopt::prog::Prog;
    use crate::location::Location;
    use std::sync::Arc;

    #[test]
    fn the_report_names_the_trace_guard_location_and_position() {
        let prog = Arc::new(Prog {
            name: "interp_loop".into(),
            func_idx: 3,
            nregs: 1,
            blocks: Vec::new(),
            ret_field: None,
        });
        let mut fr = Frame::new(prog, 7, 3, u32::MAX);
        fr.idx = 5;
        let loc = Location::new();
        let ptr = LocationPtr::from(&loc);
        let e = BlackholeError::Unreachable {
            func: "interp_loop".into(),
        };
        let r = report(&e, 12, 4, ptr, std::slice::from_ref(&fr));
        assert_eq!(
            r,
            format!(
                "internal error in the blackhole: unreachable code in interp_loop; trace 12, \
                 guard 4, location {:#x}, in interp_loop (frame 0 of 1), block 7, near \
                 instruction 4; stopping the process",
                ptr.addr()
            )
        );
        loc.set_debug_str("prog.lua:12");
        let r = report(&BlackholeError::NullCall, 1, 0, ptr, &[]);
        assert!(
            r.contains(&format!(
                "location prog.lua:12 ({:#x}), with no frames",
                ptr.addr()
            )),
            "{r}"
        );
        assert!(r.contains("a call through a null function pointer"), "{r}");
    }
}
