// The second translation unit of multi_tu.c. `counter` and `step` have the same names as
// `static` definitions in multi_tu.c: after LTO merges both units they must stay distinct.
#include "multi_tu.h"

static long counter = 100;

static long step(long x) { return x * 3 + 1; }

static long add(long a, long b) { return a + b; }
static long sub(long a, long b) { return a - b; }
static long mul(long a, long b) { return a * b; }

long helper_accumulate(int n) {
  long acc = 0;
  for (int i = 0; i < n; i++) {
    acc += step(i) % 7;
    counter++;
  }
  return acc;
}

long helper_apply(binop f, long a, long b) {
  counter++;
  return f(a, b);
}

binop helper_pick(int which) {
  static const binop table[] = {add, sub, mul};
  return table[which % 3];
}

long helper_calls(void) { return counter; }
