// Run-time:
//   env-var: YKD_LOG=3
//   env-var: YKD_NATIVE=0
//   env-var: YKD_TIER_UP=20000
//   env-var: YK_HOT_THRESHOLD=3
//   env-var: YK_SIDETRACE_THRESHOLD=2
//   env-var: YKD_LOG_STATS=-
//   stderr:
//     yk-jit-event: start-tracing
//     yk-jit-event: stop-tracing
//     yk-jit-event: trace-compiled
//     ...
//     yk-jit-event: side-trace-compiled
//     ...
//     yk-jit-event: start-tracing
//     yk-jit-event: stop-tracing
//     yk-jit-event: trace-compiled
//     ...
//       "traces_compiled_ok": 2,
//       "traces_compiled_err": 0,
//       "trace_executions": 81,
//       "guard_failures": 5,
//       "side_traces_compiled": 2,
//       "traces_re_recorded": 0,
//       "trace_jumps": 80,
//       "traces_freed": 0,
//       "traces_deferred": 0,
//       "traces_linked": 1,
//     ...
//   stdout:
//     a=816000 b=4000 outer=40

// Three nested loops of a small bytecode interpreter, each loop header with its own location.
// Inner loops are traced first. The innermost loop (9) gets a trace; its exit guard's side
// trace goes round the middle loop back into it. The outer loop's recording (from 3) passes the
// middle loop's header once and ends at the innermost loop's control point, which has a trace:
// the outer loop's trace runs into the innermost one's (stat `traces_linked`) instead of
// unrolling 600 of its iterations. The middle loop's exit then gets a side trace that jumps to
// the outer loop's trace. From then on every iteration of every loop runs in a trace, with two
// jumps per outer iteration (`trace_jumps`: 80 for 40) and no guard failing until the end.
// The entries are those 80 jumps and one more: the innermost trace moving to its recompiled
// code (tiered up after 20,000 iterations: YKD_TIER_UP=20000, as the innermost loop runs
// 24,000 in all, short for the default 300,000) leaves at its loop's head and is entered again.
// With YKD_INNER_LOOPS_FIRST=0 the outer loop's recording unrolls the inner loops and is
// aborted as too long after a long compilation.

// YKD_NATIVE=0: the direct jumps between root traces this test counts are made by LLVM's
// code; the native tier 0 (jit/native.rs) makes its jumps through the runtime.

#include "extra/reg_machine.h"

// Registers: 0 = i, 1 = j, 2 = outer, 3 = a, 4 = b.
static const int prog[] = {
    SET,  2, 0,      // 0: outer = 0
    SET,  1, 0,      // 3: j = 0             (outer loop's head)
    SET,  0, 0,      // 6: i = 0             (middle loop's head)
    ADD,  3, 0,      // 9: a += i            (inner loop's head)
    ADD,  3, 1,      // 12: a += j
    ADDI, 0, 1,      // 15: i++
    JLT,  0, 60, 9,  // 18: if i < 60 goto 9
    ADDI, 4, 10,     // 22: b += 10
    ADDI, 1, 1,      // 25: j++
    JLT,  1, 10, 6,  // 28: if j < 10 goto 6
    ADDI, 2, 1,      // 32: outer++
    JLT,  2, 40, 3,  // 35: if outer < 40 goto 3
    HALT,            // 39
};
#define N (sizeof(prog) / sizeof(prog[0]))

int main(void) {
  static const unsigned heads[] = {3, 6, 9};
  return run_reg_machine(prog, N, heads, 3);
}
