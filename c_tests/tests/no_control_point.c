// Run-time:
//   env-var: YKD_LOG=3
//   env-var: YK_HOT_THRESHOLD=1
//   stderr:
//   stdout:
//     primes below 10000: 1229
//     last: 9973

// A program with no control point: yk-ld links it without embedding IR or registering it with
// the runtime, so it runs without a JIT and, even with logging on, the runtime says nothing.

#include <stdio.h>
#include <string.h>

static char composite[10000];

int main(void) {
  int count = 0, last = 0;
  memset(composite, 0, sizeof(composite));
  for (int i = 2; i < 10000; i++) {
    if (composite[i])
      continue;
    count++;
    last = i;
    for (int j = i * 2; j < 10000; j += i)
      composite[j] = 1;
  }
  printf("primes below 10000: %d\n", count);
  printf("last: %d\n", last);
  return 0;
}
