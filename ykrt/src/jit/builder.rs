//! What the trace builder ([`super::tirb`]) and the rest of the compiler
//! share: the builder's input ([`TraceInput`]) and output ([`BuiltTrace`]),
//! the per-function analyses kept between traces ([`Analyses`]), a guard's
//! frames in AOT terms for its side trace ([`GuardSrc`]), the trace
//! function's signature ([`declare_trace_fn`]) and the facts about the
//! interpreter's control point that building relies on (its call, the
//! `vars` fields stored before it, where the interpreter function's return
//! value goes).
//!
//! The rules the builder follows when it walks a recording (which calls it
//! inlines: [`MAX_DEPTH`], [`MAX_RECURSION`]; how long a walk may be:
//! [`MAX_WALKED`]) are here too, as constants, so that they are stated once.

use super::tirb::walk::GepInfo;
use crate::guard::prog::Ty;
use crate::guard::{GuardInfo, LiveSrc};
use crate::jit::decode::{self, Decoded};
use llvm_sys::core::*;
use llvm_sys::prelude::*;
use llvm_sys::{LLVMAttributeFunctionIndex, LLVMOpcode, LLVMTypeKind};
use rustc_hash::FxHashMap as HashMap;
use std::ffi::CString;
use std::rc::Rc;
use yk_llvm::liveness::Liveness;
use yk_llvm::{self as llvm, blocks, instrs, operands, Module};

/// The runtime's control point, as it appears in the embedded IR.
pub(super) const RT_CP: &str = yk_abi::names::RT_CONTROL_POINT;
/// `yk_promote`'s entry point, as it appears in the embedded IR.
pub(super) const PROMOTE: &str = yk_abi::names::PROMOTE_U64;
/// What a root trace's failing guard calls (`deopt::__yk_guard_exit`).
pub const GUARD_EXIT: &str = yk_abi::names::GUARD_EXIT;
/// What a side trace's failing guard calls (`deopt::__yk_side_guard_exit`).
pub const SIDE_GUARD_EXIT: &str = yk_abi::names::SIDE_GUARD_EXIT;
/// Frames deeper than this are not inlined.
pub(super) const MAX_DEPTH: usize = 16;
/// A function already this many times on the inlined stack is called natively.
pub(super) const MAX_RECURSION: usize = 2;

/// What the builder needs besides the AOT module.
pub struct TraceInput<'a> {
    /// Recorded `(function index, block index)` pairs.
    pub blocks: &'a [(u32, u32)],
    /// Recorded `yk_promote` values, in order.
    pub promotes: &'a [u64],
    /// Recorded results of idempotent calls, in order.
    pub idempotents: &'a [u64],
    /// Index of the function holding the control point.
    pub cp_func_idx: usize,
    /// Address of the location the trace starts at.
    pub start_loc: usize,
    /// A root trace that ends at another location's control point (whose
    /// trace it jumps to) rather than closing a loop at `start_loc`.
    pub linear: bool,
    /// The recording was stopped at the length limit (`RecordedTrace::truncated`).
    pub truncated: bool,
    /// A unique name for the trace function.
    pub name: &'a str,
    /// For a side trace: the frames of the guard it starts from.
    pub side: Option<&'a GuardSrc>,
    /// For a root trace: what its direct jumps check (see
    /// [`DirectJump`]); `None`: its jumps go through the runtime.
    pub direct: Option<DirectJump>,
    /// Hand the trace over to the native tier 0 too (`BuiltTrace::native`).
    pub native: bool,
}

/// The runtime's words a root trace reads when it leaves at another
/// location (at its end, or after a guard's side trace or blackhole run), to
/// enter that location's trace directly (`crate::compile::DirectEntry`):
/// the `MT`'s flush generation and enabled flag, the count of recording
/// threads, and the counter of direct jumps.
#[derive(Clone, Copy, Debug)]
pub struct DirectJump {
    /// The address of the `MT`'s flush generation (an `AtomicU64`).
    pub generation: usize,
    /// The address of the `MT`'s enabled flag (an `AtomicBool`).
    pub enabled: usize,
    /// The address of the count of recording threads (an `AtomicUsize`).
    pub recording: usize,
    /// The address of the `trace_jumps_direct` counter (an `AtomicU64`).
    pub counter: usize,
    /// JIT events are logged: each direct jump logs its entry
    /// (`crate::deopt::log_direct_entry`).
    pub log_entries: bool,
}

/// One frame of a guard, in terms of the AOT IR: what a side trace starts
/// from.
#[derive(Clone)]
pub struct SrcFrame {
    pub(super) f: LLVMValueRef,
    pub(super) fidx: u32,
    /// The instruction it resumes at.
    pub(super) resume: LLVMValueRef,
    /// Its live values and where they are.
    pub(super) live: Vec<(LLVMValueRef, LiveSrc)>,
    /// The call in the parent frame it was inlined for.
    pub(super) call: Option<LLVMValueRef>,
}

/// A guard's frames, outermost first (shared by the guards of one
/// snapshot).
pub type GuardSrc = std::sync::Arc<[SrcFrame]>;

/// What every snapshot frame resuming at one AOT point has in common,
/// whatever the trace: where it resumes and the AOT values live there with
/// their registers in the decoded function (in liveness order, the resumed
/// instruction's own operands last), each checked to be a single value
/// the blackhole can hold, and the blackhole checked to run everything the
/// frame may reach from there.
pub struct FrameShape {
    /// The instruction the frame resumes at.
    pub(super) resume: LLVMValueRef,
    /// The live values and their registers, in increasing register order
    /// (a snapshot frame's order: see `tir::Frame::sorted`).
    pub(super) live: Vec<(LLVMValueRef, u32)>,
}

/// Per-function analyses the builder keeps between traces (they are
/// expensive for a big interpreter function and never change).
pub struct Analyses {
    pub(super) decoded: HashMap<usize, Decoded>,
    pub(super) liveness: HashMap<usize, Liveness>,
    /// The shape of every snapshot frame resuming at one AOT point, by
    /// (the guarded instruction or the call returned to, innermost frame,
    /// outermost frame): see `walk::snapshot`.
    pub(super) shapes: HashMap<(LLVMValueRef, bool, bool), Result<Rc<FrameShape>, Abort>>,
    /// Each getelementptr's steps (`walk::translate::gep_steps`).
    pub(super) geps: HashMap<LLVMValueRef, Result<Rc<GepInfo>, Abort>>,
    /// The blocks of each function walked, in order (a recording names
    /// blocks by index: `luaV_execute` has hundreds).
    blocks: HashMap<usize, Vec<LLVMBasicBlockRef>>,
    /// The control point's block and call in each function holding one.
    cps: HashMap<usize, Option<(LLVMBasicBlockRef, LLVMValueRef)>>,
    /// What only feeds the control point, by function (`cp_only`).
    cp_only: HashMap<usize, Rc<rustc_hash::FxHashSet<LLVMValueRef>>>,
    /// The module's functions and globals, and their indices. (An `Rc`:
    /// its clones live only in one build, under the compiler's mutex.)
    index: Option<std::rc::Rc<ModuleIndex>>,
    pub(super) td: llvm_sys::target::LLVMTargetDataRef,
}

// SAFETY: used under the compiler's mutex only.
unsafe impl Send for Analyses {}

impl Analyses {
    /// Analyses of functions of module `aot`.
    pub fn new(aot: &Module) -> Analyses {
        Analyses {
            decoded: HashMap::default(),
            liveness: HashMap::default(),
            shapes: HashMap::default(),
            geps: HashMap::default(),
            blocks: HashMap::default(),
            cps: HashMap::default(),
            cp_only: HashMap::default(),
            index: None,
            td: decode::target_data(aot.m),
        }
    }

    /// The functions and globals of `aot` (the module these analyses are
    /// of), and their indices: the same for every trace of a generation.
    pub(super) fn module_index(&mut self, aot: &Module) -> std::rc::Rc<ModuleIndex> {
        self.index
            .get_or_insert_with(|| {
                let funcs = aot.functions();
                let globals = aot.globals();
                std::rc::Rc::new(ModuleIndex {
                    func_idx: funcs.iter().enumerate().map(|(i, &f)| (f, i)).collect(),
                    global_idx: globals.iter().enumerate().map(|(i, &g)| (g, i)).collect(),
                    funcs,
                    globals,
                })
            })
            .clone()
    }

    /// [`find_cp`] of function `f` (index `fidx`), found once.
    pub(super) fn cp(
        &mut self,
        f: LLVMValueRef,
        fidx: usize,
    ) -> Option<(LLVMBasicBlockRef, LLVMValueRef)> {
        *self.cps.entry(fidx).or_insert_with(|| find_cp(f))
    }

    /// The instructions of the function holding control-point call `cp`
    /// (index `fidx`) that only feed that call (its thread's MT, the
    /// location): see [`cp_only`].
    pub(super) fn cp_only(
        &mut self,
        fidx: usize,
        cp: LLVMValueRef,
    ) -> Rc<rustc_hash::FxHashSet<LLVMValueRef>> {
        self.cp_only
            .entry(fidx)
            .or_insert_with(|| Rc::new(cp_only(cp)))
            .clone()
    }

    /// Block `bx` of function `f` (index `fidx` in the embedded module).
    pub(super) fn block(
        &mut self,
        f: LLVMValueRef,
        fidx: usize,
        bx: usize,
    ) -> Option<LLVMBasicBlockRef> {
        self.blocks
            .entry(fidx)
            .or_insert_with(|| blocks(f))
            .get(bx)
            .copied()
    }
}

impl Drop for Analyses {
    fn drop(&mut self) {
        // SAFETY: `self.td` was made by `decode::target_data`
        // (`LLVMCreateTargetData`) in `Analyses::new` and is owned only by this
        // `Analyses`, so it is disposed once, here, and not used again.
        unsafe { llvm_sys::target::LLVMDisposeTargetData(self.td) }
    }
}

/// A built trace module and the AOT symbols it refers to.
pub struct BuiltTrace {
    /// The trace module (same context as the AOT module), unless its
    /// lowering is `deferred`.
    pub module: Option<Module>,
    /// `(symbol name in the trace module, AOT function index)`.
    pub funcs: Vec<(String, usize)>,
    /// `(symbol name in the trace module, AOT global index)`.
    pub globals: Vec<(String, usize)>,
    /// The guards, by index.
    pub guards: Vec<GuardInfo>,
    /// The guards in terms of the AOT IR (for their side traces).
    pub guard_srcs: Vec<GuardSrc>,
    /// Live-value buffer slots the guards need.
    pub nslots: usize,
    /// Where a `ret` of the interpreter function puts its value in vars.
    pub ret_field: Option<(u64, Ty)>,
    /// AOT instructions the walk went through.
    pub walked: usize,
    /// What the native tier 0 compiles `deferred.trace` with, if
    /// `TraceInput::native`.
    pub native: Option<(x64::Plan, super::native::Syms)>,
    /// The lowering into LLVM, not done yet (with `native`).
    pub deferred: Option<super::tirb::Deferred>,
}

/// A recording whose walk goes through more AOT instructions than this is
/// aborted as too long there and then, rather than after building a trace
/// that `super::MAX_TRACE_INSTRS` would reject anyway: a recording of an
/// outer loop can mean millions of instructions, seconds of compile time.
/// (Through the trace IR, traces come out a fraction of their walks: on
/// Lua's, the nbody loop walks 10,871 instructions into 1,844 LLVM ones;
/// the bound dates from the direct builder, whose traces came out bigger
/// than their walks, and could now be raised.)
pub const MAX_WALKED: usize = super::MAX_TRACE_INSTRS;

pub use crate::abort::Abort;

pub(super) fn is_cp_call(i: LLVMValueRef) -> bool {
    llvm::called_function(i).map(llvm::name).as_deref() == Some(RT_CP)
}

/// The block of `f` that contains the control point call, and the call.
pub(super) fn find_cp(f: LLVMValueRef) -> Option<(LLVMBasicBlockRef, LLVMValueRef)> {
    for bb in blocks(f) {
        for i in instrs(bb) {
            if is_cp_call(i) {
                return Some((bb, i));
            }
        }
    }
    None
}

/// A module's functions and globals, in order, and the index of each.
pub(super) struct ModuleIndex {
    /// The functions.
    pub(super) funcs: Vec<LLVMValueRef>,
    /// The globals.
    pub(super) globals: Vec<LLVMValueRef>,
    /// Function -> index in `funcs`.
    pub(super) func_idx: HashMap<LLVMValueRef, usize>,
    /// Global -> index in `globals`.
    pub(super) global_idx: HashMap<LLVMValueRef, usize>,
}

pub(super) fn block_index(f: LLVMValueRef, b: LLVMBasicBlockRef) -> u32 {
    blocks(f).iter().position(|&x| x == b).unwrap_or(usize::MAX) as u32
}

/// The name of the function call `i` calls directly ("" for a call through
/// a pointer), or `None` for inline asm.
pub(super) fn callee_name(i: LLVMValueRef) -> Option<String> {
    // SAFETY: `i` is a live call (or invoke) of the embedded module, the
    // helper's documented argument (yk-llvm rules 2 and 3), so it has a called
    // value; `llvm::name` is asked only of a function.
    unsafe {
        let callee = LLVMGetCalledValue(i);
        if !LLVMIsAInlineAsm(callee).is_null() {
            return None;
        }
        Some(if LLVMIsAFunction(callee).is_null() {
            String::new()
        } else {
            llvm::name(callee)
        })
    }
}

/// The instructions whose values only feed control-point call `cp` or an
/// `llvm.assume` in its block, directly or through each other, and that have no
/// effect: getelementptrs, casts, integer arithmetic and comparisons,
/// non-volatile loads. In yklua they compute the call's MT and location at
/// every bytecode. A trace drops the call (it passes the control point),
/// so the walk need not translate them; the location is asked for only at
/// the trace's end, and is arithmetic (`walk`'s `cp_value`).
pub(super) fn cp_only(cp: LLVMValueRef) -> rustc_hash::FxHashSet<LLVMValueRef> {
    use llvm_sys::LLVMOpcode::*;
    let eligible = |v: LLVMValueRef| {
        // SAFETY: `v` is a live value of the embedded module (yk-llvm rule
        // 2); a load's volatility is asked only of a load.
        unsafe {
            if LLVMIsAInstruction(v).is_null() {
                return false;
            }
            match llvm::opcode(v) {
                LLVMGetElementPtr | LLVMPtrToInt | LLVMIntToPtr | LLVMBitCast | LLVMZExt
                | LLVMSExt | LLVMTrunc | LLVMAdd | LLVMSub | LLVMMul | LLVMShl | LLVMLShr
                | LLVMAShr | LLVMAnd | LLVMOr | LLVMXor | LLVMICmp => true,
                LLVMLoad => LLVMGetVolatile(v) == 0,
                _ => false,
            }
        }
    };
    let is_assume = |u: LLVMValueRef| {
        llvm::called_function(u).is_some_and(|c| llvm::name(c).starts_with("llvm.assume"))
    };
    // Candidates: what the call, or an assumption in its block, is
    // computed from.
    let mut set = rustc_hash::FxHashSet::default();
    // SAFETY: `cp` is a live call instruction, so it has a parent block.
    let bb = unsafe { LLVMGetInstructionParent(cp) };
    let mut work: Vec<LLVMValueRef> = llvm::operands(cp);
    for i in instrs(bb) {
        if is_assume(i) {
            work.extend(llvm::operands(i));
        }
    }
    while let Some(v) = work.pop() {
        if eligible(v) && set.insert(v) {
            work.extend(llvm::operands(v));
        }
    }
    // Keep only those used by nothing else: each pass drops the
    // candidates with another user, until none is dropped.
    loop {
        let before = set.len();
        let keep: Vec<LLVMValueRef> = set
            .iter()
            .copied()
            .filter(|&v| {
                llvm::uses(v)
                    .into_iter()
                    .all(|(u, _)| u == cp || set.contains(&u) || is_assume(u))
            })
            .collect();
        set = keep.into_iter().collect();
        if set.len() == before {
            return set;
        }
    }
}

/// `(field index, value)` of each store into the vars struct just before the
/// control point.
pub(super) fn vars_fields(
    cp_block: LLVMBasicBlockRef,
    aot_vars: LLVMValueRef,
) -> Vec<(u32, LLVMValueRef)> {
    let mut out = Vec::new();
    for i in instrs(cp_block) {
        if llvm::opcode(i) != LLVMOpcode::LLVMStore {
            continue;
        }
        // SAFETY: `i` is a store instruction: operand 0 is the value, 1 the
        // pointer.
        let (val, ptr) = unsafe { (LLVMGetOperand(i, 0), LLVMGetOperand(i, 1)) };
        if let Some(k) = llvm::struct_field_of(ptr, aot_vars) {
            out.push((k, val));
        }
    }
    out
}

/// Does constant `c` (transitively) mention a global value?
pub(super) fn refers_to_globals(c: LLVMValueRef) -> bool {
    // SAFETY: `c` is a live constant (its context, a generation's, is alive:
    // yk-llvm rule 2); operands are read below their count, and every
    // `LLVMIsA*` cast takes a value of any kind.
    unsafe {
        if !LLVMIsAGlobalValue(c).is_null() {
            return true;
        }
        if LLVMGetTypeKind(LLVMTypeOf(c)) == LLVMTypeKind::LLVMPointerTypeKind && LLVMIsNull(c) == 0
        {
            // A non-null pointer constant other than a global: be safe.
            return !LLVMIsAConstantExpr(c).is_null() || !LLVMIsAUndefValue(c).is_null();
        }
        let n = LLVMGetNumOperands(c);
        (0..n.max(0) as u32).any(|k| refers_to_globals(LLVMGetOperand(c, k)))
    }
}

/// Every instruction operand of the trace function must be an instruction of
/// the trace function or one of its arguments: a reference back into the AOT
/// module would make the module invalid (and crash LLVM's printer).
pub(super) fn check_operands(f: LLVMValueRef) -> Result<(), Abort> {
    for bb in blocks(f) {
        for i in instrs(bb) {
            for (k, o) in operands(i).into_iter().enumerate() {
                // SAFETY: `o` is an operand of `i`, a live instruction of the
                // trace function `f` (yk-llvm rule 2); a parent block is asked
                // only of an instruction (and null-checked before its function
                // is read), a parent function only of an argument.
                unsafe {
                    let bad = if !LLVMIsAInstruction(o).is_null() {
                        let p = LLVMGetInstructionParent(o);
                        p.is_null() || LLVMGetBasicBlockParent(p) != f
                    } else if !LLVMIsAArgument(o).is_null() {
                        LLVMGetParamParent(o) != f
                    } else {
                        false
                    };
                    if bad {
                        return Err(Abort::internal(format!(
                            "operand {k} of a {:?} in the trace refers outside it",
                            llvm::opcode(i)
                        )));
                    }
                }
            }
        }
    }
    Ok(())
}

/// The offset and type of the vars field that holds the interpreter
/// function's return value, if it returns one.
pub(super) fn ret_field(
    td: llvm_sys::target::LLVMTargetDataRef,
    cp_call: LLVMValueRef,
) -> Result<Option<(u64, Ty)>, Abort> {
    // SAFETY: `cp_call` is the embedded module's live control-point call,
    // `__ykrt_control_point(mt, loc, vars, idx)` in an interpreter function as
    // yk-ld leaves it (yk-llvm rules 2 and 3), so it has a parent block and
    // function, and operand 2 is the `YkCtrlPointVars` alloca, whose last field
    // holds a non-void return value (so `last` is a field); `td` is the
    // embedded module's target data (`Analyses::td`).
    unsafe {
        let f = LLVMGetBasicBlockParent(LLVMGetInstructionParent(cp_call));
        let rty = LLVMGetReturnType(LLVMGlobalGetValueType(f));
        if LLVMGetTypeKind(rty) == LLVMTypeKind::LLVMVoidTypeKind {
            return Ok(None);
        }
        let vars_ty = LLVMGetAllocatedType(LLVMGetOperand(cp_call, 2));
        let last = LLVMCountStructElementTypes(vars_ty) - 1;
        let off = llvm_sys::target::LLVMOffsetOfElement(td, vars_ty, last);
        match decode::leaves(rty).map_err(Abort::unsupported)?.as_slice() {
            [t] => Ok(Some((off, *t))),
            _ => Err(Abort::unsupported(
                "the interpreter function returns an aggregate",
            )),
        }
    }
}

/// Adds the trace function `name` to `t`: `i64 (ptr noalias vars, ptr
/// info, ptr noalias buf)`, generating code for the CPU the interpreter
/// function `f` was compiled for.
pub(super) fn declare_trace_fn(t: &Module, f: LLVMValueRef, name: &str) -> LLVMValueRef {
    // SAFETY: `t` is the live trace module and `f` a live function of the
    // embedded module, in the same context (yk-llvm rule 2: both are the
    // generation's, used under the compiler's mutex, rule 4); the attribute
    // value is owned by `f`'s attribute and copied by
    // `LLVMCreateStringAttribute` at once (rule 5); names are passed with their
    // lengths; 1 and 3 are parameter indices of the three-parameter `fty`.
    unsafe {
        // i64 trace(ptr noalias vars, ptr info, ptr buf)
        let mut params = [t.ptr_ty(), t.ptr_ty(), t.ptr_ty()];
        let fty = LLVMFunctionType(t.int_ty(64), params.as_mut_ptr(), 3, 0);
        let name = CString::new(name).unwrap();
        let trace_fn = LLVMAddFunction(t.m, name.as_ptr(), fty);
        // Generate code for the CPU the interpreter was compiled for, not
        // the host's: e.g. `llvm.fmuladd` must not become a fused
        // multiply-add where the AOT code rounds twice.
        for key in ["target-cpu", "target-features", "tune-cpu"] {
            let a = LLVMGetStringAttributeAtIndex(
                f,
                LLVMAttributeFunctionIndex,
                key.as_ptr().cast(),
                key.len() as u32,
            );
            if !a.is_null() {
                let mut n = 0;
                let v = LLVMGetStringAttributeValue(a, &mut n);
                let c =
                    LLVMCreateStringAttribute(t.ctx, key.as_ptr().cast(), key.len() as u32, v, n);
                LLVMAddAttributeAtIndex(trace_fn, LLVMAttributeFunctionIndex, c);
            }
        }
        let noalias = LLVMGetEnumAttributeKindForName(c"noalias".as_ptr(), 7);
        for k in [1, 3] {
            LLVMAddAttributeAtIndex(trace_fn, k, LLVMCreateEnumAttribute(t.ctx, noalias, 0));
        }
        trace_fn
    }
}
