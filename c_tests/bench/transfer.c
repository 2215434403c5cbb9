// The benchmark of `cargo xtask bench-jit` for transfers between traces: a stack machine that
// runs calls in its dispatch loop (as Lua does) and tells the runtime about each call
// (`yk_entry_hint`, see yk.h). With YKD_CUT_CALLS=1 and YKD_TRACE_MAX_LEN=150 the loop's
// recording, with `f` inlined, is too long and is cut at the call: the loop and `f` get a
// trace each, and every call is two jumps between traces (loop to `f`, `f` back to the loop).
// With the default length limit the loop's trace inlines `f` and no jump happens. The
// difference, over the jumps the runtime counts (`trace_jumps`), is the cost of one transfer.
//
// Usage: transfer [N]   (default N = 3000000 calls)

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <yk.h>

enum { PUSH_N, SUB_ONE, DUP, JNZ, POP, HALT, CALL, RET, ADD_ACC, COUNT, NOP };
// main: push n; loop (2): 20 nops; call f; sub 1; dup; jnz loop; pop; halt
// f (at F): 20 times ADD_ACC, COUNT, RET
#define F 30
static const int prog[] = {
    PUSH_N, 0,
    NOP, NOP, NOP, NOP, NOP, NOP, NOP, NOP, NOP, NOP,
    NOP, NOP, NOP, NOP, NOP, NOP, NOP, NOP, NOP, NOP,
    CALL, F, SUB_ONE, DUP, JNZ, 2, POP, HALT,
    ADD_ACC, ADD_ACC, ADD_ACC, ADD_ACC, ADD_ACC, ADD_ACC, ADD_ACC, ADD_ACC, ADD_ACC, ADD_ACC,
    ADD_ACC, ADD_ACC, ADD_ACC, ADD_ACC, ADD_ACC, ADD_ACC, ADD_ACC, ADD_ACC, ADD_ACC, ADD_ACC,
    COUNT, RET};
#define NPROG (sizeof(prog) / sizeof(prog[0]))
static long acc, calls;
static YkLocation locs[NPROG];

// The runtime's callback: make the entry of the function whose entry location is `handle`
// a location.
static void make_entry(void *handle) {
  YkLocation *l = handle;
  if (yk_location_is_null(*l))
    *l = yk_location_new();
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 3000000;
  YkMT *mt = yk_mt_new(NULL);
  yk_mt_set_entry_fn(mt, make_entry);
  for (unsigned i = 0; i < NPROG; i++)
    locs[i] = i == 2 ? yk_location_new() : yk_location_null();
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
      for (unsigned i = 0; i < NPROG; i++)
        yk_location_drop(locs[i]);
      yk_mt_shutdown(mt);
      return 0;
    }
  }
}
