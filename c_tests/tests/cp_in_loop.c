// Run-time:
//   env-var: YK_JITC=none
//   stdout:
//     sum = 499500
//     squares = 332833500
//     steps = 4002

// An interpreter-style program with a control point at the top of its dispatch loop. yk-ld
// rewrites the control point and instruments the program for software tracing; with
// YK_JITC=none nothing is compiled, so this checks that the rewritten program still computes
// the same results as the plain build.

#include <stdio.h>
#include <stdlib.h>
#include <yk.h>

enum op { PUSH_I, ADD_I_TO_SUM, SQUARE_I_TO_SQ, INC_I, JUMP_IF_LT, HALT };

struct insn {
  enum op op;
  long arg;
};

int main(void) {
  YkMT *mt = yk_mt_new(NULL);
  // One location per bytecode: only the loop header's is ever passed to the control point,
  // but an interpreter typically has one for every instruction.
  const struct insn prog[] = {
      {PUSH_I, 0}, {ADD_I_TO_SUM, 0}, {SQUARE_I_TO_SQ, 0}, {INC_I, 0}, {JUMP_IF_LT, 1000},
      {HALT, 0},
  };
  size_t n = sizeof(prog) / sizeof(prog[0]);
  YkLocation *locs = calloc(n, sizeof(YkLocation));
  for (size_t i = 0; i < n; i++)
    locs[i] = yk_location_new();

  long i = 0, sum = 0, squares = 0, steps = 0;
  size_t pc = 0;
  int running = 1;
  while (running) {
    yk_mt_control_point(mt, &locs[pc]);
    steps++;
    switch (prog[pc].op) {
    case PUSH_I:
      i = prog[pc].arg;
      pc++;
      break;
    case ADD_I_TO_SUM:
      sum += i;
      pc++;
      break;
    case SQUARE_I_TO_SQ:
      squares += i * i;
      pc++;
      break;
    case INC_I:
      i++;
      pc++;
      break;
    case JUMP_IF_LT:
      pc = i < prog[pc].arg ? 1 : pc + 1;
      break;
    case HALT:
      running = 0;
      break;
    }
  }
  printf("sum = %ld\nsquares = %ld\nsteps = %ld\n", sum, squares, steps);
  for (size_t j = 0; j < n; j++)
    yk_location_drop(locs[j]);
  free(locs);
  yk_mt_shutdown(mt);
  return 0;
}
