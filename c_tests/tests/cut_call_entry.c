// Run-time:
//   env-var: YKD_LOG=3
//   env-var: YKD_NATIVE=0
//   env-var: YK_HOT_THRESHOLD=3
//   env-var: YKD_SERIALISE_COMPILATION=1
//   env-var: YKD_CUT_CALLS=1
//   env-var: YKD_TRACE_MAX_LEN=150
//   env-var: YKD_TRUNCATE=1
//   env-var: YKD_LOG_STATS=-
//   stderr:
//     yk-jit-event: start-tracing @ loop
//     yk-jit-event: trace-deferred: trace too long: a call of f gets its own trace @ loop
//     yk-jit-event: start-tracing @ f
//     yk-jit-event: trace-aborted: trace too long @ f
//     yk-jit-event: start-tracing @ loop
//     yk-jit-event: stop-tracing @ loop
//     yk-jit-event: trace-compiled @ loop
//     ...
//     yk-jit-event: start-tracing @ f
//     yk-jit-event: stop-tracing @ f
//     yk-jit-event: trace-compiled @ f
//     ...
//     yk-jit-event: enter-jit-code @ loop
//     yk-jit-event: enter-jit-code @ f
//     yk-jit-event: enter-jit-code @ loop
//     yk-jit-event: enter-jit-code @ f
//     ...
//     "calls_cut": 1,
//     "trace_jumps_direct": 931,
//     ...
//     "aborts": {"too_long": 1, ...
//     ...
//   stdout:
//     acc=15000 calls=500

// A stack machine that runs calls in its dispatch loop (as Lua does), with an entry hint on
// each call (`yk_entry_hint`, only where yk_is_interpreting() is false, i.e. while
// recording) and a callback that makes a function's entry a location. The loop's body with
// `f` inlined is longer than YKD_TRACE_MAX_LEN (about 190 blocks against 150); `f` alone is
// not, nor the loop without it. With YKD_CUT_CALLS=1 the
// first recording of the loop is cut at the call of `f` (deferred, not aborted): `f`'s entry
// becomes a location, the loop's trace ends at the call (a linear trace jumping to `f`'s),
// and `f` gets a trace of its own. (`f`'s first recording, made before the loop's trace
// exists, goes on round its caller's loop and back to `f`, and is too long; its second ends
// at the loop's trace.) Then each iteration is two jumps, loop to `f` and back, with no
// interpreter between; both traces are linear root traces, so each enters the other directly
// (a tail call, `compile::DirectEntry`), except on every 256th entry of each and while the
// other has no trace yet: 931 of the 956 jumps (`trace_jumps_direct`), each still logged as
// an `enter-jit-code`.
//
// `cargo xtask bench-jit` also runs this program (`cut_call_entry N`, N calls) for the cost
// of one transfer between traces: cut as here against `f` inlined into the loop's trace
// (the default length limit).

// YKD_NATIVE=0: the direct jumps between root traces this test counts are made by LLVM's
// code; the native tier 0 (jit/native.rs) makes its jumps through the runtime.

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <yk.h>

enum { PUSH_N, SUB_ONE, DUP, JNZ, POP, HALT, CALL, RET, ADD_ACC, COUNT, NOP };
// main: push n; loop (2): 20 nops; call f; sub 1; dup; jnz loop; pop; halt
// f (at F): 20 times ADD_ACC (+1 or +2 by the bytecode index's parity), COUNT, RET
#define F 30
static const int prog[] = {
    PUSH_N, 0,
    NOP, NOP, NOP, NOP, NOP, NOP, NOP, NOP, NOP, NOP,
    NOP, NOP, NOP, NOP, NOP, NOP, NOP, NOP, NOP, NOP,
    CALL, F, SUB_ONE, DUP, JNZ, 2, POP, HALT,
    ADD_ACC, ADD_ACC, ADD_ACC, ADD_ACC, ADD_ACC, ADD_ACC, ADD_ACC, ADD_ACC, ADD_ACC, ADD_ACC,
    ADD_ACC, ADD_ACC, ADD_ACC, ADD_ACC, ADD_ACC, ADD_ACC, ADD_ACC, ADD_ACC, ADD_ACC, ADD_ACC,
    COUNT, RET};
#define N (sizeof(prog) / sizeof(prog[0]))
static long acc, calls;
static YkLocation locs[N];

// The runtime's callback: make the entry of the function whose entry location is `handle`
// a location (and name it). Nothing else: it runs in the middle of the interpreter.
static void make_entry(void *handle) {
  YkLocation *l = handle;
  if (yk_location_is_null(*l)) {
    *l = yk_location_new();
    yk_location_set_debug_str(l, "f");
  }
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 500;
  YkMT *mt = yk_mt_new(NULL);
  yk_mt_set_entry_fn(mt, make_entry);
  for (unsigned i = 0; i < N; i++)
    locs[i] = i == 2 ? yk_location_new() : yk_location_null();
  yk_location_set_debug_str(&locs[2], "loop");
  long stack[16];
  int rets[16];
  int sp = 0, rp = 0, pc = 0;
  for (;;) {
    yk_mt_control_point(mt, &locs[pc]);
    switch (prog[yk_promote(pc)]) {
    case PUSH_N: stack[sp++] = n; pc += 2; break;
    case SUB_ONE: stack[sp - 1] -= 1; pc++; break;
    case DUP: stack[sp] = stack[sp - 1]; sp++; pc++; break;
    case JNZ: sp--; pc = stack[sp] ? prog[pc + 1] : pc + 2; break;
    case POP: sp--; pc++; break;
    case CALL:
      rets[rp++] = pc + 2;
      pc = prog[pc + 1];
      if (!yk_is_interpreting())
        yk_entry_hint(&locs[pc], &locs[pc], (uintptr_t)rp);
      break;
    case RET: pc = rets[--rp]; break;
    case ADD_ACC: acc += 1 + (pc & 1); pc++; break;
    case COUNT: calls++; pc++; break;
    case NOP: pc++; break;
    case HALT:
      printf("acc=%ld calls=%ld\n", acc, calls);
      for (unsigned i = 0; i < N; i++)
        yk_location_drop(locs[i]);
      yk_mt_shutdown(mt);
      return 0;
    }
  }
}
