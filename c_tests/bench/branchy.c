// The benchmark of `cargo xtask bench-jit` for guard failures: a loop whose branch goes each
// way half the time (by the low bit of an LCG). The trace records one direction; the other
// fails its guard, which then runs the blackhole every time (YK_SIDETRACE_THRESHOLD very high)
// or a side trace (the default). The runtime's stats (YKD_LOG_STATS) give the time spent
// deoptimising per guard failure.
//
// Usage: branchy [N]   (default N = 10000000)

#include <stdio.h>
#include <stdlib.h>
#include <yk.h>

static long hist[16];

// Side effects in both arms keep them branches (not a select).
__attribute__((noinline)) static long odd(unsigned long x) {
  hist[x & 15]++;
  return (long)(x >> 40);
}
__attribute__((noinline)) static long even(unsigned long x) {
  hist[(x >> 4) & 15] += 2;
  return (long)(x >> 20);
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 10000000;
  YkMT *mt = yk_mt_new(NULL);
  YkLocation loc = yk_location_new();
  unsigned long x = 12345;
  long a = 0, b = 0;
  for (long i = 0; i < n; i++) {
    yk_mt_control_point(mt, &loc);
    x = x * 6364136223846793005ul + 1442695040888963407ul;
    if ((x >> 33) & 1)
      a += odd(x);
    else
      b ^= even(x);
  }
  printf("a=%ld b=%ld h=%ld\n", a, b, hist[3] + hist[9]);
  yk_location_drop(loc);
  yk_mt_shutdown(mt);
  return 0;
}
