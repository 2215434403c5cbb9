//! The native tier 0: a trace's first compilation by the project's own
//! x86-64 code generator (`yk-x64`) instead of LLVM's `-O0`.
//!
//! Owns [`Syms`] (the AOT symbols a trace refers to, resolved while the
//! AOT module is at hand, for `x64::compile`) and [`enabled`] (the policy).
//! Invariants: the plan is the trace's layout (`tirb::lower::layout`), the
//! one the LLVM lowering also follows (same slots, same stores, same ends),
//! so the guards' infos (`GuardInfo`, `GuardSrc`) describe the native code,
//! and the trace's recompilation by LLVM keeps its guards' numbers and
//! slots; a trace the code generator can't compile (`x64::Error`) is
//! compiled by LLVM at `-O0` as before, never aborted for it.

use rustc_hash::FxHashMap as HashMap;
use tir::{Operand, Sym};

/// An AOT function as a native callee.
#[derive(Clone, Debug)]
pub enum Func {
    /// A function of the binary: its address and its parameters' extension
    /// attributes.
    Addr(u64, Vec<x64::Ext>),
    /// An LLVM intrinsic, by name.
    Intrinsic(String),
    /// No address (the code generator is told, and gives up).
    Missing,
}

/// The AOT symbols of one trace, resolved while the AOT module is at hand.
#[derive(Default)]
pub struct Syms {
    funcs: HashMap<u32, Func>,
    globals: HashMap<u32, u64>,
}

impl x64::Symbols for Syms {
    fn func(&self, n: u32) -> Result<x64::Callee, x64::Error> {
        match self.funcs.get(&n) {
            Some(Func::Addr(a, ext)) => Ok(x64::Callee::Addr {
                addr: *a,
                arg_ext: ext.clone(),
            }),
            Some(Func::Intrinsic(name)) => Ok(x64::Callee::Intrinsic(name.clone())),
            _ => Err(x64::Error::Unsupported(format!(
                "function {n} has no address"
            ))),
        }
    }

    fn global(&self, n: u32) -> Result<u64, x64::Error> {
        self.globals
            .get(&n)
            .copied()
            .ok_or_else(|| x64::Error::Unsupported(format!("global {n} has no address")))
    }
}

impl Syms {
    /// Resolves every symbol `t` and `plan` mention: `funcs` and `globals`
    /// are the AOT module's tables (by index), whose addresses come from
    /// the binary's address tables.
    pub fn resolve(
        t: &tir::Trace,
        plan: &x64::Plan,
        funcs: &[llvm_sys::prelude::LLVMValueRef],
    ) -> Syms {
        let mut s = Syms::default();
        let Some(info) = crate::aot::info() else {
            return s;
        };
        let see = |o: Operand, s: &mut Syms| match o {
            Operand::Const(tir::Const::Sym(Sym::Func(n))) if !s.funcs.contains_key(&n) => {
                let f = match funcs.get(n as usize) {
                    Some(&v) => {
                        let name = yk_llvm::name(v);
                        if name.starts_with("llvm.") {
                            Func::Intrinsic(name)
                        } else {
                            match info.funcs().get(n as usize) {
                                Some(a) if !a.is_null() => Func::Addr(*a as u64, arg_ext(v)),
                                _ => Func::Missing,
                            }
                        }
                    }
                    None => Func::Missing,
                };
                s.funcs.insert(n, f);
            }
            Operand::Const(tir::Const::Sym(Sym::Global(n))) if !s.globals.contains_key(&n) => {
                if let Some(a) = info.globals().get(n as usize).filter(|a| !a.is_null()) {
                    s.globals.insert(n, *a as u64);
                }
            }
            _ => {}
        };
        for inst in &t.body {
            for o in inst.operands() {
                see(o, &mut s);
            }
        }
        for (_, stores) in &plan.exits {
            for &(o, _) in stores {
                see(o, &mut s);
            }
        }
        for &(_, o) in &plan.end_stores {
            see(o, &mut s);
        }
        if let Some(o) = plan.end_loc {
            see(o, &mut s);
        }
        s
    }
}

/// The `signext`/`zeroext` attributes of `f`'s parameters.
fn arg_ext(f: llvm_sys::prelude::LLVMValueRef) -> Vec<x64::Ext> {
    use llvm_sys::core::*;
    // SAFETY: `f` is a live function of the generation's AOT module (the
    // caller holds the compiler's lock, yk-llvm rules 2 and 4); the names
    // are NUL-free and their lengths passed.
    unsafe {
        let sext = LLVMGetEnumAttributeKindForName(c"signext".as_ptr(), 7);
        let zext = LLVMGetEnumAttributeKindForName(c"zeroext".as_ptr(), 7);
        (0..LLVMCountParams(f))
            .map(|i| {
                if !LLVMGetEnumAttributeAtIndex(f, i + 1, sext).is_null() {
                    x64::Ext::Sign
                } else if !LLVMGetEnumAttributeAtIndex(f, i + 1, zext).is_null() {
                    x64::Ext::Zero
                } else {
                    x64::Ext::None
                }
            })
            .collect()
    }
}

/// Whether tier 0 is native: by default for traces that would have no
/// line tables at tier 0 anyway (no debugger attached, no perf jitdump: see
/// `dbg::strip_lines`), since the native code has none yet;
/// `YKD_NATIVE=0` never, `YKD_NATIVE=1` always (read once).
pub fn enabled() -> bool {
    static MODE: std::sync::OnceLock<Option<bool>> = std::sync::OnceLock::new();
    let mode = *MODE.get_or_init(|| match std::env::var("YKD_NATIVE").as_deref() {
        Ok("0") => Some(false),
        Ok("1") => Some(true),
        _ => None,
    });
    mode.unwrap_or_else(super::dbg::strip_lines)
}
