//! The trace builder: from a recorded block sequence to one LLVM function.
//!
//! The trace is a copy of the interpreter function's AOT IR along the
//! recorded path, in a fresh module of the same LLVM context:
//!
//! ```text
//! entry:  load the frame-invariant values (arguments, entry allocas) from vars
//! loop:   copy of yk_cp_resume ... copy of the control point's block; br loop
//! ```
//!
//! Conditional branches and switches become guards. A failing guard jumps to
//! the *continuation*: a copy of the part of the interpreter function that
//! can run from the guard's block up to the next control point (or to a
//! `ret`). Running that copy is exactly what the interpreter would have done,
//! so leaving a trace is always correct; at the control point the
//! continuation re-enters the loop if the location is the trace's own, and
//! otherwise returns 0 so the interpreter resumes after its control point.
//! A `ret` of the interpreter function stores the value in `vars` and returns
//! 1 (see docs/abi.md). Values flow into the continuation through stack
//! slots that `mem2reg` turns back into SSA form.
//!
//! Calls are not inlined yet: every call is a native call of the AOT
//! function, and blocks recorded inside callees are skipped.

use linker_plugin::llvm::{self, blocks, instrs, operands, successors, Module};
use llvm_sys::core::*;
use llvm_sys::debuginfo::LLVMInstructionSetDebugLoc;
use llvm_sys::prelude::*;
use llvm_sys::{LLVMLinkage, LLVMOpcode, LLVMTypeKind};
use std::collections::{HashMap, HashSet};
use std::ffi::CString;

/// The runtime's control point, as it appears in the embedded IR.
const RT_CP: &str = "__ykrt_control_point";
const PROMOTE: &str = "__yk_promote_u64";

/// What the builder needs besides the AOT module.
pub struct TraceInput<'a> {
    /// Recorded `(function index, block index)` pairs.
    pub blocks: &'a [(u32, u32)],
    /// Recorded `yk_promote` values, in order.
    pub promotes: &'a [u64],
    /// Index of the function holding the control point.
    pub cp_func_idx: usize,
    /// Address of the location the trace starts at.
    pub start_loc: usize,
    /// A unique name for the trace function.
    pub name: &'a str,
}

/// A built trace module and the AOT symbols it refers to.
pub struct BuiltTrace {
    /// The trace module (same context as the AOT module).
    pub module: Module,
    /// `(symbol name in the trace module, AOT function index)`.
    pub funcs: Vec<(String, usize)>,
    /// `(symbol name in the trace module, AOT global index)`.
    pub globals: Vec<(String, usize)>,
}

/// Why a trace can't be built: becomes `trace-aborted: <reason>`.
pub type Abort = String;

struct Builder<'a> {
    t: &'a Module,
    b: llvm::Builder,
    trace_fn: LLVMValueRef,
    vars: LLVMValueRef,
    /// AOT value -> trace value, along the trace path.
    map: HashMap<LLVMValueRef, LLVMValueRef>,
    /// AOT global/function -> declaration in the trace module.
    syms: HashMap<LLVMValueRef, LLVMValueRef>,
    func_idx: HashMap<LLVMValueRef, usize>,
    global_idx: HashMap<LLVMValueRef, usize>,
    used_funcs: Vec<(String, usize)>,
    used_globals: Vec<(String, usize)>,
    /// Guard exits still to be wired to the continuation.
    exits: Vec<Exit>,
    promotes: &'a [u64],
    next_promote: usize,
}

/// A failing guard: the trace block it leaves from, the AOT block whose
/// terminator failed, and the values known at that point.
struct Exit {
    block: LLVMBasicBlockRef,
    aot_block: LLVMBasicBlockRef,
    map: HashMap<LLVMValueRef, LLVMValueRef>,
}

fn is_cp_call(i: LLVMValueRef) -> bool {
    llvm::called_function(i).map(llvm::name).as_deref() == Some(RT_CP)
}

/// The block of `f` that contains the control point call, and the call.
fn find_cp(f: LLVMValueRef) -> Option<(LLVMBasicBlockRef, LLVMValueRef)> {
    for bb in blocks(f) {
        for i in instrs(bb) {
            if is_cp_call(i) {
                return Some((bb, i));
            }
        }
    }
    None
}

/// Builds the trace for `input` from the AOT module `aot`, into `t`.
pub fn build(aot: &Module, t: Module, input: &TraceInput) -> Result<BuiltTrace, Abort> {
    let funcs = aot.functions();
    let f = *funcs
        .get(input.cp_func_idx)
        .ok_or("control point function index out of range")?;
    let (cp_block, cp_call) = find_cp(f).ok_or("no control point in the recorded function")?;
    let fblocks = blocks(f);
    let fi = input.cp_func_idx as u32;

    // Only the interpreter function's own blocks are copied: everything
    // recorded in between happened inside a native call.
    let path: Vec<LLVMBasicBlockRef> = input
        .blocks
        .iter()
        .filter(|(fx, _)| *fx == fi)
        .map(|&(_, bx)| {
            fblocks
                .get(bx as usize)
                .copied()
                .ok_or("block index out of range")
        })
        .collect::<Result<_, _>>()?;
    if path.len() < 2 || path[0] != successors(cp_block)[0] || *path.last().unwrap() != cp_block {
        return Err("the recording does not run from control point to control point".into());
    }
    if path.contains(&fblocks[0]) {
        return Err("the interpreter function was re-entered while recording".into());
    }

    let mut bt = Builder {
        t: &t,
        b: t.builder(),
        trace_fn: std::ptr::null_mut(),
        vars: std::ptr::null_mut(),
        map: HashMap::new(),
        syms: HashMap::new(),
        func_idx: funcs.iter().enumerate().map(|(i, &f)| (f, i)).collect(),
        global_idx: aot
            .globals()
            .into_iter()
            .enumerate()
            .map(|(i, g)| (g, i))
            .collect(),
        used_funcs: Vec::new(),
        used_globals: Vec::new(),
        exits: Vec::new(),
        promotes: input.promotes,
        next_promote: 0,
    };
    bt.build(f, cp_block, cp_call, &path, input)?;
    if bt.next_promote != input.promotes.len() {
        return Err(format!(
            "yk_promote used outside the interpreter function ({} recorded, {} in the trace)",
            input.promotes.len(),
            bt.next_promote
        ));
    }
    check_operands(bt.trace_fn)?;
    if std::env::var_os("YKD_DEBUG_TRACE_PRINT").is_some() {
        for bb in blocks(bt.trace_fn) {
            eprintln!("block:");
            for i in instrs(bb) {
                eprintln!("  opcode {:?}", llvm::opcode(i));
                unsafe {
                    let p = LLVMPrintValueToString(i);
                    eprintln!("  {}", std::ffi::CStr::from_ptr(p).to_string_lossy());
                    LLVMDisposeMessage(p);
                }
            }
        }
    }
    let (used_funcs, used_globals) = (bt.used_funcs.clone(), bt.used_globals.clone());
    drop(bt);
    Ok(BuiltTrace {
        module: t,
        funcs: used_funcs,
        globals: used_globals,
    })
}

impl Builder<'_> {
    fn build(
        &mut self,
        f: LLVMValueRef,
        cp_block: LLVMBasicBlockRef,
        cp_call: LLVMValueRef,
        path: &[LLVMBasicBlockRef],
        input: &TraceInput,
    ) -> Result<(), Abort> {
        let t = self.t;
        unsafe {
            // i64 trace(ptr noalias vars)
            let mut params = [t.ptr_ty()];
            let fty = LLVMFunctionType(t.int_ty(64), params.as_mut_ptr(), 1, 0);
            let name = CString::new(input.name).unwrap();
            self.trace_fn = LLVMAddFunction(t.m, name.as_ptr(), fty);
            self.vars = LLVMGetParam(self.trace_fn, 0);
            let noalias = LLVMGetEnumAttributeKindForName(c"noalias".as_ptr(), 7);
            LLVMAddAttributeAtIndex(self.trace_fn, 1, LLVMCreateEnumAttribute(t.ctx, noalias, 0));
            let entry = self.new_block("entry");
            let head = self.new_block("loop");
            LLVMPositionBuilderAtEnd(self.b.0, entry);

            // The vars alloca is the trace's argument; frame-invariant values
            // (stored into vars but never reloaded) are loaded once here.
            let aot_vars = LLVMGetOperand(cp_call, 2);
            self.map.insert(aot_vars, self.vars);
            let vars_ty = LLVMGetAllocatedType(aot_vars);
            for (k, v) in vars_fields(cp_block, aot_vars) {
                let invariant = !LLVMIsAArgument(v).is_null()
                    || (llvm::opcode(v) == LLVMOpcode::LLVMAlloca
                        && LLVMGetInstructionParent(v) == blocks(f)[0]);
                if invariant {
                    let p = self.field_ptr(vars_ty, k);
                    let x = LLVMBuildLoad2(self.b.0, LLVMTypeOf(v), p, c"".as_ptr());
                    self.map.insert(v, x);
                }
            }
            LLVMBuildBr(self.b.0, head);
            LLVMPositionBuilderAtEnd(self.b.0, head);

            let mut prev: Option<LLVMBasicBlockRef> = None;
            for (k, &bb) in path.iter().enumerate() {
                let next = path.get(k + 1).copied();
                self.copy_block(bb, prev, next, cp_call)?;
                prev = Some(bb);
            }
            // The end of the path is the start location's control point.
            LLVMBuildBr(self.b.0, head);

            self.build_continuation(f, cp_block, cp_call, head, input.start_loc)?;
        }
        Ok(())
    }

    /// Drops metadata that points into the AOT module's debug info (which
    /// the trace module doesn't carry yet): `!dbg` and `!llvm.loop`.
    fn scrub(&self, c: LLVMValueRef) {
        unsafe {
            LLVMInstructionSetDebugLoc(c, std::ptr::null_mut());
            LLVMSetMetadata(c, self.t.md_kind("llvm.loop"), std::ptr::null_mut());
        }
    }

    fn new_block(&self, name: &str) -> LLVMBasicBlockRef {
        let n = CString::new(name).unwrap();
        unsafe { LLVMAppendBasicBlockInContext(self.t.ctx, self.trace_fn, n.as_ptr()) }
    }

    fn field_ptr(&self, vars_ty: LLVMTypeRef, k: u32) -> LLVMValueRef {
        unsafe {
            let i32t = self.t.int_ty(32);
            let mut idx = [LLVMConstInt(i32t, 0, 0), LLVMConstInt(i32t, k as u64, 0)];
            LLVMBuildInBoundsGEP2(
                self.b.0,
                vars_ty,
                self.vars,
                idx.as_mut_ptr(),
                2,
                c"".as_ptr(),
            )
        }
    }

    /// Copies one recorded block of the interpreter function onto the trace.
    fn copy_block(
        &mut self,
        bb: LLVMBasicBlockRef,
        prev: Option<LLVMBasicBlockRef>,
        next: Option<LLVMBasicBlockRef>,
        cp_call: LLVMValueRef,
    ) -> Result<(), Abort> {
        unsafe {
            for i in instrs(bb) {
                match llvm::opcode(i) {
                    LLVMOpcode::LLVMPHI => {
                        let p = prev.ok_or("a phi in the first block of a trace")?;
                        let v = (0..LLVMCountIncoming(i))
                            .find(|&k| LLVMGetIncomingBlock(i, k) == p)
                            .map(|k| LLVMGetIncomingValue(i, k))
                            .ok_or("phi without an entry for the recorded predecessor")?;
                        let m = self.operand(v)?;
                        self.map.insert(i, m);
                    }
                    _ if i == cp_call => {
                        // Another pass through the control point: it
                        // vanishes (its vars stores and reloads stay, for
                        // LLVM to forward), and so does its "must return"
                        // branch. The last one ends the path.
                        if next.is_none() {
                            return Ok(());
                        }
                        let resume = successors(bb)[0];
                        if next != Some(resume) {
                            return Err("the recording left a control point oddly".into());
                        }
                        return Ok(());
                    }
                    LLVMOpcode::LLVMBr | LLVMOpcode::LLVMSwitch => {
                        let n = next.ok_or("the trace ends in the middle of a block")?;
                        self.guard(bb, i, n)?;
                    }
                    LLVMOpcode::LLVMRet => {
                        return Err("the interpreter function returned while recording".into())
                    }
                    LLVMOpcode::LLVMIndirectBr => return Err("indirectbr is not supported".into()),
                    LLVMOpcode::LLVMInvoke | LLVMOpcode::LLVMCallBr => {
                        return Err("invoke/callbr is not supported".into())
                    }
                    LLVMOpcode::LLVMUnreachable => {
                        return Err("the recording reached unreachable code".into())
                    }
                    LLVMOpcode::LLVMCall => self.copy_call(i)?,
                    LLVMOpcode::LLVMAlloca => {
                        return Err("alloca outside the entry block is not supported".into())
                    }
                    _ => {
                        let c = self.clone_into_trace(i)?;
                        self.map.insert(i, c);
                    }
                }
            }
        }
        Ok(())
    }

    /// Inserts a copy of `i` with operands `ops` at the builder's position.
    fn insert_clone(&self, i: LLVMValueRef, ops: Vec<LLVMValueRef>) -> LLVMValueRef {
        unsafe {
            let c = LLVMInstructionClone(i);
            for (k, o) in ops.into_iter().enumerate() {
                LLVMSetOperand(c, k as u32, o);
            }
            self.scrub(c);
            LLVMInsertIntoBuilder(self.b.0, c);
            c
        }
    }

    /// Clones `i` at the builder's position with its operands mapped.
    fn clone_into_trace(&mut self, i: LLVMValueRef) -> Result<LLVMValueRef, Abort> {
        let mapped = operands(i)
            .into_iter()
            .map(|o| self.operand(o))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.insert_clone(i, mapped))
    }

    fn copy_call(&mut self, i: LLVMValueRef) -> Result<(), Abort> {
        unsafe {
            let name = callee_name(i).ok_or("inline asm")?;
            match name.as_str() {
                "setjmp" | "_setjmp" | "__sigsetjmp" | "sigsetjmp" => {
                    return Err(format!("call to {name}"))
                }
                PROMOTE => {
                    // A guard on the recorded value, then a constant.
                    let rec = *self
                        .promotes
                        .get(self.next_promote)
                        .ok_or("more yk_promote calls than recorded values")?;
                    self.next_promote += 1;
                    let x = self.operand(LLVMGetOperand(i, 0))?;
                    let k = self.t.const_int(64, rec);
                    let eq = LLVMBuildICmp(
                        self.b.0,
                        llvm_sys::LLVMIntPredicate::LLVMIntEQ,
                        x,
                        k,
                        c"".as_ptr(),
                    );
                    self.promote_guard(eq, LLVMGetInstructionParent(i));
                    self.map.insert(i, k);
                    return Ok(());
                }
                "yk_is_interpreting" => {
                    self.map.insert(i, LLVMConstNull(LLVMTypeOf(i)));
                    return Ok(());
                }
                _ => {}
            }
            if name.starts_with("llvm.lifetime.") {
                return Ok(());
            }
            let c = self.clone_into_trace(i)?;
            self.map.insert(i, c);
        }
        Ok(())
    }

    /// A failed `yk_promote` guard: the promoted value is the same value
    /// the interpreter computed, so the continuation just starts at the
    /// promote's block's terminator (everything before it has run).
    fn promote_guard(&mut self, ok: LLVMValueRef, aot_block: LLVMBasicBlockRef) {
        unsafe {
            let cont = self.new_block("promoted");
            let fail = self.new_block("promote_fail");
            LLVMBuildCondBr(self.b.0, ok, cont, fail);
            // Values of the rest of this block are computed in the
            // continuation from the mapped values; see `build_continuation`.
            self.exits.push(Exit {
                block: fail,
                aot_block,
                map: self.map.clone(),
            });
            LLVMPositionBuilderAtEnd(self.b.0, cont);
        }
    }

    /// Turns terminator `term` of `bb` into a guard that `next` follows.
    fn guard(
        &mut self,
        bb: LLVMBasicBlockRef,
        term: LLVMValueRef,
        next: LLVMBasicBlockRef,
    ) -> Result<(), Abort> {
        unsafe {
            let succs = successors(bb);
            if !succs.contains(&next) {
                return Err("the recording does not follow the control-flow graph".into());
            }
            if succs.iter().all(|&s| s == next) {
                return Ok(()); // Unconditional.
            }
            let cont = self.new_block("guarded");
            let fail = self.new_block("guard_fail");
            if llvm::opcode(term) == LLVMOpcode::LLVMBr {
                let cond = self.operand(LLVMGetCondition(term))?;
                if succs[0] == next {
                    LLVMBuildCondBr(self.b.0, cond, cont, fail);
                } else {
                    LLVMBuildCondBr(self.b.0, cond, fail, cont);
                }
            } else {
                // switch: the same cases, those leading to `next` continue.
                let v = self.operand(LLVMGetOperand(term, 0))?;
                let default = LLVMGetSwitchDefaultDest(term);
                let d = if default == next { cont } else { fail };
                let n = LLVMGetNumSuccessors(term);
                let sw = LLVMBuildSwitch(self.b.0, v, d, n - 1);
                for k in 1..n {
                    let case = LLVMGetSwitchCaseValue(term, k);
                    let dest = if LLVMGetSuccessor(term, k) == next {
                        cont
                    } else {
                        fail
                    };
                    LLVMAddCase(sw, case, dest);
                }
            }
            self.exits.push(Exit {
                block: fail,
                aot_block: bb,
                map: self.map.clone(),
            });
            LLVMPositionBuilderAtEnd(self.b.0, cont);
        }
        Ok(())
    }

    /// Maps an operand of an AOT instruction into the trace.
    fn operand(&mut self, v: LLVMValueRef) -> Result<LLVMValueRef, Abort> {
        if let Some(&m) = self.map.get(&v) {
            return Ok(m);
        }
        unsafe {
            if llvm::is_ssa_value(v) {
                return Err(format!("internal error: unmapped value {}", llvm::name(v)));
            }
            if !LLVMIsAFunction(v).is_null() || !LLVMIsAGlobalVariable(v).is_null() {
                return self.symbol(v);
            }
            if !LLVMIsABasicBlock(v).is_null()
                || LLVMGetValueKind(v) == llvm_sys::LLVMValueKind::LLVMMetadataAsValueValueKind
            {
                return Ok(v);
            }
            if !LLVMIsAConstantExpr(v).is_null() {
                return self.constant_expr(v);
            }
            if !LLVMIsAGlobalAlias(v).is_null() {
                return Err("a global alias".into());
            }
            if !LLVMIsAConstant(v).is_null() && !refers_to_globals(v) {
                return Ok(v);
            }
            Err("a constant referring to globals".into())
        }
    }

    /// A constant expression over globals, rebuilt as an instruction.
    fn constant_expr(&mut self, v: LLVMValueRef) -> Result<LLVMValueRef, Abort> {
        unsafe {
            let op = LLVMGetConstOpcode(v);
            let ops: Vec<LLVMValueRef> = operands(v)
                .into_iter()
                .map(|o| self.operand(o))
                .collect::<Result<_, _>>()?;
            let ty = LLVMTypeOf(v);
            Ok(match op {
                LLVMOpcode::LLVMGetElementPtr => {
                    let src = LLVMGetGEPSourceElementType(v);
                    let mut idx = ops[1..].to_vec();
                    LLVMBuildGEP2(
                        self.b.0,
                        src,
                        ops[0],
                        idx.as_mut_ptr(),
                        idx.len() as u32,
                        c"".as_ptr(),
                    )
                }
                LLVMOpcode::LLVMPtrToInt => LLVMBuildPtrToInt(self.b.0, ops[0], ty, c"".as_ptr()),
                LLVMOpcode::LLVMIntToPtr => LLVMBuildIntToPtr(self.b.0, ops[0], ty, c"".as_ptr()),
                LLVMOpcode::LLVMAdd => LLVMBuildAdd(self.b.0, ops[0], ops[1], c"".as_ptr()),
                LLVMOpcode::LLVMSub => LLVMBuildSub(self.b.0, ops[0], ops[1], c"".as_ptr()),
                _ => return Err(format!("constant expression with opcode {op:?}")),
            })
        }
    }

    /// The trace module's declaration of AOT global or function `v`.
    fn symbol(&mut self, v: LLVMValueRef) -> Result<LLVMValueRef, Abort> {
        if let Some(&d) = self.syms.get(&v) {
            return Ok(d);
        }
        let t = self.t;
        let d = unsafe {
            let vty = LLVMGlobalGetValueType(v);
            let aname = llvm::name(v);
            if !LLVMIsAFunction(v).is_null() {
                if aname.starts_with("llvm.") {
                    // Intrinsics are declared by name.
                    t.get_or_declare(&aname, vty)
                } else {
                    let idx = self.func_idx[&v];
                    let n = format!("__yk_aot_f{idx}");
                    let d = t.get_or_declare(&n, vty);
                    self.used_funcs.push((n, idx));
                    d
                }
            } else {
                if LLVMIsThreadLocal(v) != 0 {
                    return Err(format!("thread-local variable {aname}"));
                }
                let idx = self.global_idx[&v];
                let n = format!("__yk_aot_g{idx}");
                let cn = CString::new(n.clone()).unwrap();
                let d = LLVMAddGlobal(t.m, vty, cn.as_ptr());
                // A constant whose initializer is plain data is copied so that
                // LLVM can fold loads from it (e.g. a bytecode program); the
                // symbol still resolves to the AOT copy.
                let init = LLVMGetInitializer(v);
                if LLVMIsGlobalConstant(v) != 0 && !init.is_null() && !refers_to_globals(init) {
                    LLVMSetInitializer(d, init);
                    LLVMSetGlobalConstant(d, 1);
                    LLVMSetLinkage(d, LLVMLinkage::LLVMAvailableExternallyLinkage);
                }
                self.used_globals.push((n, idx));
                d
            }
        };
        self.syms.insert(v, d);
        Ok(d)
    }

    /// Builds the continuation shared by all guard exits (module doc).
    fn build_continuation(
        &mut self,
        f: LLVMValueRef,
        cp_block: LLVMBasicBlockRef,
        cp_call: LLVMValueRef,
        head: LLVMBasicBlockRef,
        start_loc: usize,
    ) -> Result<(), Abort> {
        let vars_ty = unsafe { LLVMGetAllocatedType(LLVMGetOperand(cp_call, 2)) };
        if self.exits.is_empty() {
            return Ok(());
        }
        // The region: AOT blocks reachable from the failing blocks, up to
        // (and including) the control point block.
        let mut region: Vec<LLVMBasicBlockRef> = Vec::new();
        let mut seen = HashSet::new();
        let mut work: Vec<LLVMBasicBlockRef> = self.exits.iter().map(|e| e.aot_block).collect();
        while let Some(bb) = work.pop() {
            if !seen.insert(bb) {
                continue;
            }
            region.push(bb);
            if bb != cp_block {
                work.extend(successors(bb));
            }
        }
        // Keep AOT order for readability of the IR.
        let order: HashMap<_, _> = blocks(f)
            .into_iter()
            .enumerate()
            .map(|(i, b)| (b, i))
            .collect();
        region.sort_by_key(|b| order[b]);

        unsafe {
            let t = self.t;
            // One stack slot per AOT SSA value the region uses or defines.
            let mut slot_vals: Vec<LLVMValueRef> = Vec::new();
            let mut slot_set = HashSet::new();
            for &bb in &region {
                for i in instrs(bb) {
                    let mut vs = operands(i);
                    vs.push(i);
                    for v in vs {
                        if llvm::is_ssa_value(v) && llvm::is_storable(v) && slot_set.insert(v) {
                            slot_vals.push(v);
                        }
                    }
                }
            }
            let entry = LLVMGetEntryBasicBlock(self.trace_fn);
            LLVMPositionBuilder(self.b.0, entry, LLVMGetFirstInstruction(entry));
            let mut slots = HashMap::new();
            for &v in &slot_vals {
                let s = LLVMBuildAlloca(self.b.0, LLVMTypeOf(v), c"".as_ptr());
                slots.insert(v, s);
            }

            // Region blocks: the "resume at the terminator" block of each
            // region block (exits land there) and its body.
            let mut body_of = HashMap::new();
            let mut term_of = HashMap::new();
            for &bb in &region {
                body_of.insert(bb, self.new_block("cont"));
                term_of.insert(bb, self.new_block("cont_term"));
            }

            // Exits: spill every mapped value the region needs, then resume
            // at the failing block's terminator.
            let exits = std::mem::take(&mut self.exits);
            for e in &exits {
                LLVMPositionBuilderAtEnd(self.b.0, e.block);
                for &v in &slot_vals {
                    if let Some(&m) = e.map.get(&v) {
                        LLVMBuildStore(self.b.0, m, slots[&v]);
                    }
                }
                // After a failed promote guard, the rest of its block (the
                // instructions not yet mapped) runs here.
                for i in instrs(e.aot_block) {
                    if llvm::opcode(i) == LLVMOpcode::LLVMPHI
                        || e.map.contains_key(&i)
                        || is_terminator(i)
                    {
                        continue;
                    }
                    self.region_instr(i, &slots, e.aot_block)?;
                }
                LLVMBuildBr(self.b.0, term_of[&e.aot_block]);
            }

            for &bb in &region {
                // body: phis were stored by predecessors; clone the rest.
                LLVMPositionBuilderAtEnd(self.b.0, body_of[&bb]);
                for i in instrs(bb) {
                    if llvm::opcode(i) == LLVMOpcode::LLVMPHI || is_terminator(i) {
                        continue;
                    }
                    if i == cp_call {
                        // Back at a control point: store its location test.
                        break;
                    }
                    self.region_instr(i, &slots, bb)?;
                }
                if bb == cp_block {
                    // Re-enter the loop if this is the trace's own location.
                    let loc = self.load_operand(LLVMGetOperand(cp_call, 1), &slots)?;
                    let i64t = t.int_ty(64);
                    let addr = LLVMBuildPtrToInt(self.b.0, loc, i64t, c"".as_ptr());
                    let own = LLVMBuildICmp(
                        self.b.0,
                        llvm_sys::LLVMIntPredicate::LLVMIntEQ,
                        addr,
                        LLVMConstInt(i64t, start_loc as u64, 0),
                        c"".as_ptr(),
                    );
                    let out = self.new_block("leave");
                    LLVMBuildCondBr(self.b.0, own, head, out);
                    LLVMPositionBuilderAtEnd(self.b.0, out);
                    LLVMBuildRet(self.b.0, LLVMConstInt(i64t, 0, 0));
                    // The cont_term block of the CP block is unused.
                    LLVMPositionBuilderAtEnd(self.b.0, term_of[&bb]);
                    LLVMBuildUnreachable(self.b.0);
                    continue;
                }
                LLVMBuildBr(self.b.0, term_of[&bb]);
                // terminator: store the successors' phis, then branch.
                LLVMPositionBuilderAtEnd(self.b.0, term_of[&bb]);
                let term = LLVMGetBasicBlockTerminator(bb);
                for s in successors(bb) {
                    for phi in instrs(s)
                        .into_iter()
                        .take_while(|&i| llvm::opcode(i) == LLVMOpcode::LLVMPHI)
                    {
                        if let Some(k) = (0..LLVMCountIncoming(phi))
                            .find(|&k| LLVMGetIncomingBlock(phi, k) == bb)
                        {
                            let v = self.load_operand(LLVMGetIncomingValue(phi, k), &slots)?;
                            LLVMBuildStore(self.b.0, v, slots[&phi]);
                        }
                    }
                }
                match llvm::opcode(term) {
                    LLVMOpcode::LLVMRet => {
                        // The interpreter function returns: hand the value
                        // over in the last field of vars and return 1.
                        if LLVMGetNumOperands(term) == 1 {
                            let v = self.load_operand(LLVMGetOperand(term, 0), &slots)?;
                            let last = LLVMCountStructElementTypes(vars_ty) - 1;
                            let p = self.field_ptr(vars_ty, last);
                            LLVMBuildStore(self.b.0, v, p);
                        }
                        LLVMBuildRet(self.b.0, t.const_int(64, 1));
                    }
                    LLVMOpcode::LLVMBr | LLVMOpcode::LLVMSwitch | LLVMOpcode::LLVMUnreachable => {
                        let mut ops = Vec::new();
                        for o in operands(term) {
                            ops.push(if !LLVMIsABasicBlock(o).is_null() {
                                LLVMBasicBlockAsValue(body_of[&LLVMValueAsBasicBlock(o)])
                            } else {
                                self.load_operand(o, &slots)?
                            });
                        }
                        self.insert_clone(term, ops);
                    }
                    op => return Err(format!("terminator {op:?} on a guard's path")),
                }
            }
        }
        Ok(())
    }

    /// Loads operand `v` for use in the continuation.
    fn load_operand(
        &mut self,
        v: LLVMValueRef,
        slots: &HashMap<LLVMValueRef, LLVMValueRef>,
    ) -> Result<LLVMValueRef, Abort> {
        if let Some(&s) = slots.get(&v) {
            return Ok(unsafe { LLVMBuildLoad2(self.b.0, LLVMTypeOf(v), s, c"".as_ptr()) });
        }
        // Constants, globals, blocks: as on the trace.
        let saved = std::mem::take(&mut self.map);
        let r = self.operand(v);
        self.map = saved;
        r
    }

    /// Copies a non-phi, non-terminator instruction into the continuation.
    fn region_instr(
        &mut self,
        i: LLVMValueRef,
        slots: &HashMap<LLVMValueRef, LLVMValueRef>,
        _bb: LLVMBasicBlockRef,
    ) -> Result<(), Abort> {
        unsafe {
            if llvm::opcode(i) == LLVMOpcode::LLVMCall {
                let name = callee_name(i).ok_or("inline asm on a guard's path")?;
                if name.starts_with("llvm.lifetime.") {
                    return Ok(());
                }
                if name == PROMOTE || name == "yk_is_interpreting" {
                    let v = if name == PROMOTE {
                        self.load_operand(LLVMGetOperand(i, 0), slots)?
                    } else {
                        LLVMConstInt(LLVMTypeOf(i), 1, 0)
                    };
                    LLVMBuildStore(self.b.0, v, slots[&i]);
                    return Ok(());
                }
                if name == RT_CP {
                    return Ok(());
                }
            }
            if llvm::opcode(i) == LLVMOpcode::LLVMAlloca {
                return Err("alloca on a guard's path".into());
            }
            let mut ops = Vec::new();
            for o in operands(i) {
                ops.push(self.load_operand(o, slots)?);
            }
            let c = self.insert_clone(i, ops);
            if let Some(&s) = slots.get(&i) {
                LLVMBuildStore(self.b.0, c, s);
            }
        }
        Ok(())
    }
}

/// The name of the function call `i` calls directly ("" for a call through
/// a pointer), or `None` for inline asm.
fn callee_name(i: LLVMValueRef) -> Option<String> {
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

fn is_terminator(i: LLVMValueRef) -> bool {
    unsafe { !LLVMIsATerminatorInst(i).is_null() }
}

/// `(field index, value)` of each store into the vars struct just before the
/// control point.
fn vars_fields(cp_block: LLVMBasicBlockRef, aot_vars: LLVMValueRef) -> Vec<(u32, LLVMValueRef)> {
    let mut out = Vec::new();
    for i in instrs(cp_block) {
        if llvm::opcode(i) != LLVMOpcode::LLVMStore {
            continue;
        }
        unsafe {
            let ptr = LLVMGetOperand(i, 1);
            if LLVMIsAGetElementPtrInst(ptr).is_null() || LLVMGetOperand(ptr, 0) != aot_vars {
                continue;
            }
            let field = LLVMGetOperand(ptr, 2);
            out.push((LLVMConstIntGetZExtValue(field) as u32, LLVMGetOperand(i, 0)));
        }
    }
    out
}

/// Does constant `c` (transitively) mention a global value?
fn refers_to_globals(c: LLVMValueRef) -> bool {
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
fn check_operands(f: LLVMValueRef) -> Result<(), Abort> {
    for bb in blocks(f) {
        for i in instrs(bb) {
            for (k, o) in operands(i).into_iter().enumerate() {
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
                        return Err(format!(
                            "internal error: operand {k} of a {:?} in the trace refers outside it",
                            llvm::opcode(i)
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}
