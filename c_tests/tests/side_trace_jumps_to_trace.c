// Run-time:
//   env-var: YKD_LOG=3
//   env-var: YKD_NATIVE=0
//   env-var: YK_HOT_THRESHOLD=3
//   env-var: YK_SIDETRACE_THRESHOLD=2
//   env-var: YKD_TIER_UP=2000
//   env-var: YKD_LOG_STATS=-
//   stderr:
//     yk-jit-event: start-tracing
//     yk-jit-event: stop-tracing
//     yk-jit-event: trace-compiled
//     yk-jit-event: enter-jit-code
//     yk-jit-event: deoptimise
//     yk-jit-event: start-tracing
//     yk-jit-event: stop-tracing
//     yk-jit-event: trace-compiled
//     yk-jit-event: enter-jit-code
//     yk-jit-event: deoptimise
//     yk-jit-event: enter-jit-code
//     yk-jit-event: deoptimise
//     yk-jit-event: side-trace-compiled
//     yk-jit-event: enter-jit-code
//     yk-jit-event: deoptimise
//     yk-jit-event: side-trace-compiled
//     yk-jit-event: enter-jit-code
//     ...
//     yk-jit-event: deoptimise
//     {
//     ...
//       "trace_executions": 402,
//       "guard_failures": 5,
//       "side_traces_compiled": 2,
//       "traces_re_recorded": 0,
//       "trace_jumps": 400,
//     ...
//       "trace_jumps_direct": 395,
//     ...
//   stdout:
//     a=156000 b=180000 outer=200

// Two loops with their own locations, one after the other, inside an outer loop. Each inner
// loop is traced; leaving loop A's trace reaches loop B's control point, and leaving B's trace
// reaches A's again (through the outer loop's bytecodes, which have no location). Once the exit
// guards have side traces, each side trace ends by jumping into the other loop's trace: the
// trace that ran it enters the reached location's trace directly (a tail call after the side
// trace returns: stat `trace_jumps_direct`) instead of returning to the interpreter, and no
// guard deoptimises again until the program's last exit. 400 jumps: 395 direct, 5 through the
// runtime (those made before both traces were compiled, among them the one that reaches a
// location without a trace, and those made when the jumping trace's count was a multiple of
// 256). The interpreter enters a trace three
// times: at first, and once more for each loop's trace moving to its recompiled code (tiered
// up after 2,000 iterations, YKD_TIER_UP=2000 as the loops are short for the default 300,000,
// while running: it leaves at its loop's head, and the interpreter enters the new code).

// YKD_NATIVE=0: the direct jumps between root traces this test counts are made by LLVM's
// code; the native tier 0 (jit/native.rs) makes its jumps through the runtime.

#include "extra/reg_machine.h"

// Registers: 0 = i, 1 = j, 2 = outer, 3 = a, 4 = b.
static const int prog[] = {
    SET,  2, 0,      // 0: outer = 0
    SET,  0, 0,      // 3: i = 0
    ADD,  3, 0,      // 6: a += i           (loop A's head)
    ADDI, 0, 1,      // 9: i++
    JLT,  0, 40, 6,  // 12: if i < 40 goto 6
    SET,  1, 0,      // 16: j = 0
    ADD,  4, 1,      // 19: b += j          (loop B's head)
    ADDI, 4, 3,      // 22: b += 3
    ADDI, 1, 1,      // 25: j++
    JLT,  1, 40, 19, // 28: if j < 40 goto 19
    ADDI, 2, 1,      // 32: outer++
    JLT,  2, 200, 3, // 35: if outer < 200 goto 3
    HALT,            // 39
};
#define N (sizeof(prog) / sizeof(prog[0]))

int main(void) {
  static const unsigned heads[] = {6, 19};
  return run_reg_machine(prog, N, heads, 2);
}
