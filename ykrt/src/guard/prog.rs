//! The blackhole's program: one embedded-IR function, decoded once (on the
//! compile thread, by the LLVM trace compiler's `jit::decode`) into plain
//! Rust data that the blackhole runs on any thread without touching LLVM.
//!
//! Every SSA value gets a register (`u64`); an aggregate value (a struct
//! returned by a call, an overflow intrinsic's `{iN, i1}`) gets one register
//! per scalar leaf, consecutively. Integers are kept zero-extended to their
//! width, `float`s as their 32 bits, `double`s and pointers as 64 bits.

use std::fmt;
use std::sync::Arc;

/// A scalar type as the blackhole sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    /// An integer of this many bits (1 to 64); pointers are `I(64)`.
    I(u8),
    /// `float`.
    F32,
    /// `double`.
    F64,
}

/// The low `w` bits set (all 64 for `w >= 64`).
pub fn width_mask(w: u8) -> u64 {
    if w >= 64 {
        u64::MAX
    } else {
        (1u64 << w) - 1
    }
}

/// Sign-extends the low `w` bits of `x`.
pub fn sext(x: u64, w: u8) -> i64 {
    if w >= 64 {
        x as i64
    } else {
        ((x << (64 - w)) as i64) >> (64 - w)
    }
}

impl Ty {
    /// `x` in this type's register form: only its own bits, the rest zero
    /// (see the module doc).
    pub fn canon(self, x: u64) -> u64 {
        match self {
            Ty::I(w) => x & width_mask(w),
            Ty::F32 => x & 0xffff_ffff,
            Ty::F64 => x,
        }
    }

    /// Bytes this type occupies in memory.
    pub fn bytes(self) -> usize {
        match self {
            Ty::I(w) => (w as usize).div_ceil(8),
            Ty::F32 => 4,
            Ty::F64 => 8,
        }
    }
}

/// An instruction operand.
#[derive(Clone, Debug)]
pub enum Opnd {
    /// A register (for aggregates, the first leaf's).
    R(u32),
    /// A scalar constant's bits.
    K(u64),
    /// An aggregate constant's leaves.
    KA(Arc<[u64]>),
}

/// Integer binary operators: LLVM's opcodes of the same names, on `w`-bit
/// values, the result wrapped to `w` bits.
#[derive(Clone, Copy, Debug)]
pub enum BinOp {
    /// `add`.
    Add,
    /// `sub`.
    Sub,
    /// `mul`.
    Mul,
    /// `udiv`: unsigned division (0 for a zero divisor, which is undefined
    /// behaviour in the IR).
    UDiv,
    /// `sdiv`: signed division, truncating (0 for a zero divisor; the
    /// minimum divided by -1 wraps to the minimum).
    SDiv,
    /// `urem`: unsigned remainder (0 for a zero divisor).
    URem,
    /// `srem`: signed remainder, with the dividend's sign (0 for a zero
    /// divisor).
    SRem,
    /// `shl`: shift left.
    Shl,
    /// `lshr`: logical (zero-filling) shift right.
    LShr,
    /// `ashr`: arithmetic (sign-filling) shift right.
    AShr,
    /// `and`.
    And,
    /// `or`.
    Or,
    /// `xor`.
    Xor,
}

/// Float binary operators: LLVM's `fadd` to `frem`.
#[derive(Clone, Copy, Debug)]
pub enum FBinOp {
    /// `fadd`.
    Add,
    /// `fsub`.
    Sub,
    /// `fmul`.
    Mul,
    /// `fdiv`.
    Div,
    /// `frem`: the remainder with the dividend's sign (as C's `fmod`).
    Rem,
}

/// Conversions: LLVM's cast opcodes.
#[derive(Clone, Copy, Debug)]
pub enum CastOp {
    /// `trunc`: the low bits of the integer.
    Trunc,
    /// `zext`: zero-extension.
    ZExt,
    /// `sext`: sign-extension.
    SExt,
    /// `fptrunc`: `double` to `float`, rounded.
    FpTrunc,
    /// `fpext`: `float` to `double`.
    FpExt,
    /// `fptoui`: float to unsigned integer, rounded toward zero.
    FpToUi,
    /// `fptosi`: float to signed integer, rounded toward zero.
    FpToSi,
    /// `uitofp`: unsigned integer to float.
    UiToFp,
    /// `sitofp`: signed integer to float.
    SiToFp,
    /// Same bits (`ptrtoint`, `inttoptr`, `bitcast`, `addrspacecast`),
    /// masked to the destination width.
    Bits,
}

/// Intrinsics the blackhole implements, each named in its doc without the
/// `llvm.` prefix; `a`, `b`, `c` are its arguments. They compute in their
/// first argument's type; the `*O` ones (`*.with.overflow`) give an
/// `{iN, i1}`: the wrapped result and whether it overflowed.
#[derive(Clone, Copy, Debug)]
pub enum Intr {
    /// `smax`: the signed maximum.
    SMax,
    /// `smin`: the signed minimum.
    SMin,
    /// `umax`: the unsigned maximum.
    UMax,
    /// `umin`: the unsigned minimum.
    UMin,
    /// `abs`: the absolute value (the minimum stays the minimum).
    Abs,
    /// `ctpop`: the number of set bits.
    CtPop,
    /// `ctlz`: the number of leading zero bits (the width for 0).
    Ctlz,
    /// `cttz`: the number of trailing zero bits (the width for 0).
    Cttz,
    /// `bswap`: the bytes in reverse order.
    BSwap,
    /// `fshl`: funnel shift left: the high half of `a ++ b` shifted left by
    /// `c` modulo the width.
    FShl,
    /// `fshr`: funnel shift right: the low half of `a ++ b` shifted right by
    /// `c` modulo the width.
    FShr,
    /// `sadd.with.overflow`: signed addition.
    SAddO,
    /// `uadd.with.overflow`: unsigned addition.
    UAddO,
    /// `ssub.with.overflow`: signed subtraction.
    SSubO,
    /// `usub.with.overflow`: unsigned subtraction.
    USubO,
    /// `smul.with.overflow`: signed multiplication.
    SMulO,
    /// `umul.with.overflow`: unsigned multiplication.
    UMulO,
    /// `fabs`: the absolute value.
    FAbs,
    /// `sqrt`: the square root.
    Sqrt,
    /// `floor`: rounded toward negative infinity.
    Floor,
    /// `ceil`: rounded toward positive infinity.
    Ceil,
    /// `trunc`: rounded toward zero.
    FTrunc,
    /// `round`: rounded to nearest, ties away from zero.
    Round,
    /// `rint` and `nearbyint`: rounded to nearest, ties to even.
    Rint,
    /// `copysign`: the first argument's magnitude with the second's sign.
    CopySign,
    /// `minnum`: the minimum, ignoring a NaN argument.
    MinNum,
    /// `maxnum`: the maximum, ignoring a NaN argument.
    MaxNum,
    /// `pow`: the first argument raised to the second.
    Pow,
    /// `fma`: `a * b + c`, fused (rounded once).
    Fma,
    /// `fmuladd`: `a * b + c` as the AOT code computes it for a target
    /// without FMA (two roundings).
    FMulAdd,
}

/// How one argument of a native call travels (System V x86-64).
#[derive(Clone, Copy, Debug)]
pub enum ArgClass {
    /// In a general-purpose register or a stack slot; sign-extended to 32
    /// bits first if `signext`.
    Int {
        /// Its width in bits.
        w: u8,
        /// Sign-extended (else zero-extended) to 32 bits.
        signext: bool,
    },
    /// In an SSE register or a stack slot.
    Sse,
}

/// What a native call returns.
#[derive(Clone, Debug)]
pub enum RetClass {
    /// Nothing the blackhole keeps.
    Void,
    /// Leaves, each from `rax`/`rdx` (int) or `xmm0`/`xmm1` (SSE), in order.
    Leaves(Vec<(Ty, bool)>),
}

/// One instruction (phis are handled on the edges, see [`Block::phis`]).
///
/// An aggregate's register is its first leaf's; blocks are indices into
/// [`Prog::blocks`]; a condition is its operand's bit 0.
#[derive(Clone, Debug)]
pub enum Inst {
    /// An integer binary operation (`add`, `shl`, ...): `d = a op b`.
    Bin {
        /// The operator.
        op: BinOp,
        /// The operands' (and result's) width in bits.
        w: u8,
        /// The destination register.
        d: u32,
        /// The left operand.
        a: Opnd,
        /// The right operand.
        b: Opnd,
    },
    /// A float binary operation (`fadd`, ...): `d = a op b`.
    FBin {
        /// The operator.
        op: FBinOp,
        /// The operands' (and result's) type.
        ty: Ty,
        /// The destination register.
        d: u32,
        /// The left operand.
        a: Opnd,
        /// The right operand.
        b: Opnd,
    },
    /// `fneg`: `d = -a`.
    FNeg {
        /// The operand's (and result's) type.
        ty: Ty,
        /// The destination register.
        d: u32,
        /// The operand.
        a: Opnd,
    },
    /// `icmp`: `d` = 1 if `a pred b` holds, else 0.
    ICmp {
        /// The predicate, as LLVM's `LLVMIntPredicate` (32 `eq` to 41 `sle`).
        pred: u8,
        /// The operands' width in bits.
        w: u8,
        /// The destination register.
        d: u32,
        /// The left operand.
        a: Opnd,
        /// The right operand.
        b: Opnd,
    },
    /// `fcmp`: `d` = 1 if `a pred b` holds, else 0.
    FCmp {
        /// The predicate, as LLVM's `LLVMRealPredicate` (0 `false` to 15
        /// `true`).
        pred: u8,
        /// The operands' type.
        ty: Ty,
        /// The destination register.
        d: u32,
        /// The left operand.
        a: Opnd,
        /// The right operand.
        b: Opnd,
    },
    /// A cast (`trunc`, `sitofp`, `ptrtoint`, ...): `d = op(a)`.
    Cast {
        /// The conversion.
        op: CastOp,
        /// The operand's type.
        from: Ty,
        /// The result's type.
        to: Ty,
        /// The destination register.
        d: u32,
        /// The operand.
        a: Opnd,
    },
    /// `select`: `d = c ? a : b`, `n` leaves.
    Select {
        /// The first destination register.
        d: u32,
        /// The number of leaves selected.
        n: u32,
        /// The condition.
        c: Opnd,
        /// The value if `c` holds.
        a: Opnd,
        /// The value otherwise.
        b: Opnd,
    },
    /// `load`: `d = *p`.
    Load {
        /// The loaded type.
        ty: Ty,
        /// The destination register.
        d: u32,
        /// The address.
        p: Opnd,
    },
    /// `store`: `*p = v`.
    Store {
        /// The stored value's type.
        ty: Ty,
        /// The stored value.
        v: Opnd,
        /// The address.
        p: Opnd,
    },
    /// `getelementptr`: `d = base + off + sum(idx * scale)`; each index
    /// sign-extended from its width.
    Gep {
        /// The destination register.
        d: u32,
        /// The base pointer.
        base: Opnd,
        /// The constant part of the offset in bytes (constant indices and
        /// struct fields).
        off: i64,
        /// The variable indices: `(index, its width in bits, scale in bytes)`.
        idx: Vec<(Opnd, u8, i64)>,
    },
    /// `llvm.memcpy` or `llvm.memmove` (copied as `memmove`, overlap allowed).
    Memcpy {
        /// The destination pointer.
        d: Opnd,
        /// The source pointer.
        s: Opnd,
        /// The number of bytes.
        n: Opnd,
    },
    /// `llvm.memset`.
    Memset {
        /// The destination pointer.
        d: Opnd,
        /// The byte value (its low 8 bits).
        v: Opnd,
        /// The number of bytes.
        n: Opnd,
    },
    /// A call of an intrinsic the blackhole computes itself.
    Intrinsic {
        /// Which intrinsic.
        f: Intr,
        /// Its first argument's type.
        ty: Ty,
        /// The destination register (`d + 1` gets the overflow bit of the
        /// `*O` intrinsics).
        d: u32,
        /// The call's arguments, all of them (flags such as `ctlz`'s too).
        args: Vec<Opnd>,
    },
    /// A native call: through the function's AOT address or a pointer.
    Call {
        /// The callee's address (a constant for a direct call).
        f: Opnd,
        /// The arguments, each with how it is passed.
        args: Vec<(Opnd, ArgClass)>,
        /// What the call returns, and where.
        ret: RetClass,
        /// The first register receiving the result's leaves.
        d: u32,
        /// A direct call of a `yk_idempotent` function with a scalar result:
        /// the result is recorded when the blackhole records a side trace
        /// (the AOT code records it with a hook after the call, which the
        /// embedded IR doesn't have).
        idem: bool,
    },
    /// `yk_promote`: a copy, recorded when the blackhole records a side trace.
    Promote {
        /// The destination register.
        d: u32,
        /// The promoted value.
        a: Opnd,
    },
    /// Copy `n` leaves (`freeze`, `llvm.expect`...): `d = a`.
    Copy {
        /// The first destination register.
        d: u32,
        /// The number of leaves copied.
        n: u32,
        /// The value copied.
        a: Opnd,
    },
    /// `extractvalue`: `d = agg[leaf]`, `n` leaves.
    Extract {
        /// The first destination register.
        d: u32,
        /// The number of leaves extracted.
        n: u32,
        /// The aggregate.
        agg: Opnd,
        /// The index of the aggregate's first leaf extracted.
        leaf: u32,
    },
    /// `insertvalue`: `d = agg` (`total` leaves) with leaves `leaf..leaf+n`
    /// set from `v`.
    Insert {
        /// The first destination register.
        d: u32,
        /// The aggregate's number of leaves.
        total: u32,
        /// The aggregate.
        agg: Opnd,
        /// The index of the aggregate's first leaf replaced.
        leaf: u32,
        /// The number of leaves replaced.
        n: u32,
        /// The inserted value.
        v: Opnd,
    },
    /// The control point: the blackhole stops here in the outermost frame.
    ControlPoint {
        /// The location (the `YkLocation *` argument of `__ykrt_control_point`).
        loc: Opnd,
    },
    /// An instruction with no effect for the blackhole.
    Nop,
    /// Something the blackhole can't run: reaching it is refused when the
    /// trace is compiled (see [`Prog::unsupported_from`]).
    Unsupported(Unsupported),
    // Terminators:
    /// `br` without a condition.
    Br {
        /// The block to go to.
        to: u32,
    },
    /// `br` with a condition.
    CondBr {
        /// The condition.
        c: Opnd,
        /// The block to go to if `c` holds.
        t: u32,
        /// The block to go to otherwise.
        f: u32,
    },
    /// `switch`.
    Switch {
        /// The value switched on.
        v: Opnd,
        /// The block to go to if no case matches.
        default: u32,
        /// The cases: `(value, block)`, values zero-extended from `v`'s width.
        cases: Vec<(u64, u32)>,
    },
    /// `ret`: to the calling frame (its call's destination registers), or
    /// out of the blackhole from the outermost frame.
    Ret {
        /// The returned value (`None` for `ret void`).
        v: Option<Opnd>,
        /// Its number of leaves (0 for void).
        n: u32,
    },
    /// `unreachable`: reaching it is an error.
    Unreachable,
}

/// A phi: its destination, leaves, and the value per predecessor block.
#[derive(Clone, Debug)]
pub struct Phi {
    /// First destination register.
    pub d: u32,
    /// Leaves.
    pub n: u32,
    /// `(predecessor block, value)`.
    pub incoming: Vec<(u32, Opnd)>,
}

/// A basic block.
#[derive(Clone, Debug, Default)]
pub struct Block {
    /// The block's phis, assigned together on entry.
    pub phis: Vec<Phi>,
    /// Instructions; the last one is the terminator.
    pub insts: Vec<Inst>,
}

/// One decoded function.
#[derive(Debug)]
pub struct Prog {
    /// The function's name (for messages).
    pub name: String,
    /// Its index in the embedded module.
    pub func_idx: u32,
    /// Register count.
    pub nregs: u32,
    /// Blocks in IR order.
    pub blocks: Vec<Block>,
    /// For the control-point function: where a `ret` value goes in
    /// `YkCtrlPointVars` (byte offset and leaf types).
    pub ret_field: Option<(u64, Vec<Ty>)>,
    /// Per block, whether an [`Inst::Unsupported`] is reachable from its
    /// start ([`Prog::unsupported_reach`]): from the others,
    /// [`Prog::unsupported_from`] needs no walk. (`luaV_execute`'s only
    /// ones are its entry block's allocas, so walking the whole function
    /// from each of a trace's guards found nothing, at a fifth of the
    /// runtime's own part of a first compilation.)
    pub reaches_unsupported: Vec<bool>,
}

impl Inst {
    /// The blocks a terminator may go to.
    pub fn successors(&self) -> Vec<u32> {
        match self {
            Inst::Br { to } => vec![*to],
            Inst::CondBr { t, f, .. } => vec![*t, *f],
            Inst::Switch { default, cases, .. } => {
                let mut v = vec![*default];
                v.extend(cases.iter().map(|c| c.1));
                v
            }
            _ => Vec::new(),
        }
    }
}

impl Prog {
    /// Per block of `blocks`, whether an [`Inst::Unsupported`] is reachable
    /// from its start (for [`Prog::reaches_unsupported`]; ignoring control
    /// points, so a superset of what [`Prog::unsupported_from`] can find).
    pub fn unsupported_reach(blocks: &[Block]) -> Vec<bool> {
        let mut preds = vec![Vec::new(); blocks.len()];
        let mut reach = vec![false; blocks.len()];
        let mut work = Vec::new();
        for (b, blk) in blocks.iter().enumerate() {
            for i in &blk.insts {
                for s in i.successors() {
                    if let Some(p) = preds.get_mut(s as usize) {
                        p.push(b);
                    }
                }
                if matches!(i, Inst::Unsupported(_)) && !reach[b] {
                    reach[b] = true;
                    work.push(b);
                }
            }
        }
        while let Some(b) = work.pop() {
            for &p in &preds[b] {
                if !reach[p] {
                    reach[p] = true;
                    work.push(p);
                }
            }
        }
        reach
    }

    /// The first thing the blackhole can't run on some path from
    /// instruction `idx` of block `block` up to the function's exit (or, if
    /// `stop_at_cp`, the control point); `None` if it can run all of it.
    pub fn unsupported_from(&self, block: u32, idx: u32, stop_at_cp: bool) -> Option<String> {
        if !self
            .reaches_unsupported
            .get(block as usize)
            .copied()
            .unwrap_or(true)
        {
            return None;
        }
        let mut seen = vec![false; self.blocks.len()];
        let mut work = vec![(block, idx)];
        while let Some((b, start)) = work.pop() {
            if start == 0 {
                if seen[b as usize] {
                    continue;
                }
                seen[b as usize] = true;
            }
            for i in &self.blocks[b as usize].insts[start as usize..] {
                match i {
                    Inst::Unsupported(why) => return Some(format!("{why} in {}", self.name)),
                    Inst::ControlPoint { .. } if stop_at_cp => break,
                    _ => {}
                }
                for s in i.successors() {
                    work.push((s, 0));
                }
            }
        }
        None
    }
}

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
    NoAddress {
        /// `function` or `global`.
        what: &'static str,
        /// Its name in the embedded IR.
        name: String,
    },
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
