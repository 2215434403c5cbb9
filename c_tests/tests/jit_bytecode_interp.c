// Run-time:
//   env-var: YKD_LOG=3
//   env-var: YK_HOT_THRESHOLD=7
//   stderr:
//     yk-jit-event: start-tracing
//     yk-jit-event: stop-tracing
//     yk-jit-event: trace-compiled
//     yk-jit-event: enter-jit-code
//     yk-jit-event: deoptimise
//   stdout:
//     acc=500500 sp=0

// A switch-dispatched stack machine with its state in memory (a stack array, a global
// accumulator) and the bytecode pointer promoted: the loop at bytecode 2 is traced, compiled
// and run until the counter reaches zero; the failing `JNZ` guard deoptimises: the blackhole finishes
// the `JNZ` and the interpreter runs `POP` and `HALT`.

#include <stdio.h>
#include <yk.h>

enum { PUSH_I, SUB_ONE, DUP, JNZ, POP, HALT, ADD_TO_ACC };
static const int prog[] = {PUSH_I, 1000, DUP, ADD_TO_ACC, SUB_ONE, DUP, JNZ, 2, POP, HALT};
#define N (sizeof(prog) / sizeof(prog[0]))
static long acc;

int main(void) {
  YkMT *mt = yk_mt_new(NULL);
  YkLocation locs[N];
  for (unsigned i = 0; i < N; i++)
    locs[i] = i == 2 ? yk_location_new() : yk_location_null();
  long stack[16];
  int sp = 0, pc = 0;
  for (;;) {
    yk_mt_control_point(mt, &locs[pc]);
    switch (prog[yk_promote(pc)]) {
    case PUSH_I: stack[sp++] = prog[pc + 1]; pc += 2; break;
    case SUB_ONE: stack[sp - 1] -= 1; pc++; break;
    case DUP: stack[sp] = stack[sp - 1]; sp++; pc++; break;
    case JNZ: sp--; pc = stack[sp] ? prog[pc + 1] : pc + 2; break;
    case POP: sp--; pc++; break;
    case ADD_TO_ACC: sp--; acc += stack[sp]; pc++; break;
    case HALT:
      printf("acc=%ld sp=%d\n", acc, sp);
      yk_mt_shutdown(mt);
      return 0;
    }
  }
}
