// Run-time:
//   env-var: YKD_LOG=3
//   env-var: YKD_NATIVE=0
//   env-var: YK_HOT_THRESHOLD=3
//   env-var: YK_SIDETRACE_THRESHOLD=2
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
//       "guard_failures": 5,
//       "side_traces_compiled": 2,
//     ...
//       "trace_jumps_direct": 395,
//     ...
//     "aborts": {"too_long": 0, "unsupported": 0, "recording": 0, ...
//     ...
//   stdout:
//     a=156000 b=156000 outer=200

// Loop A's exit falls straight into loop B's head, whose control point has B's location: a
// guard exit of A's trace that runs the blackhole stops there and returns a jump to B. Once B
// has a trace, A's trace would enter it directly (a tail call, `compile::DirectEntry`), but not
// when that blackhole run started recording A's exit's side trace (its second failure, with
// YK_SIDETRACE_THRESHOLD=2): the recording must go on through the runtime's control point,
// which ends it at B's compiled location: the side trace is compiled at once (the third
// `deoptimise` is followed by `side-trace-compiled`), and the two exits' side traces are the
// only ones. Entered directly (as it was before the check of the recording threads), B's
// trace ran unrecorded and the recording went on from wherever B's trace left, a path with a
// hole in it: a third side trace, compiled later, and the log in another order.

// YKD_NATIVE=0: the direct jumps between root traces this test counts are made by LLVM's
// code; the native tier 0 (jit/native.rs) makes its jumps through the runtime.

#include "extra/reg_machine.h"

// Registers: 0 = i, 1 = j, 2 = outer, 3 = a, 4 = b.
static const int prog[] = {
    SET,  2, 0,      // 0: outer = 0
    SET,  0, 0,      // 3: i = 0
    SET,  1, 0,      // 6: j = 0
    ADD,  3, 0,      // 9: a += i            (loop A's head)
    ADDI, 0, 1,      // 12: i++
    JLT,  0, 40, 9,  // 15: if i < 40 goto 9, else on to B's head
    ADD,  4, 1,      // 19: b += j           (loop B's head)
    ADDI, 1, 1,      // 22: j++
    JLT,  1, 40, 19, // 25: if j < 40 goto 19
    ADDI, 2, 1,      // 29: outer++
    SET,  0, 0,      // 32: i = 0
    SET,  1, 0,      // 35: j = 0
    JLT,  2, 200, 9, // 38: if outer < 200 goto A's head
    HALT,            // 42
};
#define N (sizeof(prog) / sizeof(prog[0]))

int main(void) {
  static const unsigned heads[] = {9, 19};
  return run_reg_machine(prog, N, heads, 2);
}
