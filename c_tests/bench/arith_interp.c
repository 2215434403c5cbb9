// The benchmark of `cargo xtask bench-jit` for trace speed: a small stack-machine bytecode
// interpreter (switch dispatch, operand stack in memory, the bytecode pointer promoted) running
// a loop of arithmetic bytecodes. Only the loop header has a real location.
//
// Usage: arith_interp [N]   (default N = 20000000 loop iterations)

#include <stdio.h>
#include <stdlib.h>
#include <yk.h>

enum { PUSH, LOAD, STORE, ADD, SUB, MUL, XOR, SHR, DUP, JNZ, HALT };
// vars: v0 = counter, v1 = acc, v2 = t
static const long prog[] = {
    /* 0 */ LOAD, 0, JNZ, 5, HALT,
    /* 5 */ LOAD, 1, PUSH, 31, MUL, LOAD, 0, ADD, PUSH, 1000003, XOR, STORE, 1,
    /* 18 */ LOAD, 1, PUSH, 7, SHR, LOAD, 2, ADD, STORE, 2,
    /* 28 */ LOAD, 0, PUSH, 1, SUB, STORE, 0, PUSH, 1, JNZ, 0,
};
#define N (sizeof(prog) / sizeof(prog[0]))

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 20000000;
  YkMT *mt = yk_mt_new(NULL);
  YkLocation locs[N];
  for (unsigned i = 0; i < N; i++)
    locs[i] = i == 0 ? yk_location_new() : yk_location_null();
  long vars[3] = {n, 1, 0}, stack[16];
  int sp = 0, pc = 0;
  for (;;) {
    yk_mt_control_point(mt, &locs[pc]);
    long op = prog[yk_promote(pc)];
    switch (op) {
    case PUSH: stack[sp++] = prog[pc + 1]; pc += 2; break;
    case LOAD: stack[sp++] = vars[prog[pc + 1]]; pc += 2; break;
    case STORE: vars[prog[pc + 1]] = stack[--sp]; pc += 2; break;
    case ADD: sp--; stack[sp - 1] += stack[sp]; pc++; break;
    case SUB: sp--; stack[sp - 1] -= stack[sp]; pc++; break;
    case MUL: sp--; stack[sp - 1] *= stack[sp]; pc++; break;
    case XOR: sp--; stack[sp - 1] ^= stack[sp]; pc++; break;
    case SHR: sp--; stack[sp - 1] = (long)((unsigned long)stack[sp - 1] >> stack[sp]); pc++; break;
    case DUP: stack[sp] = stack[sp - 1]; sp++; pc++; break;
    case JNZ: pc = stack[--sp] ? prog[pc + 1] : pc + 2; break;
    case HALT:
      printf("acc=%ld t=%ld\n", vars[1], vars[2]);
      yk_mt_shutdown(mt);
      return 0;
    }
  }
}
