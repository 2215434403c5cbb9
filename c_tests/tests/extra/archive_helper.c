// Archived helpers for archive.c: compiled to (bitcode) objects and linked from a `.a`.

long archived_triangle(long n) {
  long t = 0;
  for (long i = 1; i <= n; i++)
    t += i;
  return t;
}

static long calls;

long archived_calls(void) { return ++calls; }
