// Run-time:
//   env-var: YKD_LOG=3
//   env-var: YK_HOT_THRESHOLD=10
//   stderr:
//     ...
//     yk-jit-event: trace-compiled @ thread-a
//     ...
//   stdout:
//     a=19900 b=39800

// Two threads share one MT and each runs its own interpreter loop with its own location:
// each traces independently (the debug strings tell the locations apart in the log). Both
// traces are compiled; the results are the plain build's.

#include <pthread.h>
#include <stdio.h>
#include <yk.h>

static YkMT *mt;

struct job {
  const char *name;
  long mul, result;
};

static void *run(void *p) {
  struct job *j = p;
  YkLocation loc = yk_location_new();
  yk_location_set_debug_str(&loc, j->name);
  long acc = 0;
  for (long i = 0; i < 200; i++) {
    yk_mt_control_point(mt, &loc);
    acc += i * j->mul;
  }
  j->result = acc;
  yk_location_drop(loc);
  return NULL;
}

int main(void) {
  mt = yk_mt_new(NULL);
  struct job a = {"thread-a", 1, 0}, b = {"thread-b", 2, 0};
  pthread_t ta, tb;
  pthread_create(&ta, NULL, run, &a);
  pthread_create(&tb, NULL, run, &b);
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
  printf("a=%ld b=%ld\n", a.result, b.result);
  yk_mt_shutdown(mt);
  return 0;
}
