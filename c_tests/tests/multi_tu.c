// extra-files: extra/multi_tu_helper.c
// Run-time:
//   stdout:
//     accumulate(10) = 26
//     accumulate(1000) = 2998
//     dispatch = 584740
//     fold = -3712
//     table: 8 -2 15
//     counters: main 400, helper 1213

// A program of two translation units with loops, `static` functions and globals of the same
// name in both units, a switch-based dispatch and function pointers. It has no control point,
// so it runs without a JIT: the test is that the toolchain links it and it behaves.

#include <stdio.h>

#include "extra/multi_tu.h"

static long counter = 0;

static long step(long x) {
  counter++;
  return x + 1;
}

static long dbl(long a, long b) { return 2 * a + b; }

enum op { OP_INC, OP_DOUBLE, OP_ADD_TEN, OP_HELPER, OP_STOP };

// A tiny switch-based interpreter over `ops`.
static long dispatch(const enum op *ops, long acc) {
  for (int pc = 0;; pc++) {
    switch (ops[pc]) {
    case OP_INC:
      acc = step(acc);
      break;
    case OP_DOUBLE:
      acc *= 2;
      counter++;
      break;
    case OP_ADD_TEN:
      acc += 10;
      counter++;
      break;
    case OP_HELPER:
      acc = helper_apply(helper_pick(0), acc, 1);
      break;
    case OP_STOP:
      return acc;
    }
  }
}

int main(void) {
  printf("accumulate(10) = %ld\n", helper_accumulate(10));
  printf("accumulate(1000) = %ld\n", helper_accumulate(1000));

  const enum op prog[] = {OP_INC, OP_DOUBLE, OP_ADD_TEN, OP_HELPER, OP_DOUBLE, OP_STOP};
  long acc = 0;
  for (int i = 0; i < 100; i++)
    acc += dispatch(prog, i) * 1000 % 10007;
  printf("dispatch = %ld\n", acc);

  binop fns[] = {dbl, helper_pick(1), helper_pick(2)};
  long fold = 1;
  for (int i = 0; i < 1000; i++)
    fold = fns[i % 3](fold, i) % 10007;
  printf("fold = %ld\n", fold);

  printf("table: %ld %ld %ld\n", helper_apply(helper_pick(0), 5, 3),
         helper_apply(helper_pick(1), 5, 7), helper_apply(helper_pick(2), 5, 3));
  printf("counters: main %ld, helper %ld\n", counter, helper_calls());
  return 0;
}
