/* The yk API as no-ops, for building a benchmark interpreter as plain C with
 * no yk at all (`cargo xtask bench-jit`'s baseline: `-I c_tests/bench/no_jit`
 * instead of yk-config's flags; and `cargo xtask fuzz-c`'s plain build of
 * c_tests/fuzz/interp.c). Only what those programs use. */
#ifndef YK_H
#define YK_H
#include <stdint.h>

typedef struct YkMT YkMT;
typedef struct {
  uintptr_t state;
} YkLocation;

static inline YkMT *yk_mt_new(void *err) {
  (void)err;
  return (YkMT *)0;
}
static inline void yk_mt_shutdown(YkMT *mt) { (void)mt; }
static inline void yk_mt_control_point(YkMT *mt, YkLocation *loc) {
  (void)mt;
  (void)loc;
}
static inline YkLocation yk_location_new(void) {
  YkLocation l = {0};
  return l;
}
static inline YkLocation yk_location_null(void) {
  YkLocation l = {0};
  return l;
}
static inline void yk_location_drop(YkLocation loc) { (void)loc; }
static inline void yk_location_drop_at(YkLocation *loc) { (void)loc; }
static inline int yk_location_is_null(YkLocation loc) { return loc.state == 0; }
#define yk_promote(x) (x)
#define yk_outline __attribute__((noinline))
#define yk_idempotent __attribute__((noinline))

#endif
