//! `check_trace`: does a recording follow the control flow of the AOT IR?
//!
//! A debugging and testing aid for the tracer and the rewriter's instrumentation:
//! every consecutive pair of recorded blocks must be explained by one of
//!
//! - a CFG edge of the current function (block 0 is never a successor);
//! - a call: block 0 of a function the current block calls directly, or of any
//!   function when the block makes an indirect call or calls uninstrumented code
//!   (a declaration or a `yk_outline` function) that may call back into
//!   instrumented code;
//! - a return: the current block ends in `ret`, so execution resumes, unrecorded,
//!   in the caller's block that made the call; the next recorded block is then a
//!   successor of that block or a further call from it (or, if that block also
//!   returns, the same again one frame up).
//!
//! A call stack is kept for the returns. Returning past the first recorded frame
//! (the interpreter function returning) goes to an unknown caller and is accepted:
//! the recorder can legitimately record that, and the trace builder decides what
//! to do with it. Where a step has several explanations the checker takes the
//! first one in the order above; that is exact for everything but contrived
//! recursion.

use super::{AotIndex, Callee};
use std::fmt;

/// Why a recording is not a path through the AOT IR's control flow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckError {
    /// Recorded block `index` (named `block`, `function:block`) is not in
    /// the module.
    NoSuchBlock {
        /// Its position in the recording.
        index: usize,
        /// `function:block`.
        block: String,
    },
    /// The step from recorded block `index` to the next is not explained.
    BadStep {
        /// The position of the step's first block in the recording.
        index: usize,
        /// The first block, `function:block`.
        from: String,
        /// The second block, `function:block`.
        to: String,
        /// Why not.
        why: StepError,
    },
}

/// Why one step of a recording is not explained by the control flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepError {
    /// The second block is not a successor, the entry of a function the
    /// first calls, or where a return from the first leads.
    Unexplained,
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepError::Unexplained => {
                f.write_str("neither a successor, a callee's entry, nor a return")
            }
        }
    }
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckError::NoSuchBlock { index, block } => {
                write!(f, "block {index} ({block}) does not exist in the AOT IR")
            }
            CheckError::BadStep {
                index,
                from,
                to,
                why,
            } => write!(f, "step {index} -> {}: {from} -> {to}: {why}", index + 1),
        }
    }
}

impl std::error::Error for CheckError {}

/// Check that `blocks` (a recording: `(function index, block index)` pairs) is a
/// path through `index`'s control flow. The error names the first bad step.
pub fn check_trace(index: &AotIndex, blocks: &[(u32, u32)]) -> Result<(), CheckError> {
    let name = |(f, b): (u32, u32)| match index.func(f) {
        Some(func) => format!("{}:{b}", func.name),
        None => format!("<function {f}>:{b}"),
    };
    for (i, &(f, b)) in blocks.iter().enumerate() {
        if index.block(f, b).is_none() {
            return Err(CheckError::NoSuchBlock {
                index: i,
                block: name((f, b)),
            });
        }
    }
    let mut stack = Vec::new();
    for (i, w) in blocks.windows(2).enumerate() {
        step(index, &mut stack, w[0], w[1]).map_err(|why| CheckError::BadStep {
            index: i,
            from: name(w[0]),
            to: name(w[1]),
            why,
        })?;
    }
    Ok(())
}

fn step(
    index: &AotIndex,
    stack: &mut Vec<(u32, u32)>,
    from: (u32, u32),
    to: (u32, u32),
) -> Result<(), StepError> {
    if within(index, stack, from, to) {
        return Ok(());
    }
    let mut cur = from;
    loop {
        if !index.block(cur.0, cur.1).unwrap().returns {
            return Err(StepError::Unexplained);
        }
        match stack.pop() {
            None => return Ok(()),
            Some(caller) => {
                if within(index, stack, caller, to) {
                    return Ok(());
                }
                cur = caller;
            }
        }
    }
}

/// Can execution go from (inside) block `at` to `to` by a CFG edge or a call? A
/// call pushes `at` as the return point.
fn within(index: &AotIndex, stack: &mut Vec<(u32, u32)>, at: (u32, u32), to: (u32, u32)) -> bool {
    let block = index.block(at.0, at.1).unwrap();
    if to.0 == at.0 && to.1 != 0 && block.succs.contains(&to.1) {
        return true;
    }
    if to.1 == 0 && can_call(index, &block.calls, to.0) {
        stack.push(at);
        return true;
    }
    false
}

fn can_call(index: &AotIndex, calls: &[Callee], callee: u32) -> bool {
    calls.iter().any(|c| match *c {
        Callee::Indirect => true,
        Callee::Direct(g) => {
            g == callee
                || index
                    .func(g)
                    .is_some_and(|g| !g.is_intrinsic && (g.is_decl || g.outline))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aotir::{AotIndex, BlockInfo, Callee};

    /// Functions: 0 `ext` (declaration), 1 `leaf`, 2 `main`, 3 `other`, 4 `llvm.dbg`
    /// style intrinsic, 5 `outl` (yk_outline), 6 `idem` (yk_idempotent), 7 `wrap`
    /// (calls `other`, returns), 8 `top` (calls `wrap`).
    const IR: &str = r#"
declare void @ext()

define i32 @leaf(i1 %c) {
entry:
  br i1 %c, label %a, label %b
a:
  ret i32 1
b:
  ret i32 2
}

define void @main(i1 %c, ptr %fp) {
  br label %loop
loop:
  %x = call i32 @leaf(i1 %c)
  %y = call i32 @leaf(i1 %c)
  call void asm sideeffect "", ""()
  br i1 %c, label %body, label %exit
body:
  call void %fp()
  call void @ext()
  call void @llvm.donothing()
  switch i32 %x, label %loop [ i32 0, label %loop
                               i32 1, label %exit ]
exit:
  ret void
}

define void @other() {
  ret void
}

declare void @llvm.donothing()

define void @outl() {
  call void @llvm.donothing()
  ret void
}

define i32 @idem(i32 %x) {
  ret i32 %x
}

define void @wrap() {
  call void @other()
  ret void
}

define void @top() {
  call void @wrap()
  br label %b1
b1:
  ret void
}

@.s1 = private constant [11 x i8] c"yk_outline\00"
@.s2 = private constant [14 x i8] c"yk_idempotent\00"
@llvm.global.annotations = appending global [2 x { ptr, ptr, ptr, i32, ptr }] [
  { ptr, ptr, ptr, i32, ptr } { ptr @outl, ptr @.s1, ptr null, i32 0, ptr null },
  { ptr, ptr, ptr, i32, ptr } { ptr @idem, ptr @.s2, ptr null, i32 0, ptr null }]
"#;

    /// The index of `IR`, read by the LLVM side (`crate::testutil`).
    fn index() -> AotIndex {
        crate::testutil::index_of(IR)
    }

    #[test]
    fn index_contents() {
        let idx = index();
        let names: Vec<_> = idx.funcs.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "ext",
                "leaf",
                "main",
                "other",
                "llvm.donothing",
                "outl",
                "idem",
                "wrap",
                "top"
            ]
        );
        assert_eq!(idx.func_idx("main"), Some(2));
        assert_eq!(idx.nglobals, 3);
        let ext = &idx.funcs[0];
        assert!(ext.is_decl && !ext.is_intrinsic && ext.blocks.is_empty());
        assert!(idx.funcs[4].is_intrinsic && idx.funcs[4].is_decl);
        assert!(idx.funcs[5].outline && !idx.funcs[5].idempotent);
        assert!(idx.funcs[6].idempotent && !idx.funcs[6].outline);
        assert!(!idx.funcs[2].outline);
        let leaf = &idx.funcs[1];
        assert_eq!(leaf.blocks[0].name.as_deref(), Some("entry"));
        assert_eq!(leaf.blocks[0].succs, [1, 2]);
        assert!(leaf.blocks[1].returns && leaf.blocks[1].succs.is_empty());
        let main = &idx.funcs[2];
        assert_eq!(main.blocks.len(), 4);
        assert_eq!(main.blocks[0].name, None);
        assert_eq!(
            main.blocks[1],
            BlockInfo {
                name: Some("loop".into()),
                succs: vec![2, 3],
                calls: vec![Callee::Direct(1), Callee::Direct(1)],
                returns: false,
            }
        );
        assert_eq!(
            main.blocks[2].calls,
            [Callee::Indirect, Callee::Direct(0), Callee::Direct(4)]
        );
        // The switch names `loop` twice: successors are deduplicated.
        assert_eq!(main.blocks[2].succs, [1, 3]);
        assert_eq!(main.direct_callees(2).collect::<Vec<_>>(), [0, 4]);
        assert!(main.blocks[3].returns);
    }

    #[test]
    fn good_traces() {
        let idx = index();
        let ok = |t: &[(u32, u32)]| check_trace(&idx, t).unwrap();
        ok(&[]);
        ok(&[(2, 1)]);
        // Two calls from one block, a return into a successor, an indirect call, a
        // callback via a declaration, and the loop closing.
        ok(&[
            (2, 1),
            (1, 0),
            (1, 1),
            (1, 0),
            (1, 2),
            (2, 2),
            (3, 0),
            (5, 0),
            (2, 1),
        ]);
        // Returning past the first frame goes to an unknown caller.
        ok(&[(2, 1), (2, 3), (3, 0)]);
        // A chain of returns: other returns into wrap:0, which returns too, into
        // top:0, whose successor comes next.
        ok(&[(8, 0), (7, 0), (3, 0), (8, 1)]);
    }

    #[test]
    fn bad_traces() {
        let idx = index();
        let bad = |t: &[(u32, u32)], msg: &str| {
            let e = check_trace(&idx, t).unwrap_err().to_string();
            assert!(e.contains(msg), "{e}");
        };
        // Not a successor.
        bad(&[(2, 0), (2, 2)], "step 0 -> 1: main:0 -> main:2");
        // Block 0 of a function main:1 does not call.
        bad(&[(2, 1), (3, 0)], "main:1 -> other:0");
        bad(&[(2, 1), (2, 0)], "main:1 -> main:0");
        // After leaf returns into main:1, leaf:1 can't follow.
        bad(
            &[(2, 1), (1, 0), (1, 1), (1, 1)],
            "step 2 -> 3: leaf:1 -> leaf:1",
        );
        // Blocks that don't exist.
        bad(&[(2, 1), (9, 0)], "block 1 (<function 9>:0) does not exist");
        bad(&[(2, 7)], "block 0 (main:7) does not exist");
        bad(&[(0, 0)], "ext:0");
    }
}
