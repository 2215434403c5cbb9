//! The interpreter's variables: the fields of the control point's
//! `YkCtrlPointVars` struct, kept in SSA values along the trace.
//!
//! Owns which trace parameter each field arrives in ([`plan_params`]), the
//! value each field holds at each point of the walk ([`Vars`]), and the
//! translation of frame 0's loads and stores that address a field. Invariants:
//!
//! - the trace never stores into `vars`: a store into a field only changes
//!   the field's current value ([`Vars::store`]); the lowering writes the
//!   changed fields back at a linear or side trace's end (the end snapshot,
//!   [`Vars::changed`]), the blackhole at a guard's exit;
//! - a read of a field gives its current value, else its parameter (a root
//!   trace has one per field; a side trace only for the frame-invariant
//!   ones, arguments and entry allocas, which its inputs do not carry),
//!   else, in a side trace only, a load from `vars`, which the parent left
//!   up to date; that load's value is then the field's current value;
//! - only frame 0's accesses are the interpreter's variables: an inlined
//!   callee given the vars pointer goes through memory like any pointer;
//! - a loop trace's `jump` passes, per field parameter, the field's
//!   current value, or the parameter itself if the trace never changed it
//!   ([`Vars::loop_args`]).

use super::{ty_of, GuardSrc, ParamSrc, Shape, W};
use crate::abort::Abort;
use crate::guard::LiveSrc;
use llvm_sys::core::*;
use llvm_sys::prelude::*;
use llvm_sys::LLVMOpcode;
use rustc_hash::FxHashMap as HashMap;
use tir::{Inst, LoadFlags, Operand, Ty};
use yk_llvm as llvm;

/// The trace's parameters, planned from the control point's fields.
pub(super) struct Params {
    /// What each parameter holds on entry (0 is the vars pointer).
    pub srcs: Vec<ParamSrc>,
    /// Each parameter's type.
    pub tys: Vec<Ty>,
    /// Field index -> parameter.
    pub field_param: HashMap<u32, usize>,
    /// The frame-invariant fields' AOT values (arguments and entry allocas
    /// of the control point's function) and their parameters: frame 0 maps
    /// them to the parameter.
    pub invariant: Vec<(LLVMValueRef, usize)>,
    /// A side trace's inputs: the parent guard's live AOT values held in a
    /// buffer slot, and their parameters.
    pub side_inputs: Vec<(LLVMValueRef, usize)>,
}

/// Is `v`, a value stored into a field, the same everywhere in a call of
/// `f` (an argument or an alloca of the entry block)?
fn frame_invariant(f: LLVMValueRef, v: LLVMValueRef) -> bool {
    // SAFETY: `v` is a live value of `f`'s module and `f` a function with a
    // body (it holds the control point).
    unsafe {
        !LLVMIsAArgument(v).is_null()
            || (llvm::opcode(v) == LLVMOpcode::LLVMAlloca
                && LLVMGetInstructionParent(v) == LLVMGetEntryBasicBlock(f))
    }
}

/// The parameters of a trace of shape `shape` through `f`, whose control
/// point stores `fields` (`(field index, AOT value)`): the vars pointer,
/// then (root) every field, or (side) the frame-invariant fields and the
/// parent guard's (`side`) live values held in buffer slots.
pub(super) fn plan_params(
    f: LLVMValueRef,
    fields: &[(u32, LLVMValueRef)],
    shape: Shape,
    side: Option<&GuardSrc>,
) -> Result<Params, Abort> {
    let mut p = Params {
        srcs: vec![ParamSrc::Vars],
        tys: vec![Ty::Ptr],
        field_param: HashMap::default(),
        invariant: Vec::new(),
        side_inputs: Vec::new(),
    };
    for &(k, v) in fields {
        let inv = frame_invariant(f, v);
        if shape == Shape::Side && !inv {
            continue;
        }
        // SAFETY: `v` is a live value.
        let ty = ty_of(unsafe { LLVMTypeOf(v) })?;
        p.field_param.insert(k, p.srcs.len());
        if inv {
            p.invariant.push((v, p.srcs.len()));
        }
        p.srcs.push(ParamSrc::Field(k));
        p.tys.push(ty);
    }
    if let Some(src) = side {
        for sf in src.iter() {
            for &(v, s) in &sf.live {
                let src = match s {
                    LiveSrc::Slot(slot) | LiveSrc::SlotPlus(slot, _) => ParamSrc::Slot(slot),
                    // Where the parent found it (a field it never wrote).
                    LiveSrc::Field { field, .. } => ParamSrc::Field(field),
                    LiveSrc::Const(_) => continue,
                };
                let ty = match s {
                    // The base pointer (the side trace adds the offset).
                    LiveSrc::SlotPlus(..) => Ty::Ptr,
                    LiveSrc::Field { add, .. } if add != 0 => Ty::Ptr,
                    // SAFETY: `v` is a live value of the AOT module.
                    _ => ty_of(unsafe { LLVMTypeOf(v) })?,
                };
                p.side_inputs.push((v, p.srcs.len()));
                p.srcs.push(src);
                p.tys.push(ty);
            }
        }
    }
    Ok(p)
}

/// Where a read of a field finds its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Read {
    /// The value last stored (or read) along the trace.
    Known(Operand),
    /// The trace's parameter of that number.
    Param(usize),
    /// In memory (a side trace's field that its parent left in `vars`).
    Memory,
}

/// The vars fields along the walk: their parameters and current values.
pub(super) struct Vars {
    /// Field index -> parameter.
    field_param: HashMap<u32, usize>,
    /// The value last stored into each field (or read, for a side trace)
    /// along the trace.
    val: HashMap<u32, Operand>,
    /// A side trace (fields without a parameter are read from memory).
    side: bool,
}

impl Vars {
    pub(super) fn new(field_param: HashMap<u32, usize>, side: bool) -> Vars {
        Vars {
            field_param,
            val: HashMap::default(),
            side,
        }
    }

    /// Field `k` now holds `v`.
    pub(super) fn store(&mut self, k: u32, v: Operand) {
        self.val.insert(k, v);
    }

    /// Where a read of field `k` finds its value.
    pub(super) fn read(&self, k: u32) -> Result<Read, Abort> {
        if let Some(&v) = self.val.get(&k) {
            return Ok(Read::Known(v));
        }
        if let Some(&p) = self.field_param.get(&k) {
            return Ok(Read::Param(p));
        }
        if !self.side {
            return Err(Abort::internal(format!("vars field {k} has no parameter")));
        }
        Ok(Read::Memory)
    }

    /// The fields stored (or, in a side trace, read) along the trace, with
    /// their current values: the end snapshot's live values.
    pub(super) fn changed(&self) -> Vec<(u32, Operand)> {
        self.val.iter().map(|(&k, &v)| (k, v)).collect()
    }

    /// A loop trace's `jump` arguments for parameters `params`: the vars
    /// pointer (`param(0)`), then each field's current value or its
    /// unchanged parameter.
    pub(super) fn loop_args(
        &self,
        params: &[ParamSrc],
        param: impl Fn(usize) -> Operand,
    ) -> Result<Vec<Operand>, Abort> {
        let mut args = vec![param(0)];
        for (i, p) in params.iter().enumerate().skip(1) {
            let ParamSrc::Field(k) = p else {
                return Err(Abort::internal("a root trace with a buffer parameter"));
            };
            args.push(self.val.get(k).copied().unwrap_or(param(i)));
        }
        Ok(args)
    }
}

impl W<'_, '_> {
    /// The vars field that AOT pointer `p` (of frame 0) addresses, if any.
    pub(super) fn vars_field(&self, p: LLVMValueRef) -> Option<u32> {
        if self.frames.len() != 1 {
            return None;
        }
        llvm::struct_field_of(p, self.aot_vars)
    }

    /// The trace's value of vars field address `v` of frame 0 (a
    /// getelementptr the walk passed without translating, see `walk`),
    /// made and mapped in frame 0 now, whichever frame is on top (a
    /// snapshot's outer frame may ask); `None` if `v` is not one.
    pub(super) fn vars_gep(&mut self, v: LLVMValueRef) -> Result<Option<Operand>, Abort> {
        let k = match llvm::struct_field_of(v, self.aot_vars) {
            Some(k) if v != self.aot_vars => k,
            _ => return Ok(None),
        };
        let base = *self.frames[0]
            .map
            .get(&self.aot_vars)
            .ok_or_else(|| Abort::internal("the vars pointer is unmapped"))?;
        // SAFETY: `k` is a field of the vars struct type (`struct_field_of`
        // read it from a getelementptr of that type), and `td` the AOT
        // module's live target data.
        let off = unsafe { llvm_sys::target::LLVMOffsetOfElement(self.an.td, self.vars_ty, k) };
        let m = match off {
            0 => base,
            off => self.value(Inst::PtrAdd {
                ptr: base,
                off: off as i64,
            })?,
        };
        self.frames[0].map.insert(v, m);
        Ok(Some(m))
    }

    /// The trace's value of `v`, an instruction of frame 0 the walk passed
    /// without translating (a vars field's address, `vars_gep`, or what
    /// only feeds the control point, `cp_value`), made now; `None` if `v`
    /// is neither.
    pub(super) fn passed_value(&mut self, v: LLVMValueRef) -> Result<Option<Operand>, Abort> {
        match self.vars_gep(v)? {
            Some(m) => Ok(Some(m)),
            None => self.cp_value(v),
        }
    }

    /// The trace's value of `v`, an instruction of frame 0 that only feeds
    /// the control point (`builder::cp_only`), which the walk passed
    /// without translating: translated now, with what it depends on, if it
    /// is arithmetic and frame 0 is on top (the trace's end asks for the
    /// location the control point was passed); an error for a load, which
    /// must not be read later than the AOT code reads it. `None` if `v` is
    /// not one.
    pub(super) fn cp_value(&mut self, v: LLVMValueRef) -> Result<Option<Operand>, Abort> {
        if !self.cp_only.contains(&v) {
            return Ok(None);
        }
        if let Some(&m) = self.frames[0].map.get(&v) {
            return Ok(Some(m));
        }
        if self.frames.len() != 1 || llvm::opcode(v) == LLVMOpcode::LLVMLoad {
            return Err(Abort::internal(format!(
                "{}, which only the control point uses, was asked for",
                llvm::name(v)
            )));
        }
        for o in llvm::operands(v) {
            self.cp_value(o)?;
        }
        // SAFETY: `v` is a live instruction of frame 0's function (it is in
        // `cp_only`).
        let bb = unsafe { LLVMGetInstructionParent(v) };
        let m = self
            .inst(v, bb)?
            .ok_or_else(|| Abort::internal("a value the control point uses has no result"))?;
        self.frames[0].map.insert(v, m);
        Ok(Some(m))
    }

    /// A read of vars field `k` of type `ty`.
    pub(super) fn load_field(&mut self, k: u32, ty: LLVMTypeRef) -> Result<Operand, Abort> {
        match self.vars.read(k)? {
            Read::Known(v) => Ok(v),
            Read::Param(p) => Ok(self.tb.param(p)),
            Read::Memory => {
                // A side trace reads what its caller left.
                // SAFETY: `k` is a field of the vars struct type, and `td`
                // the AOT module's live target data.
                let off =
                    unsafe { llvm_sys::target::LLVMOffsetOfElement(self.an.td, self.vars_ty, k) };
                let p = self.value(Inst::PtrAdd {
                    ptr: self.tb.param(0),
                    off: off as i64,
                })?;
                let v = self.value(Inst::Load {
                    ty: ty_of(ty)?,
                    ptr: p,
                    flags: LoadFlags::default(),
                })?;
                self.vars.store(k, v);
                Ok(v)
            }
        }
    }
}
