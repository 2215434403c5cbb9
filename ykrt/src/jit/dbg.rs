//! Debug info for traces: line tables that map a trace's machine code back
//! to the interpreter's own source lines, for gdb and perf.
//!
//! The trace function gets a `DISubprogram` of its own (in a line-tables-only
//! `DICompileUnit` of the trace module, whose file is the interpreter
//! function's). Every instruction copied from the AOT IR gets its AOT
//! `DILocation` rebuilt as if the frame it was copied in had been inlined
//! into the trace: same line, column and scope, with an `inlinedAt` chain
//! that ends in the trace's subprogram. Frame 0 (the interpreter function) is
//! "inlined" at the trace's root location (the control point's line), a callee
//! at the rebuilt location of its frame's call, and an AOT location that
//! clang's own inlining gave a chain gets that chain rebuilt with the frame's
//! location at its end. gdb then shows a trace's frame as the interpreter
//! function (and its inlined callees) at the interpreter's lines, inside
//! `__yk_trace_<n>` at the control point's line.
//!
//! The AOT module and the traces share one LLVM context, so the AOT scopes
//! (subprograms, lexical blocks) are used as they are: the trace module lists
//! the AOT compile units in its `llvm.dbg.cu`, as the verifier requires of
//! every compile unit its debug info reaches.
//!
//! Line tables cost about a quarter of a trace's code generation (and half
//! of stitching side traces into a recompiled root), so by default a trace
//! is compiled without them, at tier 0 and when recompiled once hot, unless
//! a debugger is attached to the process or perf's jitdump is on when it is
//! compiled ([`strip_lines`]). `YKD_TRACE_DEBUGINFO=1` gives every trace
//! line tables, `0` none (see docs/trace-compiler.md).

use llvm_sys::core::*;
use llvm_sys::debuginfo::*;
use llvm_sys::prelude::*;
use rustc_hash::FxHashMap as HashMap;
use std::sync::OnceLock;
use yk_llvm::Module;

/// The DWARF version of traces: 4 rather than clang's default 5, as every
/// consumer of JIT code (gdb's JIT interface, perf's jitdump debug records)
/// handles it and it needs no `.debug_addr`/`.debug_str_offsets` sections.
const DWARF_VERSION: u64 = 4;

/// Which traces get line tables (`YKD_TRACE_DEBUGINFO`; read once).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lines {
    /// `1`: every trace.
    All,
    /// Unset (or anything but `0` and `1`): traces compiled while a
    /// debugger or perf's jitdump watches.
    Hot,
    /// `0`: none.
    Off,
}

fn lines() -> Lines {
    static L: OnceLock<Lines> = OnceLock::new();
    *L.get_or_init(|| match std::env::var("YKD_TRACE_DEBUGINFO").as_deref() {
        Ok("0") => Lines::Off,
        Ok("1") => Lines::All,
        _ => Lines::Hot,
    })
}

/// Are traces built with debug info? (Unless `YKD_TRACE_DEBUGINFO=0`.)
pub fn enabled() -> bool {
    lines() != Lines::Off
}

/// Is a trace compiled (at tier 0, or recompiled once hot) stripped of its
/// line tables? With the default setting, yes unless a debugger is
/// attached (gdb stepping into a trace sees the interpreter's lines) or
/// perf's jitdump is on ([`perf_jitdump`]), checked at each compilation.
/// (With `YKD_TRACE_DEBUGINFO=0` there is nothing to strip.)
pub fn strip_lines() -> bool {
    lines() == Lines::Hot && !perf_jitdump() && !being_debugged()
}

/// Does LLVM's perf listener write a jitdump file (`YKD_PERF_JITDUMP` set;
/// read once)?
pub fn perf_jitdump() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("YKD_PERF_JITDUMP").is_some())
}

/// Is a tracer (a debugger) attached to this process? (Linux's
/// `TracerPid` in `/proc/self/status`; checked at each tier-0 compile, as a
/// debugger may attach at any time: about 20 us against milliseconds.)
fn being_debugged() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("TracerPid:"))
            .is_some_and(|v| v.trim() != "0")
    })
}

/// Removes `m`'s debug info (see [`strip_lines`]).
pub fn strip(m: &Module) {
    // SAFETY: `m` is a module we own, not being compiled.
    unsafe {
        LLVMStripModuleDebugInfo(m.m);
    }
}

/// Sets LLVM up for traces with debug info, once per process (before the
/// first trace is compiled). Traces have line tables but no variables, yet
/// LLVM's default (instruction-referencing) variable-location analysis still
/// tracks every value of every block: on a trace of some thousand
/// instructions that is about a tenth of code generation. Its older
/// implementation, chosen here, costs next to nothing without variables.
/// (This is a process-wide LLVM option; it changes no generated code of a
/// module without variables, and only where variables are described, for
/// anyone else using this process's LLVM.)
pub fn configure_llvm() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let mut opts = vec![c"yk".to_owned()];
        if enabled() {
            opts.push(c"-experimental-debug-variable-locations=false".to_owned());
        }
        // `YKD_LLVM_ARGS`: more LLVM options, for measuring (e.g. code
        // generation settings).
        if let Ok(extra) = std::env::var("YKD_LLVM_ARGS") {
            opts.extend(
                extra
                    .split_whitespace()
                    .filter_map(|a| std::ffi::CString::new(a).ok()),
            );
        }
        if opts.len() == 1 {
            return;
        }
        let args: Vec<_> = opts.iter().map(|a| a.as_ptr()).collect();
        // SAFETY: LLVM only reads the arguments; an unknown option (a future
        // LLVM) is reported and ignored, not fatal.
        unsafe {
            llvm_sys::support::LLVMParseCommandLineOptions(
                args.len() as i32,
                args.as_ptr(),
                c"yk trace compiler".as_ptr(),
            )
        };
    });
}

/// The debug info of one trace being built.
pub struct TraceDbg {
    ctx: LLVMContextRef,
    /// Where frame 0 is "inlined": the control point's line in the trace's
    /// subprogram.
    root: LLVMMetadataRef,
    /// Line 0 of the trace's subprogram: for code of the trace's own (entry,
    /// loop closing) that stands for no AOT instruction.
    line0: LLVMMetadataRef,
    /// `(AOT location, inlined-at target) -> rebuilt location`.
    cache: HashMap<(LLVMMetadataRef, LLVMMetadataRef), LLVMMetadataRef>,
}

impl TraceDbg {
    /// Sets up the debug info of trace function `f` (named `name`) in module
    /// `t`, whose frame 0 is the AOT function `cp_fn` holding the control
    /// point call `cp_call`. `None` when it is turned off or the AOT module
    /// has no debug info (nothing to map to).
    pub fn new(
        t: &Module,
        aot: &Module,
        f: LLVMValueRef,
        name: &str,
        cp_fn: LLVMValueRef,
        cp_call: LLVMValueRef,
    ) -> Option<TraceDbg> {
        const CUS: &std::ffi::CStr = c"llvm.dbg.cu";
        if !enabled() {
            return None;
        }
        // SAFETY: `t` and `aot` are live modules of one context (the
        // generation's, yk-llvm rule 2), `f` a function of `t`, `cp_fn` a
        // function of `aot` and `cp_call` its control-point call. `cus` has
        // room for the `n` operands just counted; the compile units are context
        // metadata, valid in `t` too; names and strings are passed with their
        // lengths and outlive the calls; `aot_sp`'s file is read only for a
        // subprogram (a null file is named `<unknown file>`); the DI builder is
        // made on `t.m`, finalized and disposed once, and the locations are
        // made in `t.ctx`.
        unsafe {
            let n = LLVMGetNamedMetadataNumOperands(aot.m, CUS.as_ptr());
            if n == 0 {
                return None;
            }
            // The AOT compile units the copied scopes belong to.
            let mut cus = vec![std::ptr::null_mut(); n as usize];
            LLVMGetNamedMetadataOperands(aot.m, CUS.as_ptr(), cus.as_mut_ptr());
            for cu in cus {
                LLVMAddNamedMetadataOperand(t.m, CUS.as_ptr(), cu);
            }
            let flag = |key: &str, behaviour, v: u64| {
                let md = LLVMValueAsMetadata(t.const_int(32, v));
                LLVMAddModuleFlag(t.m, behaviour, key.as_ptr().cast(), key.len(), md);
            };
            flag(
                "Debug Info Version",
                llvm_sys::LLVMModuleFlagBehavior::LLVMModuleFlagBehaviorWarning,
                LLVMDebugMetadataVersion() as u64,
            );
            // (The behaviour only matters when modules are linked, which
            // traces never are.)
            flag(
                "Dwarf Version",
                llvm_sys::LLVMModuleFlagBehavior::LLVMModuleFlagBehaviorWarning,
                DWARF_VERSION,
            );

            // The trace's file is the interpreter function's: gdb shows the
            // trace's own frame at the control point's line of that file.
            let aot_sp = LLVMGetSubprogram(cp_fn);
            let (fname, dir) = if aot_sp.is_null() {
                ("<yk trace>".to_owned(), String::new())
            } else {
                yk_llvm::di_file_name(LLVMDIScopeGetFile(aot_sp))
            };
            let cp_loc = LLVMInstructionGetDebugLoc(cp_call);
            let line = if !cp_loc.is_null() {
                LLVMDILocationGetLine(cp_loc)
            } else if !aot_sp.is_null() {
                LLVMDISubprogramGetLine(aot_sp)
            } else {
                0
            };

            let db = LLVMCreateDIBuilder(t.m);
            let file = LLVMDIBuilderCreateFile(
                db,
                fname.as_ptr().cast(),
                fname.len(),
                dir.as_ptr().cast(),
                dir.len(),
            );
            let producer = "yk trace compiler";
            LLVMDIBuilderCreateCompileUnit(
                db,
                LLVMDWARFSourceLanguage::LLVMDWARFSourceLanguageC,
                file,
                producer.as_ptr().cast(),
                producer.len(),
                1, // optimised
                c"".as_ptr(),
                0,
                0,
                c"".as_ptr(),
                0,
                LLVMDWARFEmissionKind::LLVMDWARFEmissionKindLineTablesOnly,
                0,
                0,
                0,
                c"".as_ptr(),
                0,
                c"".as_ptr(),
                0,
            );
            let ty = LLVMDIBuilderCreateSubroutineType(
                db,
                file,
                std::ptr::null_mut(),
                0,
                LLVMDIFlagZero,
            );
            let sp = LLVMDIBuilderCreateFunction(
                db,
                file,
                name.as_ptr().cast(),
                name.len(),
                name.as_ptr().cast(),
                name.len(),
                file,
                line,
                ty,
                0, // not local to the unit: gdb names it like a global function
                1, // a definition
                line,
                LLVMDIFlagZero,
                1, // optimised
            );
            LLVMSetSubprogram(f, sp);
            LLVMDIBuilderFinalize(db);
            LLVMDisposeDIBuilder(db);
            let root = LLVMDIBuilderCreateDebugLocation(t.ctx, line, 0, sp, std::ptr::null_mut());
            let line0 = LLVMDIBuilderCreateDebugLocation(t.ctx, 0, 0, sp, std::ptr::null_mut());
            Some(TraceDbg {
                ctx: t.ctx,
                root,
                line0,
                cache: HashMap::default(),
            })
        }
    }

    /// Where frame 0 is inlined (its [`Self::frame_at`] target).
    pub fn root(&self) -> LLVMMetadataRef {
        self.root
    }

    /// Line 0 of the trace's subprogram.
    pub fn line0(&self) -> LLVMMetadataRef {
        self.line0
    }

    /// AOT location `loc` in a frame inlined at `at`: the same position,
    /// its `inlinedAt` chain (if any) rebuilt to end in `at`.
    fn rebuild(&mut self, loc: LLVMMetadataRef, at: LLVMMetadataRef) -> LLVMMetadataRef {
        if let Some(&l) = self.cache.get(&(loc, at)) {
            return l;
        }
        // SAFETY: `loc` is a `DILocation` of the context `self.ctx` (an AOT
        // location, or one of its `inlinedAt` chain), which outlives this
        // `TraceDbg` (yk-llvm rule 2: the trace module's context); `at` and the
        // rebuilt chain are locations of that context too.
        unsafe {
            let ia = LLVMDILocationGetInlinedAt(loc);
            let ia = if ia.is_null() {
                at
            } else {
                self.rebuild(ia, at)
            };
            let l = LLVMDIBuilderCreateDebugLocation(
                self.ctx,
                LLVMDILocationGetLine(loc),
                LLVMDILocationGetColumn(loc),
                LLVMDILocationGetScope(loc),
                ia,
            );
            self.cache.insert((loc, at), l);
            l
        }
    }

    /// The trace location of an instruction whose AOT location is `loc`
    /// (null if none) in a frame inlined at `at` (see `walk::DbgLoc`).
    pub fn resolve(&mut self, (loc, at): (LLVMMetadataRef, LLVMMetadataRef)) -> LLVMMetadataRef {
        if loc.is_null() {
            at
        } else {
            self.rebuild(loc, at)
        }
    }

    /// The trace location of AOT instruction `i` of a frame inlined at `at`.
    /// An instruction without a location (a function compiled without `-g`)
    /// gets `at` itself, as LLVM's inliner does: the call site's line.
    pub fn loc_of(&mut self, i: LLVMValueRef, at: LLVMMetadataRef) -> LLVMMetadataRef {
        // SAFETY: `i` is a live instruction of the embedded module (yk-llvm
        // rules 2 and 3).
        let loc = unsafe { LLVMInstructionGetDebugLoc(i) };
        self.resolve((loc, at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yk_llvm::{blocks, instrs};

    /// `f` holds the "control point" (the first call, line 2) and a call
    /// that clang inlined from `g` (line 21, inlined at line 3 of `f`).
    const AOT: &str = r#"
declare void @h()

define void @f() !dbg !5 {
  call void @h(), !dbg !11
  call void @h(), !dbg !10
  ret void, !dbg !9
}

!llvm.dbg.cu = !{!0}
!llvm.module.flags = !{!3, !4}
!0 = distinct !DICompileUnit(language: DW_LANG_C11, file: !1, emissionKind: LineTablesOnly)
!1 = !DIFile(filename: "interp.c", directory: "/src")
!3 = !{i32 2, !"Debug Info Version", i32 3}
!4 = !{i32 7, !"Dwarf Version", i32 5}
!5 = distinct !DISubprogram(name: "f", scope: !1, file: !1, line: 1, type: !6, scopeLine: 1, spFlags: DISPFlagDefinition, unit: !0)
!6 = !DISubroutineType(types: !7)
!7 = !{}
!8 = distinct !DISubprogram(name: "g", scope: !1, file: !1, line: 20, type: !6, scopeLine: 20, spFlags: DISPFlagDefinition, unit: !0)
!9 = !DILocation(line: 4, scope: !5)
!10 = !DILocation(line: 21, column: 7, scope: !8, inlinedAt: !12)
!11 = !DILocation(line: 2, column: 3, scope: !5)
!12 = !DILocation(line: 3, column: 5, scope: !5)
"#;

    /// `(line, column)` of each location of `loc`'s inlinedAt chain,
    /// innermost first, and the scope of the last.
    fn chain(mut loc: LLVMMetadataRef) -> (Vec<(u32, u32)>, LLVMMetadataRef) {
        let mut v = Vec::new();
        loop {
            // SAFETY: test code: `loc` is a `DILocation` of the live test
            // modules' context, as is each `inlinedAt` location of its chain.
            unsafe {
                v.push((LLVMDILocationGetLine(loc), LLVMDILocationGetColumn(loc)));
                let ia = LLVMDILocationGetInlinedAt(loc);
                if ia.is_null() {
                    return (v, LLVMDILocationGetScope(loc));
                }
                loc = ia;
            }
        }
    }

    #[test]
    fn locations_are_inlined_into_the_trace() {
        let aot = Module::parse_ir(AOT).unwrap();
        let t = Module::new_in(aot.ctx, "t");
        let f = aot.function("f").unwrap();
        let is = instrs(blocks(f)[0]);
        // SAFETY: test code: `aot` and `t` are live modules of one context and
        // every handle used is made in, or read from, them; the builder inserts
        // into `tf`'s new block.
        unsafe {
            let fty = LLVMFunctionType(t.void_ty(), std::ptr::null_mut(), 0, 0);
            let tf = LLVMAddFunction(t.m, c"__yk_trace_t".as_ptr(), fty);
            let mut d = TraceDbg::new(&t, &aot, tf, "__yk_trace_t", f, is[0]).unwrap();
            let sp = LLVMGetSubprogram(tf);
            assert!(!sp.is_null());
            // The trace is at the control point's line, in its own subprogram.
            assert_eq!(chain(d.root()), (vec![(2, 0)], sp));
            // Frame 0's own location, and one with clang's inlinedAt chain.
            let l = d.loc_of(is[2], d.root());
            assert_eq!(chain(l), (vec![(4, 0), (2, 0)], sp));
            let l = d.loc_of(is[1], d.root());
            assert_eq!(chain(l), (vec![(21, 7), (3, 5), (2, 0)], sp));
            // A frame the builder inlined at the call `is[1]` (`f` again, say).
            let at = d.loc_of(is[1], d.root());
            let l = d.loc_of(is[1], at);
            assert_eq!(
                chain(l),
                (vec![(21, 7), (3, 5), (21, 7), (3, 5), (2, 0)], sp)
            );
            // Rebuilt locations are valid in the trace module.
            let b = t.builder();
            let bb = LLVMAppendBasicBlockInContext(t.ctx, tf, c"".as_ptr());
            LLVMPositionBuilderAtEnd(b.0, bb);
            LLVMSetCurrentDebugLocation2(b.0, l);
            let callee = t.get_or_declare("h", fty);
            LLVMBuildCall2(b.0, fty, callee, std::ptr::null_mut(), 0, c"".as_ptr());
            LLVMSetCurrentDebugLocation2(b.0, d.line0());
            LLVMBuildRetVoid(b.0);
            t.verify().unwrap();
            // Tier 0 compiles a stripped module; what is kept for the
            // recompilation (bitcode written before the strip, modelled
            // here by a copy) keeps the line tables.
            let kept = t.copy();
            strip(&t);
            t.verify().unwrap();
            assert!(LLVMGetSubprogram(tf).is_null());
            assert!(!t.to_text().contains("!DILocation"));
            let ktf = kept.function("__yk_trace_t").unwrap();
            assert!(!LLVMGetSubprogram(ktf).is_null());
            assert!(kept.to_text().contains("!DILocation(line: 21, column: 7"));
        }
    }

    #[test]
    fn no_debugger_in_a_test_run() {
        // (Run under gdb, this test fails: that is the point of the check.)
        assert!(!being_debugged());
    }
}
