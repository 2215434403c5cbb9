/*
 * yk.h: the C API of the yk meta-tracing JIT runtime (libykcapi).
 *
 * An interpreter creates one YkMT at start-up, gives every loop-header bytecode
 * a YkLocation, and calls yk_mt_control_point(mt, &loc) at the top of its
 * dispatch loop. Built with the yk toolchain (yk-config --cc/--cflags/--ldflags/
 * --libs), hot loops of the interpreted program are traced and compiled; built
 * any other way, the same program runs without a JIT.
 *
 * Environment variables read by yk_mt_new (a malformed value is an error that
 * names the variable):
 *   YK_HOT_THRESHOLD=n        executions of a location before it is traced (131)
 *   YK_SIDETRACE_THRESHOLD=n  guard failures before a side trace is recorded (5)
 *   YK_JITC=none|llvm         none: no tracing at all
 *   YKD_SERIALISE_COMPILATION=0|1  1: compile on the recording thread
 *   YKD_TRACER=swt|hwt        hwt (Intel PT) is not built yet: falls back to swt
 *   YKD_TRACE_MAX_LEN=n       blocks in one recording before it is aborted (650)
 *   YKD_CUT_CALLS=0|1         1: a recording over that length is cut at the call
 *                             that took most of it, which gets its own trace
 *                             (see yk_entry_hint); 0 (default): it is aborted
 *   YK_COMPILE_BUDGET=percent no new recording while compiling has taken more
 *                             than this share of the process's CPU time (after
 *                             a first 100 ms); 0: no limit (15)
 *   YKD_INNER_LOOPS_FIRST=0|1 1 (default): a recording that reaches another
 *                             loop's location traces that loop first and ends at
 *                             its trace; 0: records through it (unrolls it)
 *   YKD_LOG=[file:]level      0 off, 1 errors/warnings (default), 3 JIT events
 *                             ("yk-jit-event: ..." lines), 4 every execution
 *   YKD_LOG_IR=[file:]items   comma-separated: aot, jit-pre-opt, jit-post-opt,
 *                             trace-blocks
 *   YKD_LOG_STATS=file.json   statistics written at yk_mt_shutdown or exit
 *                             ("-" means stderr)
 */

#ifndef YK_H
#define YK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The meta-tracer, shared by all the interpreter's threads. Opaque. */
typedef struct YkMT YkMT;

/*
 * A loop header of the interpreted program: one machine word, updated
 * atomically by the runtime. Create with yk_location_new() (or
 * yk_location_null() for bytecodes that are not loop headers; an all-zero
 * YkLocation, e.g. in a static array, is the null location). Once a control
 * point has seen it, a location must stay at the same address and must not be
 * copied; free it with yk_location_drop_at().
 */
typedef struct {
  uintptr_t state;
} YkLocation;

/* The hot and side-trace thresholds. */
typedef uint32_t YkHotThreshold;

/*
 * Create a meta-tracer configured from the environment. On failure returns
 * NULL and stores a malloc'd error message in *err_msg (the caller frees it).
 * If err_msg is NULL, a failure prints the message and aborts.
 */
YkMT *yk_mt_new(char **err_msg);

/*
 * Wait for pending trace compilations, write the statistics (YKD_LOG_STATS)
 * and release `mt`, which must not be used afterwards.
 */
void yk_mt_shutdown(YkMT *mt);

/*
 * The control point: call it at the top of the interpreter's dispatch loop
 * with the location of the current bytecode (or a null location). yk-ld
 * rewrites this call so that it counts executions, records traces of hot
 * locations and runs their compiled code; unrewritten, it does nothing. At
 * most one control point per function, inside its loop. `noduplicate`:
 * the optimiser must not copy the call (e.g. by unrolling the loop), which
 * would make several control points.
 */
void yk_mt_control_point(YkMT *mt, YkLocation *loc) __attribute__((noduplicate));

/* Set the number of executions after which a location is traced. */
void yk_mt_hot_threshold_set(YkMT *mt, YkHotThreshold threshold);

/* Set the number of failures of a guard after which a side trace is recorded. */
void yk_mt_sidetrace_threshold_set(YkMT *mt, YkHotThreshold threshold);

/* The runtime's version, e.g. "0.1.0" (a static string). */
const char *yk_version(void);

/*
 * Turn the JIT on or off at run time (it starts on, unless YK_JITC=none,
 * which nothing can turn on). While off, control points count nothing,
 * record nothing and enter no compiled trace (a trace already running runs
 * until it exits); a recording in progress is given up ("JIT turned off").
 * Compiled traces are kept for when it is turned on again.
 */
void yk_mt_set_enabled(YkMT *mt, bool on);

/* Is the JIT on? */
bool yk_mt_enabled(YkMT *mt);

/*
 * Drop every compiled trace: none is entered again. A trace leaves its
 * location when a control point next reaches it (the location then counts
 * from zero again, so hot loops are traced afresh) and is freed once no
 * thread can be running it (counted in traces_freed).
 */
void yk_mt_flush(YkMT *mt);

/* One statistic (the names are those of the YKD_LOG_STATS JSON). */
typedef enum { YK_STAT_COUNTER = 0, YK_STAT_SECONDS = 1 } YkStatKind;
typedef struct {
  const char *name; /* static */
  YkStatKind kind;
  uint64_t count;   /* YK_STAT_COUNTER */
  double seconds;   /* YK_STAT_SECONDS: measured only with YKD_LOG_STATS */
} YkStat;

/*
 * Copy up to `cap` of mt's statistics into `out` (NULL if `cap` is 0) and
 * return how many there are in all: call with 0 first to size the array.
 */
size_t yk_mt_stats(YkMT *mt, YkStat *out, size_t cap);

/* What a trace-event callback is told about. */
typedef enum {
  YK_TRACE_COMPILED = 0,      /* a root trace was compiled and installed */
  YK_SIDE_TRACE_COMPILED = 1, /* a side trace was compiled */
  YK_TRACE_ABORTED = 2,       /* a recording or compilation was given up */
  YK_TRACE_RE_RECORDED = 3,   /* a root trace is recorded again */
  YK_TRACE_DEFERRED = 4,      /* a recording was given up so that an inner
                                 loop is traced first */
} YkTraceEvent;

/*
 * A trace-event callback: `data` as registered, the event, the location's
 * debug string (yk_location_set_debug_str) or NULL, and for
 * YK_TRACE_ABORTED and YK_TRACE_DEFERRED the reason (else NULL). The strings live during the call
 * only. It may be called on any thread, the runtime's compile thread too.
 */
typedef void (*YkTraceEventFn)(void *data, YkTraceEvent event,
                               const char *loc_debug_str, const char *reason);

/*
 * Call `f` for every trace compiled or aborted (also side traces and
 * re-recordings), whatever YKD_LOG says: e.g. for an interpreter's own trace
 * log. NULL `f` removes the callback.
 */
void yk_mt_set_trace_event_fn(YkMT *mt, YkTraceEventFn f, void *data);

/* A new location, counting from zero. */
YkLocation yk_location_new(void);

/* The null location: never counted or traced (its word is 0). */
YkLocation yk_location_null(void);

/* Is `loc` the null location? */
bool yk_location_is_null(YkLocation loc);

/* Free what `loc` owns (e.g. its compiled trace). No thread may reach the
 * location afterwards, and no recording or compilation may have started from
 * it since the last yk_mt_shutdown (`loc` is a copy: the runtime cannot tell
 * them to leave the original alone). Prefer yk_location_drop_at. */
void yk_location_drop(YkLocation loc);

/* Free what the location at `loc` owns (its compiled trace: freed once no
 * thread can be running it) and its debug string; then the caller may free
 * its memory. A recording or compilation started from it that is still going
 * on (on this thread or on the compile thread) is given up and never touches
 * it again, so an interpreter can drop a function's locations as soon as the
 * function is unreachable. No thread may reach the location afterwards.
 * NULL is ignored. */
void yk_location_drop_at(YkLocation *loc);

/*
 * Attach a copy of the string `s` to the location at `loc`: JIT log lines
 * about it (YKD_LOG=3) end in " @ <s>". A later call replaces it.
 */
void yk_location_set_debug_str(YkLocation *loc, const char *s);

/*
 * True while the interpreter runs; compiled traces see false, and so does
 * the interpreter while its thread records a trace (the recorded path is
 * the trace's). Lets an interpreter skip work that only matters when not in
 * a trace.
 */
bool yk_is_interpreting(void);

/*
 * True only in yk-ld's fast clones (the uninstrumented copies of the
 * interpreter's functions, which run while the thread does not record);
 * false in the recording versions, in traces, in the blackhole and in a
 * build without clones (e.g. YKLD_NO_FAST_CLONES=1). An interpreter whose
 * control point is at the top of its dispatch loop can use it to pass the
 * control point less often in fast code: only where a location can be
 * (e.g. after a jump back, when locations are on loop headers), since a
 * location the fast code does not pass is simply not counted there. The
 * recording version must keep passing it where it always did: traces close
 * at it, and a guard's exit resumes the interpreter at the next control
 * point, so a rarer control point there would make exits slow. Nothing
 * else may depend on it.
 */
bool yk_is_fast_code(void);

/*
 * Function entries for recordings that grow too long. An interpreter that
 * runs calls of its guest functions in the loop that holds the control point
 * (as Lua does) can let the JIT cut a too-long recording at a call, so that
 * the callee gets its own trace instead of the loop being interpreted:
 *
 * - at each call, where yk_is_interpreting() is false (so only while
 *   recording: traces and the fast code drop it), call
 *   yk_entry_hint(&entry_loc, handle, depth): entry_loc is the location the
 *   callee's first instruction passes to the control point (null while it
 *   has none), handle any pointer naming the callee, depth a number that
 *   grows with call nesting (e.g. the callee frame's offset in the
 *   interpreter's stack);
 * - install with yk_mt_set_entry_fn a callback f(handle) that makes that
 *   entry location a real one (yk_location_new, and a debug string if
 *   wanted), and does nothing else: it runs in the middle of the
 *   interpreter's code;
 * - drop the entry location (yk_location_drop_at), null or not, when the
 *   function is freed.
 *
 * When a recording passes the length limit, the runtime picks the call that
 * took most of it and calls f with its handle. Recordings then end at that
 * location (the trace jumps to it), and the function is traced from there.
 */
void yk_entry_hint(YkLocation *entry_loc, void *handle, uintptr_t depth);
typedef void (*YkEntryFn)(void *handle);
void yk_mt_set_entry_fn(YkMT *mt, YkEntryFn f);

/* The identity; see yk_promote. */
uint64_t __yk_promote_u64(uint64_t value);

/*
 * yk_promote(x): returns x, an integer or pointer expression, and tells the
 * trace compiler that x is constant in a trace (the trace checks the value
 * recorded and uses it as a constant afterwards). Typical use: the bytecode
 * pointer at the top of the dispatch loop.
 */
#define yk_promote(x)                                                          \
  ((__typeof__(x))__yk_promote_u64((uint64_t)(uintptr_t)(x)))

/* The identity; see yk_disjoint. */
void *__yk_disjoint(void *p, uint64_t cls);

/*
 * yk_disjoint(p, cls): returns p, a pointer expression, and tells the trace
 * compiler that the object p points into is of alias class cls (a nonzero
 * constant): memory reached from pointers derived (by pointer arithmetic) from
 * values of two different classes never overlaps, so a trace may keep a value
 * it read through one across stores through the other. Pointers with no class
 * may alias anything. Use it where the interpreter knows separate
 * allocations apart, e.g. its operand stack and its thread state, right after
 * the control point: `base = yk_disjoint(base, 1); L = yk_disjoint(L, 2);`.
 * A wrong class makes traces compute wrong results; the interpreter itself
 * is unaffected (yk-ld removes the calls from the running code).
 */
#define yk_disjoint(p, cls)                                                    \
  ((__typeof__(p))__yk_disjoint((void *)(p), (uint64_t)(cls)))

/*
 * Function attributes:
 *   yk_outline     the function is not traced into: traces call it.
 *   yk_idempotent  given the same (constant) arguments the function returns
 *                  the same result with no side effect that matters: traces
 *                  replace such a call by the result recorded.
 * Use: `yk_outline int f(int x) { ... }`.
 */
#define yk_outline __attribute__((noinline, annotate("yk_outline")))
#define yk_idempotent __attribute__((noinline, annotate("yk_idempotent")))

/*
 * Internal: what yk-ld-linked code calls (see docs/abi.md). Interpreters do
 * not call these themselves.
 */
#define YK_AOT_INFO_VERSION 2
typedef struct {
  uint64_t version;
  const uint8_t *ir;
  uint64_t ir_len;
  void *const *globals;
  uint64_t nglobals;
  void *const *funcs;
  uint64_t nfuncs;
  uint8_t *(*swt_flag)(void);
} YkAotInfo;

void __yk_register_aot(const YkAotInfo *info);
uint64_t __ykrt_control_point(YkMT *mt, YkLocation *loc, void *vars,
                              uint64_t cp_func_idx);
void __yk_swt_rec_block(uint32_t func_idx, uint32_t block_idx);
void __yk_swt_rec_promote(uint64_t value);
void __yk_swt_rec_idempotent(uint64_t value);

#ifdef __cplusplus
}
#endif

#endif /* YK_H */
