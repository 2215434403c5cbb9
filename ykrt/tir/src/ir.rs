//! The trace IR: types, constants, operands, instructions and the trace.
//!
//! Owns the data model and its typing rules ([`Trace::check_inst`],
//! [`Trace::verify`]). Invariants of a well-formed [`Trace`]:
//!
//! - SSA without phis: value `n` ([`ValId`]) is loop/trace parameter `n` if
//!   `n < params.len()`, otherwise instruction `n - params.len()` of the body.
//!   Every operand refers to an earlier value. Instructions without a result
//!   (store, guard, void call) still occupy a [`ValId`]; nothing may use it.
//! - The body is straight-line: the only ways out are failing guards, the
//!   final `jump` (a loop: its arguments become the parameters of the next
//!   iteration) or the final `exit` (a trace that ends at a snapshot).
//! - Every guard's snapshot exists and its live values are defined before
//!   the guard.
//! - Integer constants are stored zero-extended and masked to their width.
//!
//! Semantics follow LLVM's: integers wrap, `ptr_add` is plain wrapping
//! address arithmetic (no `inbounds`), `dyn_ptr_add` sign-extends its index
//! to 64 bits. Memory is little-endian; an `iN` occupies `ceil(N/8)` bytes.
//! An `alloca` yields a fresh stack slot each time it runs; the slot dies at
//! the end of the iteration that made it (the lowering may hoist it to one
//! slot per trace for that reason: the previous one is dead).

use crate::snapshot::{SnapId, Snapshots};
use std::fmt;

/// A type. `Int(w)` has `1 <= w <= 64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ty {
    /// An integer of the given bit width, neither signed nor unsigned (the
    /// operators say how to read it).
    Int(u8),
    /// An IEEE binary32 float.
    F32,
    /// An IEEE binary64 float.
    F64,
    /// A 64-bit pointer.
    Ptr,
    /// No value: the result type of a store, a guard or a void call.
    Void,
}

impl Ty {
    /// `i1`, the type of booleans (conditions, comparison results).
    pub const I1: Ty = Ty::Int(1);
    /// `i8`.
    pub const I8: Ty = Ty::Int(8);
    /// `i16`.
    pub const I16: Ty = Ty::Int(16);
    /// `i32`.
    pub const I32: Ty = Ty::Int(32);
    /// `i64`.
    pub const I64: Ty = Ty::Int(64);

    /// Bytes a load or store of this type accesses (0 for void).
    pub fn size(self) -> u64 {
        match self {
            Ty::Int(w) => u64::from(w).div_ceil(8),
            Ty::F32 => 4,
            Ty::F64 | Ty::Ptr => 8,
            Ty::Void => 0,
        }
    }

    /// Whether this is an int type (of any width).
    pub fn is_int(self) -> bool {
        matches!(self, Ty::Int(_))
    }

    /// Whether this is `f32` or `f64`.
    pub fn is_float(self) -> bool {
        matches!(self, Ty::F32 | Ty::F64)
    }

    /// Bit width of an int, float or pointer type.
    pub fn bits(self) -> u32 {
        match self {
            Ty::Int(w) => u32::from(w),
            Ty::F32 => 32,
            Ty::F64 | Ty::Ptr => 64,
            Ty::Void => 0,
        }
    }
}

/// Mask of the low `w` bits.
pub fn mask(w: u32) -> u64 {
    if w >= 64 {
        u64::MAX
    } else {
        (1u64 << w) - 1
    }
}

/// Sign-extends the low `w` bits of `v` to 64 bits.
pub fn sext(v: u64, w: u32) -> i64 {
    if w >= 64 {
        v as i64
    } else {
        let s = 64 - w;
        ((v << s) as i64) >> s
    }
}

/// A symbol of the AOT module: an index into its function or global table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sym {
    /// Function `N` of the AOT function table (`@fN`).
    Func(u32),
    /// Global `N` of the AOT global table (`@gN`).
    Global(u32),
}

/// A constant. Ints are stored masked to their width, floats as their bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Const {
    /// An int constant; build it with [`Const::int`], which masks it.
    Int {
        /// Bit width (1 to 64).
        width: u8,
        /// The value, zero-extended from `width` bits.
        bits: u64,
    },
    /// An `f32`, as its IEEE bits.
    F32(u32),
    /// An `f64`, as its IEEE bits.
    F64(u64),
    /// An absolute address (0 is null).
    Ptr(u64),
    /// The address of a function or global.
    Sym(Sym),
}

impl Const {
    /// An int constant of width `w`, masking `v`.
    pub fn int(w: u8, v: u64) -> Const {
        Const::Int {
            width: w,
            bits: v & mask(u32::from(w)),
        }
    }

    /// The `i1` constant for `b` (`true` is 1).
    pub fn bool(b: bool) -> Const {
        Const::int(1, u64::from(b))
    }

    /// The `f64` constant `v`.
    pub fn f64(v: f64) -> Const {
        Const::F64(v.to_bits())
    }

    /// The `f32` constant `v`.
    pub fn f32(v: f32) -> Const {
        Const::F32(v.to_bits())
    }

    /// The constant of type `ty` whose raw bits are `bits` (None for void).
    pub fn from_bits(ty: Ty, bits: u64) -> Option<Const> {
        Some(match ty {
            Ty::Int(w) => Const::int(w, bits),
            Ty::F32 => Const::F32(bits as u32),
            Ty::F64 => Const::F64(bits),
            Ty::Ptr => Const::Ptr(bits),
            Ty::Void => return None,
        })
    }

    /// The constant's type (`ptr` for addresses and symbols).
    pub fn ty(&self) -> Ty {
        match self {
            Const::Int { width, .. } => Ty::Int(*width),
            Const::F32(_) => Ty::F32,
            Const::F64(_) => Ty::F64,
            Const::Ptr(_) | Const::Sym(_) => Ty::Ptr,
        }
    }

    /// Raw bits, if known without the symbol tables.
    pub fn bits(&self) -> Option<u64> {
        match *self {
            Const::Int { bits, .. } => Some(bits),
            Const::F32(b) => Some(u64::from(b)),
            Const::F64(b) | Const::Ptr(b) => Some(b),
            Const::Sym(_) => None,
        }
    }
}

/// A value: parameter or instruction result, see the module comment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValId(pub u32);

impl ValId {
    /// The value's number as an index: parameters first, then the body.
    pub fn idx(self) -> usize {
        self.0 as usize
    }
}

/// Something per value of a trace, indexed by the value's number: the
/// optimisers and the layout ask these per operand, so they are vectors (the
/// numbers are dense) rather than hash maps. Growing on insertion.
#[derive(Clone, Debug)]
pub struct ValMap<T>(Vec<Option<T>>);

impl<T> Default for ValMap<T> {
    fn default() -> Self {
        ValMap(Vec::new())
    }
}

impl<T: Copy> ValMap<T> {
    /// A map with room for `n` values (it grows past them as needed).
    pub fn with_capacity(n: usize) -> Self {
        let mut v = Vec::new();
        v.resize_with(n, || None);
        ValMap(v)
    }

    /// What `v` maps to.
    pub fn get(&self, v: ValId) -> Option<T> {
        self.0.get(v.idx()).copied().flatten()
    }

    /// Does `v` map to anything?
    pub fn contains(&self, v: ValId) -> bool {
        self.get(v).is_some()
    }

    /// Maps `v` to `x` (replacing what it mapped to).
    pub fn insert(&mut self, v: ValId, x: T) {
        if v.idx() >= self.0.len() {
            self.0.resize_with(v.idx() + 1, || None);
        }
        self.0[v.idx()] = Some(x);
    }
}

/// An instruction operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operand {
    /// A parameter or the result of an earlier instruction.
    Val(ValId),
    /// A constant.
    Const(Const),
}

impl Operand {
    /// The constant, if this is one.
    pub fn as_const(&self) -> Option<Const> {
        match self {
            Operand::Const(c) => Some(*c),
            Operand::Val(_) => None,
        }
    }

    /// The value, if this is one.
    pub fn as_val(&self) -> Option<ValId> {
        match self {
            Operand::Val(v) => Some(*v),
            Operand::Const(_) => None,
        }
    }

    /// The int constant's bits, if this is an int constant.
    pub fn as_int(&self) -> Option<u64> {
        match self {
            Operand::Const(Const::Int { bits, .. }) => Some(*bits),
            _ => None,
        }
    }
}

impl From<Const> for Operand {
    fn from(c: Const) -> Operand {
        Operand::Const(c)
    }
}

impl From<ValId> for Operand {
    fn from(v: ValId) -> Operand {
        Operand::Val(v)
    }
}

/// A binary operator (LLVM's): both operands and the result have one type,
/// an int type for the integer operators, a float type for the `F` ones.
/// The cases LLVM leaves undefined are listed in [`crate::sem`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    /// Integer addition (wrapping), LLVM's `add`.
    Add,
    /// Integer subtraction (wrapping), LLVM's `sub`.
    Sub,
    /// Integer multiplication (wrapping: the low bits), LLVM's `mul`.
    Mul,
    /// Signed division rounding toward zero, LLVM's `sdiv` (undefined for a
    /// zero divisor and for `MIN / -1`).
    SDiv,
    /// Unsigned division, LLVM's `udiv` (undefined for a zero divisor).
    UDiv,
    /// Signed remainder, with the sign of the dividend, LLVM's `srem`
    /// (undefined for a zero divisor and for `MIN % -1`).
    SRem,
    /// Unsigned remainder, LLVM's `urem` (undefined for a zero divisor).
    URem,
    /// Bitwise and, LLVM's `and`.
    And,
    /// Bitwise or, LLVM's `or`.
    Or,
    /// Bitwise exclusive or, LLVM's `xor`.
    Xor,
    /// Shift left, LLVM's `shl` (undefined for a shift by the width or
    /// more).
    Shl,
    /// Logical (zero-filling) shift right, LLVM's `lshr` (undefined for a
    /// shift by the width or more).
    LShr,
    /// Arithmetic (sign-filling) shift right, LLVM's `ashr` (undefined for a
    /// shift by the width or more).
    AShr,
    /// Float addition, LLVM's `fadd`.
    FAdd,
    /// Float subtraction, LLVM's `fsub`.
    FSub,
    /// Float multiplication, LLVM's `fmul`.
    FMul,
    /// Float division, LLVM's `fdiv`.
    FDiv,
    /// Float remainder (C's `fmod`: the sign of the dividend), LLVM's `frem`.
    FRem,
}

impl BinOp {
    /// Every operator, in declaration order.
    pub const ALL: [BinOp; 18] = [
        BinOp::Add,
        BinOp::Sub,
        BinOp::Mul,
        BinOp::SDiv,
        BinOp::UDiv,
        BinOp::SRem,
        BinOp::URem,
        BinOp::And,
        BinOp::Or,
        BinOp::Xor,
        BinOp::Shl,
        BinOp::LShr,
        BinOp::AShr,
        BinOp::FAdd,
        BinOp::FSub,
        BinOp::FMul,
        BinOp::FDiv,
        BinOp::FRem,
    ];

    /// The operator's name in the textual form (LLVM's: `add`, `fadd`, ...).
    pub fn name(self) -> &'static str {
        match self {
            BinOp::Add => "add",
            BinOp::Sub => "sub",
            BinOp::Mul => "mul",
            BinOp::SDiv => "sdiv",
            BinOp::UDiv => "udiv",
            BinOp::SRem => "srem",
            BinOp::URem => "urem",
            BinOp::And => "and",
            BinOp::Or => "or",
            BinOp::Xor => "xor",
            BinOp::Shl => "shl",
            BinOp::LShr => "lshr",
            BinOp::AShr => "ashr",
            BinOp::FAdd => "fadd",
            BinOp::FSub => "fsub",
            BinOp::FMul => "fmul",
            BinOp::FDiv => "fdiv",
            BinOp::FRem => "frem",
        }
    }

    /// Whether the operator takes floats (`fadd` ... `frem`) rather than ints.
    pub fn is_float(self) -> bool {
        matches!(
            self,
            BinOp::FAdd | BinOp::FSub | BinOp::FMul | BinOp::FDiv | BinOp::FRem
        )
    }

    /// Whether `a op b == b op a` for all operands.
    pub fn is_commutative(self) -> bool {
        matches!(
            self,
            BinOp::Add
                | BinOp::Mul
                | BinOp::And
                | BinOp::Or
                | BinOp::Xor
                | BinOp::FAdd
                | BinOp::FMul
        )
    }
}

/// `icmp` predicates (LLVM's). Pointers compare as unsigned 64-bit ints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IPred {
    /// Equal (`eq`).
    Eq,
    /// Not equal (`ne`).
    Ne,
    /// Unsigned greater than (`ugt`).
    Ugt,
    /// Unsigned greater than or equal (`uge`).
    Uge,
    /// Unsigned less than (`ult`).
    Ult,
    /// Unsigned less than or equal (`ule`).
    Ule,
    /// Signed greater than (`sgt`).
    Sgt,
    /// Signed greater than or equal (`sge`).
    Sge,
    /// Signed less than (`slt`).
    Slt,
    /// Signed less than or equal (`sle`).
    Sle,
}

impl IPred {
    /// Every predicate, in declaration order.
    pub const ALL: [IPred; 10] = [
        IPred::Eq,
        IPred::Ne,
        IPred::Ugt,
        IPred::Uge,
        IPred::Ult,
        IPred::Ule,
        IPred::Sgt,
        IPred::Sge,
        IPred::Slt,
        IPred::Sle,
    ];

    /// The predicate's name in the textual form (LLVM's: `eq`, `slt`, ...).
    pub fn name(self) -> &'static str {
        match self {
            IPred::Eq => "eq",
            IPred::Ne => "ne",
            IPred::Ugt => "ugt",
            IPred::Uge => "uge",
            IPred::Ult => "ult",
            IPred::Ule => "ule",
            IPred::Sgt => "sgt",
            IPred::Sge => "sge",
            IPred::Slt => "slt",
            IPred::Sle => "sle",
        }
    }

    /// The predicate with its operands swapped (`a P b == b P.swap() a`).
    pub fn swap(self) -> IPred {
        match self {
            IPred::Eq => IPred::Eq,
            IPred::Ne => IPred::Ne,
            IPred::Ugt => IPred::Ult,
            IPred::Uge => IPred::Ule,
            IPred::Ult => IPred::Ugt,
            IPred::Ule => IPred::Uge,
            IPred::Sgt => IPred::Slt,
            IPred::Sge => IPred::Sle,
            IPred::Slt => IPred::Sgt,
            IPred::Sle => IPred::Sge,
        }
    }

    /// The predicate that holds exactly when this one doesn't.
    pub fn inverse(self) -> IPred {
        match self {
            IPred::Eq => IPred::Ne,
            IPred::Ne => IPred::Eq,
            IPred::Ugt => IPred::Ule,
            IPred::Uge => IPred::Ult,
            IPred::Ult => IPred::Uge,
            IPred::Ule => IPred::Ugt,
            IPred::Sgt => IPred::Sle,
            IPred::Sge => IPred::Slt,
            IPred::Slt => IPred::Sge,
            IPred::Sle => IPred::Sgt,
        }
    }
}

/// `fcmp` predicates (LLVM's, without `false`/`true`). The ordered ones
/// (`O...`, `ord`) are false if either operand is NaN, the unordered ones
/// (`U...`, `uno`) true.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FPred {
    /// Ordered and equal (`oeq`).
    Oeq,
    /// Ordered and greater than (`ogt`).
    Ogt,
    /// Ordered and greater than or equal (`oge`).
    Oge,
    /// Ordered and less than (`olt`).
    Olt,
    /// Ordered and less than or equal (`ole`).
    Ole,
    /// Ordered and not equal (`one`).
    One,
    /// Ordered: neither operand is NaN (`ord`).
    Ord,
    /// Unordered or equal (`ueq`).
    Ueq,
    /// Unordered or greater than (`ugt`).
    Ugt,
    /// Unordered or greater than or equal (`uge`).
    Uge,
    /// Unordered or less than (`ult`).
    Ult,
    /// Unordered or less than or equal (`ule`).
    Ule,
    /// Unordered or not equal (`une`).
    Une,
    /// Unordered: either operand is NaN (`uno`).
    Uno,
}

impl FPred {
    /// Every predicate, in declaration order.
    pub const ALL: [FPred; 14] = [
        FPred::Oeq,
        FPred::Ogt,
        FPred::Oge,
        FPred::Olt,
        FPred::Ole,
        FPred::One,
        FPred::Ord,
        FPred::Ueq,
        FPred::Ugt,
        FPred::Uge,
        FPred::Ult,
        FPred::Ule,
        FPred::Une,
        FPred::Uno,
    ];

    /// The predicate's name in the textual form (LLVM's: `oeq`, `uno`, ...).
    pub fn name(self) -> &'static str {
        match self {
            FPred::Oeq => "oeq",
            FPred::Ogt => "ogt",
            FPred::Oge => "oge",
            FPred::Olt => "olt",
            FPred::Ole => "ole",
            FPred::One => "one",
            FPred::Ord => "ord",
            FPred::Ueq => "ueq",
            FPred::Ugt => "ugt",
            FPred::Uge => "uge",
            FPred::Ult => "ult",
            FPred::Ule => "ule",
            FPred::Une => "une",
            FPred::Uno => "uno",
        }
    }

    /// The predicate that holds exactly when this one doesn't (NaNs
    /// included: an ordered predicate's inverse is unordered).
    pub fn inverse(self) -> FPred {
        match self {
            FPred::Oeq => FPred::Une,
            FPred::Ogt => FPred::Ule,
            FPred::Oge => FPred::Ult,
            FPred::Olt => FPred::Uge,
            FPred::Ole => FPred::Ugt,
            FPred::One => FPred::Ueq,
            FPred::Ord => FPred::Uno,
            FPred::Ueq => FPred::One,
            FPred::Ugt => FPred::Ole,
            FPred::Uge => FPred::Olt,
            FPred::Ult => FPred::Oge,
            FPred::Ule => FPred::Ogt,
            FPred::Une => FPred::Oeq,
            FPred::Uno => FPred::Ord,
        }
    }
}

/// A cast operator (LLVM's). [`CastOp::valid`] says which types each takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CastOp {
    /// Zero-extends an int to a wider int, LLVM's `zext`.
    ZExt,
    /// Sign-extends an int to a wider int, LLVM's `sext`.
    SExt,
    /// Keeps the low bits of an int as a narrower int, LLVM's `trunc`.
    Trunc,
    /// Reinterprets the bits as another type of the same width (a pointer
    /// only as a pointer), LLVM's `bitcast`.
    BitCast,
    /// A pointer's address as an int (truncated to its width), LLVM's
    /// `ptrtoint`.
    PtrToInt,
    /// An int (zero-extended) as a pointer's address, LLVM's `inttoptr`.
    IntToPtr,
    /// Float to signed int, rounding toward zero, LLVM's `fptosi` (undefined
    /// if the result doesn't fit, or for NaN).
    FPToSI,
    /// Float to unsigned int, rounding toward zero, LLVM's `fptoui`
    /// (undefined if the result doesn't fit, or for NaN).
    FPToUI,
    /// Signed int to float, rounding to nearest, LLVM's `sitofp`.
    SIToFP,
    /// Unsigned int to float, rounding to nearest, LLVM's `uitofp`.
    UIToFP,
    /// `f32` to `f64` (exact), LLVM's `fpext`.
    FPExt,
    /// `f64` to `f32`, rounding to nearest, LLVM's `fptrunc`.
    FPTrunc,
}

impl CastOp {
    /// Every cast, in declaration order.
    pub const ALL: [CastOp; 12] = [
        CastOp::ZExt,
        CastOp::SExt,
        CastOp::Trunc,
        CastOp::BitCast,
        CastOp::PtrToInt,
        CastOp::IntToPtr,
        CastOp::FPToSI,
        CastOp::FPToUI,
        CastOp::SIToFP,
        CastOp::UIToFP,
        CastOp::FPExt,
        CastOp::FPTrunc,
    ];

    /// The cast's name in the textual form (LLVM's: `zext`, `bitcast`, ...).
    pub fn name(self) -> &'static str {
        match self {
            CastOp::ZExt => "zext",
            CastOp::SExt => "sext",
            CastOp::Trunc => "trunc",
            CastOp::BitCast => "bitcast",
            CastOp::PtrToInt => "ptrtoint",
            CastOp::IntToPtr => "inttoptr",
            CastOp::FPToSI => "fptosi",
            CastOp::FPToUI => "fptoui",
            CastOp::SIToFP => "sitofp",
            CastOp::UIToFP => "uitofp",
            CastOp::FPExt => "fpext",
            CastOp::FPTrunc => "fptrunc",
        }
    }

    /// Whether casting a value of type `from` to `to` is well-typed.
    pub fn valid(self, from: Ty, to: Ty) -> bool {
        match self {
            CastOp::ZExt | CastOp::SExt => from.is_int() && to.is_int() && from.bits() < to.bits(),
            CastOp::Trunc => from.is_int() && to.is_int() && from.bits() > to.bits(),
            CastOp::BitCast => {
                from != Ty::Void
                    && to != Ty::Void
                    && from.bits() == to.bits()
                    && (from == Ty::Ptr) == (to == Ty::Ptr)
            }
            CastOp::PtrToInt => from == Ty::Ptr && to.is_int(),
            CastOp::IntToPtr => from.is_int() && to == Ty::Ptr,
            CastOp::FPToSI | CastOp::FPToUI => from.is_float() && to.is_int(),
            CastOp::SIToFP | CastOp::UIToFP => from.is_int() && to.is_float(),
            CastOp::FPExt => from == Ty::F32 && to == Ty::F64,
            CastOp::FPTrunc => from == Ty::F64 && to == Ty::F32,
        }
    }
}

/// What a call may do to memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Effects {
    /// Reads and writes no memory the trace can see; result depends only on
    /// the arguments.
    Pure,
    /// Reads memory, writes none.
    ReadOnly,
    /// Anything.
    Any,
}

/// Flags of a load.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct LoadFlags {
    /// LLVM's `volatile`: the load is never removed, cached or forwarded.
    pub volatile: bool,
    /// The interpreter declares this memory constant for the trace's
    /// lifetime: the optimiser may read it at optimisation time and treat
    /// the load as pure.
    pub constant: bool,
}

/// An instruction. Result types are explicit where not implied (see
/// [`Inst::result_ty`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Inst {
    /// Reads a `ty` at `ptr` (`ty.size()` bytes, little-endian), LLVM's
    /// `load`.
    Load {
        /// The type read (not void).
        ty: Ty,
        /// The address read, a `ptr`.
        ptr: Operand,
        /// Whether the load is volatile or reads constant memory.
        flags: LoadFlags,
    },
    /// Writes `val` at `ptr` (as many bytes as `val`'s type takes), LLVM's
    /// `store`. No result.
    Store {
        /// The value written; its type gives the access's size.
        val: Operand,
        /// The address written, a `ptr`.
        ptr: Operand,
        /// LLVM's `volatile`: the store is never removed.
        volatile: bool,
    },
    /// `ptr + off`.
    PtrAdd {
        /// The base pointer.
        ptr: Operand,
        /// The offset in bytes (wrapping).
        off: i64,
    },
    /// `ptr + sext(idx) * scale + off`.
    DynPtrAdd {
        /// The base pointer.
        ptr: Operand,
        /// The index, an int of any width, sign-extended to 64 bits.
        idx: Operand,
        /// The bytes per index step (an element's size).
        scale: i64,
        /// A constant offset in bytes added after scaling.
        off: i64,
    },
    /// `lhs op rhs`, one of LLVM's binary operators.
    Bin {
        /// The operator.
        op: BinOp,
        /// The type of both operands and of the result.
        ty: Ty,
        /// The left operand.
        lhs: Operand,
        /// The right operand.
        rhs: Operand,
    },
    /// `lhs pred rhs` on two ints or two pointers, an `i1`, LLVM's `icmp`.
    ICmp {
        /// The comparison.
        pred: IPred,
        /// The left operand.
        lhs: Operand,
        /// The right operand, of `lhs`'s type.
        rhs: Operand,
    },
    /// `lhs pred rhs` on two floats, an `i1`, LLVM's `fcmp`.
    FCmp {
        /// The comparison.
        pred: FPred,
        /// The left operand.
        lhs: Operand,
        /// The right operand, of `lhs`'s type.
        rhs: Operand,
    },
    /// `val` converted to type `to` by `op`, one of LLVM's casts.
    Cast {
        /// The conversion.
        op: CastOp,
        /// The value converted.
        val: Operand,
        /// The result type.
        to: Ty,
    },
    /// `cond ? t : f`, LLVM's `select`.
    Select {
        /// The condition, an `i1`.
        cond: Operand,
        /// The type of both arms and of the result.
        ty: Ty,
        /// The result if `cond` is true.
        t: Operand,
        /// The result if `cond` is false.
        f: Operand,
    },
    /// A stack slot of `size` bytes aligned to `align`.
    Alloca {
        /// The slot's size in bytes (at least 1).
        size: u32,
        /// The slot's alignment in bytes (a power of two).
        align: u32,
    },
    /// Calls the function at `callee` with `args`, LLVM's `call`.
    Call {
        /// The function's address, a `ptr` (usually a symbol `@fN`).
        callee: Operand,
        /// The arguments, each passed at its own type.
        args: Vec<Operand>,
        /// The return type (void for none).
        ret: Ty,
        /// What the call may do to memory.
        effects: Effects,
        /// The result depends only on the arguments, whatever `effects`
        /// says: two calls with equal arguments may share one result.
        idempotent: bool,
    },
    /// Continue if `cond == expect`, else leave through snapshot `snap`.
    Guard {
        /// The condition, an `i1`.
        cond: Operand,
        /// The value `cond` must have for the trace to continue.
        expect: bool,
        /// The snapshot to leave through when it hasn't.
        snap: SnapId,
    },
}

impl Inst {
    /// For a compare, the compare of the same operands that is true exactly
    /// when it is false (its predicate's inverse); else `None`.
    pub fn inverse_compare(&self) -> Option<Inst> {
        match *self {
            Inst::ICmp { pred, lhs, rhs } => Some(Inst::ICmp {
                pred: pred.inverse(),
                lhs,
                rhs,
            }),
            Inst::FCmp { pred, lhs, rhs } => Some(Inst::FCmp {
                pred: pred.inverse(),
                lhs,
                rhs,
            }),
            _ => None,
        }
    }

    /// The instruction's result type (void for store and guard). Needs the
    /// trace only for `icmp`/`fcmp` (always i1): no lookups.
    pub fn result_ty(&self) -> Ty {
        match self {
            Inst::Load { ty, .. } | Inst::Bin { ty, .. } | Inst::Select { ty, .. } => *ty,
            Inst::Cast { to, .. } => *to,
            Inst::Call { ret, .. } => *ret,
            Inst::Store { .. } | Inst::Guard { .. } => Ty::Void,
            Inst::PtrAdd { .. } | Inst::DynPtrAdd { .. } | Inst::Alloca { .. } => Ty::Ptr,
            Inst::ICmp { .. } | Inst::FCmp { .. } => Ty::I1,
        }
    }

    /// The operands, in order.
    /// (An iterator, not a list: passes ask for every instruction's
    /// operands, and allocating a list each time was a measurable share of
    /// compile time.)
    pub fn operands(&self) -> impl Iterator<Item = Operand> + '_ {
        let (fixed, rest): ([Option<Operand>; 3], &[Operand]) = match self {
            Inst::Load { ptr, .. } | Inst::PtrAdd { ptr, .. } => ([Some(*ptr), None, None], &[]),
            Inst::Store { val, ptr, .. } => ([Some(*val), Some(*ptr), None], &[]),
            Inst::DynPtrAdd { ptr, idx, .. } => ([Some(*ptr), Some(*idx), None], &[]),
            Inst::Bin { lhs, rhs, .. }
            | Inst::ICmp { lhs, rhs, .. }
            | Inst::FCmp { lhs, rhs, .. } => ([Some(*lhs), Some(*rhs), None], &[]),
            Inst::Cast { val, .. } => ([Some(*val), None, None], &[]),
            Inst::Select { cond, t, f, .. } => ([Some(*cond), Some(*t), Some(*f)], &[]),
            Inst::Alloca { .. } => ([None, None, None], &[]),
            Inst::Call { callee, args, .. } => ([Some(*callee), None, None], args),
            Inst::Guard { cond, .. } => ([Some(*cond), None, None], &[]),
        };
        fixed.into_iter().flatten().chain(rest.iter().copied())
    }

    /// Applies `f` to every operand in place.
    pub fn map_operands(&mut self, mut f: impl FnMut(Operand) -> Operand) {
        match self {
            Inst::Load { ptr, .. } | Inst::PtrAdd { ptr, .. } => *ptr = f(*ptr),
            Inst::Store { val, ptr, .. } => {
                *val = f(*val);
                *ptr = f(*ptr);
            }
            Inst::DynPtrAdd { ptr, idx, .. } => {
                *ptr = f(*ptr);
                *idx = f(*idx);
            }
            Inst::Bin { lhs, rhs, .. }
            | Inst::ICmp { lhs, rhs, .. }
            | Inst::FCmp { lhs, rhs, .. } => {
                *lhs = f(*lhs);
                *rhs = f(*rhs);
            }
            Inst::Cast { val, .. } => *val = f(*val),
            Inst::Select { cond, t, f: e, .. } => {
                *cond = f(*cond);
                *t = f(*t);
                *e = f(*e);
            }
            Inst::Alloca { .. } => {}
            Inst::Call { callee, args, .. } => {
                *callee = f(*callee);
                for a in args {
                    *a = f(*a);
                }
            }
            Inst::Guard { cond, .. } => *cond = f(*cond),
        }
    }

    /// Whether removing the instruction when its result is unused could
    /// change what the trace does.
    pub fn has_side_effects(&self) -> bool {
        match self {
            Inst::Store { .. } | Inst::Guard { .. } => true,
            Inst::Load { flags, .. } => flags.volatile,
            Inst::Call { effects, .. } => *effects == Effects::Any,
            _ => false,
        }
    }
}

/// How a trace ends.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum End {
    /// Back to the loop header; the operands become its parameters.
    Jump(Vec<Operand>),
    /// Leave to the interpreter at a snapshot (a side trace ending at a
    /// location that has no loop of its own here).
    Exit(SnapId),
}

/// A trace. See the module comment for its invariants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    /// Parameter types: loop-carried values for a loop (`End::Jump`),
    /// inputs otherwise.
    pub params: Vec<Ty>,
    /// The instructions, in order: instruction `i` is value
    /// `params.len() + i`.
    pub body: Vec<Inst>,
    /// How the trace ends.
    pub end: End,
    /// The snapshots guards and the exit leave through.
    pub snaps: Snapshots,
}

/// A typing error, located by the value it concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypeError {
    /// An operand refers to a value not defined before its use.
    Undefined {
        /// The instruction with the operand ([`Trace::nvals`] for the end).
        at: ValId,
        /// The value it refers to.
        used: ValId,
    },
    /// An operand refers to a value without a result.
    VoidUse {
        /// The instruction with the operand ([`Trace::nvals`] for the end).
        at: ValId,
        /// The value without a result it refers to.
        used: ValId,
    },
    /// An operand has the wrong type.
    Mismatch {
        /// The instruction with the operand ([`Trace::nvals`] for the end).
        at: ValId,
        /// The type the position needs.
        expected: Ty,
        /// The operand's type.
        found: Ty,
    },
    /// An operator applied to a type it doesn't take.
    BadType {
        /// The instruction.
        at: ValId,
        /// The type it doesn't take.
        ty: Ty,
    },
    /// An invalid cast.
    BadCast {
        /// The cast instruction.
        at: ValId,
        /// The cast.
        op: CastOp,
        /// The operand's type.
        from: Ty,
        /// The result type.
        to: Ty,
    },
    /// A guard or exit names a snapshot that doesn't exist.
    NoSnapshot {
        /// The guard ([`Trace::nvals`] for the exit).
        at: ValId,
        /// The missing snapshot.
        snap: SnapId,
    },
    /// A snapshot live value is defined after a guard that uses it.
    SnapshotAfterGuard {
        /// The guard ([`Trace::nvals`] for the exit).
        at: ValId,
        /// Its snapshot.
        snap: SnapId,
    },
    /// The jump's arguments don't match the parameters.
    JumpArity {
        /// The number of parameters.
        expected: usize,
        /// The number of arguments.
        found: usize,
    },
    /// An alloca of size 0 or with an alignment that is not a power of two.
    BadAlloca {
        /// The alloca.
        at: ValId,
    },
}

impl fmt::Display for TypeError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            TypeError::Undefined { at, used } => {
                write!(f, "value {} uses undefined value {}", at.0, used.0)
            }
            TypeError::VoidUse { at, used } => write!(
                f,
                "value {} uses value {} which has no result",
                at.0, used.0
            ),
            TypeError::Mismatch {
                at,
                expected,
                found,
            } => {
                write!(
                    f,
                    "value {}: expected an operand of type {expected}, found {found}",
                    at.0
                )
            }
            TypeError::BadType { at, ty } => {
                write!(f, "value {}: operator does not take type {ty}", at.0)
            }
            TypeError::BadCast { at, op, from, to } => {
                write!(
                    f,
                    "value {}: invalid cast {} from {from} to {to}",
                    at.0,
                    op.name()
                )
            }
            TypeError::NoSnapshot { at, snap } => {
                write!(f, "value {}: no snapshot s{}", at.0, snap.0)
            }
            TypeError::SnapshotAfterGuard { at, snap } => {
                write!(
                    f,
                    "value {}: snapshot s{} uses a value defined after the guard",
                    at.0, snap.0
                )
            }
            TypeError::JumpArity { expected, found } => {
                write!(
                    f,
                    "jump has {found} arguments, the loop has {expected} parameters"
                )
            }
            TypeError::BadAlloca { at } => write!(
                f,
                "value {}: alloca needs a size > 0 and a power-of-two alignment",
                at.0
            ),
        }
    }
}

impl std::error::Error for TypeError {}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Ty::Int(w) => write!(f, "i{w}"),
            Ty::F32 => write!(f, "f32"),
            Ty::F64 => write!(f, "f64"),
            Ty::Ptr => write!(f, "ptr"),
            Ty::Void => write!(f, "void"),
        }
    }
}

impl Trace {
    /// An empty loop with parameters `params` jumping back with them
    /// unchanged.
    pub fn new_loop(params: Vec<Ty>) -> Trace {
        let args = (0..params.len() as u32)
            .map(|i| Operand::Val(ValId(i)))
            .collect();
        Trace {
            params,
            body: Vec::new(),
            end: End::Jump(args),
            snaps: Snapshots::default(),
        }
    }

    /// The number of values (parameters and instructions).
    pub fn nvals(&self) -> usize {
        self.params.len() + self.body.len()
    }

    /// The instruction defining `v`, None for a parameter.
    pub fn inst(&self, v: ValId) -> Option<&Inst> {
        v.idx()
            .checked_sub(self.params.len())
            .and_then(|i| self.body.get(i))
    }

    /// Does an instruction of the body read `v` (snapshots and the end
    /// aside)? A value derived from `v` by `ptr_add`s counts through the
    /// first of them, which reads `v` itself.
    pub fn body_reads(&self, v: ValId) -> bool {
        self.body
            .iter()
            .any(|i| i.operands().any(|o| o == Operand::Val(v)))
    }

    /// The [`ValId`] of body instruction `i`.
    pub fn val_of(&self, i: usize) -> ValId {
        ValId((self.params.len() + i) as u32)
    }

    /// The type of value `v` (which must exist).
    pub fn val_ty(&self, v: ValId) -> Ty {
        match v.idx().checked_sub(self.params.len()) {
            None => self.params[v.idx()],
            Some(i) => self.body[i].result_ty(),
        }
    }

    /// The type of an operand of the instruction that will be value `at`.
    pub fn operand_ty(&self, at: ValId, op: Operand) -> Result<Ty, TypeError> {
        match op {
            Operand::Const(c) => Ok(c.ty()),
            Operand::Val(v) => {
                if v >= at || v.idx() >= self.nvals() {
                    return Err(TypeError::Undefined { at, used: v });
                }
                match self.val_ty(v) {
                    Ty::Void => Err(TypeError::VoidUse { at, used: v }),
                    t => Ok(t),
                }
            }
        }
    }

    fn expect(&self, at: ValId, op: Operand, ty: Ty) -> Result<(), TypeError> {
        let found = self.operand_ty(at, op)?;
        if found == ty {
            Ok(())
        } else {
            Err(TypeError::Mismatch {
                at,
                expected: ty,
                found,
            })
        }
    }

    /// Type-checks `inst` as if it were appended as value `at` (all values
    /// before `at` already in the trace).
    pub fn check_inst(&self, at: ValId, inst: &Inst) -> Result<(), TypeError> {
        match inst {
            Inst::Load { ty, ptr, .. } => {
                if *ty == Ty::Void {
                    return Err(TypeError::BadType { at, ty: *ty });
                }
                self.expect(at, *ptr, Ty::Ptr)
            }
            Inst::Store { val, ptr, .. } => {
                self.operand_ty(at, *val)?;
                self.expect(at, *ptr, Ty::Ptr)
            }
            Inst::PtrAdd { ptr, .. } => self.expect(at, *ptr, Ty::Ptr),
            Inst::DynPtrAdd { ptr, idx, .. } => {
                self.expect(at, *ptr, Ty::Ptr)?;
                let t = self.operand_ty(at, *idx)?;
                if !t.is_int() {
                    return Err(TypeError::BadType { at, ty: t });
                }
                Ok(())
            }
            Inst::Bin { op, ty, lhs, rhs } => {
                let ok = if op.is_float() {
                    ty.is_float()
                } else {
                    ty.is_int()
                };
                if !ok {
                    return Err(TypeError::BadType { at, ty: *ty });
                }
                self.expect(at, *lhs, *ty)?;
                self.expect(at, *rhs, *ty)
            }
            Inst::ICmp { lhs, rhs, .. } => {
                let t = self.operand_ty(at, *lhs)?;
                if !(t.is_int() || t == Ty::Ptr) {
                    return Err(TypeError::BadType { at, ty: t });
                }
                self.expect(at, *rhs, t)
            }
            Inst::FCmp { lhs, rhs, .. } => {
                let t = self.operand_ty(at, *lhs)?;
                if !t.is_float() {
                    return Err(TypeError::BadType { at, ty: t });
                }
                self.expect(at, *rhs, t)
            }
            Inst::Cast { op, val, to } => {
                let from = self.operand_ty(at, *val)?;
                if !op.valid(from, *to) {
                    return Err(TypeError::BadCast {
                        at,
                        op: *op,
                        from,
                        to: *to,
                    });
                }
                Ok(())
            }
            Inst::Select { cond, ty, t, f } => {
                if *ty == Ty::Void {
                    return Err(TypeError::BadType { at, ty: *ty });
                }
                self.expect(at, *cond, Ty::I1)?;
                self.expect(at, *t, *ty)?;
                self.expect(at, *f, *ty)
            }
            Inst::Alloca { size, align } => {
                if *size == 0 || !align.is_power_of_two() {
                    return Err(TypeError::BadAlloca { at });
                }
                Ok(())
            }
            Inst::Call { callee, args, .. } => {
                self.expect(at, *callee, Ty::Ptr)?;
                for a in args {
                    self.operand_ty(at, *a)?;
                }
                Ok(())
            }
            Inst::Guard { cond, snap, .. } => {
                self.expect(at, *cond, Ty::I1)?;
                self.check_snap(at, *snap)
            }
        }
    }

    /// Checks that `snap` exists and its live values are defined before `at`.
    pub fn check_snap(&self, at: ValId, snap: SnapId) -> Result<(), TypeError> {
        let s = self
            .snaps
            .get(snap)
            .ok_or(TypeError::NoSnapshot { at, snap })?;
        for fr in &s.frames {
            for (_, op) in &fr.live {
                if let Operand::Val(v) = op {
                    if *v >= at || v.idx() >= self.nvals() || self.val_ty(*v) == Ty::Void {
                        return Err(TypeError::SnapshotAfterGuard { at, snap });
                    }
                }
            }
        }
        Ok(())
    }

    /// Checks every invariant of the module comment.
    pub fn verify(&self) -> Result<(), TypeError> {
        for (i, inst) in self.body.iter().enumerate() {
            self.check_inst(self.val_of(i), inst)?;
        }
        let end = ValId(self.nvals() as u32);
        match &self.end {
            End::Jump(args) => {
                if args.len() != self.params.len() {
                    return Err(TypeError::JumpArity {
                        expected: self.params.len(),
                        found: args.len(),
                    });
                }
                for (a, t) in args.iter().zip(&self.params) {
                    self.expect(end, *a, *t)?;
                }
                Ok(())
            }
            End::Exit(s) => self.check_snap(end, *s),
        }
    }
}
