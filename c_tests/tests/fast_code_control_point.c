// Run-time:
//   env-var: YKD_LOG=3
//   env-var: YKD_SERIALISE_COMPILATION=1
//   env-var: YK_HOT_THRESHOLD=5
//   env-var: YK_SIDETRACE_THRESHOLD=1000
//   stderr:
//     yk-jit-event: start-tracing
//     yk-jit-event: stop-tracing
//     yk-jit-event: trace-compiled
//     yk-jit-event: enter-jit-code
//     ...
//     yk-jit-event: deoptimise
//     ...
//   stdout:
//     acc=500500 small=79800 n=0
//     fast code passed the control point at most once per iteration: yes

// An interpreter that passes its control point less often in fast code, as yklua does: its
// only location is on the target of its jump back, so fast code (`yk_is_fast_code()` true)
// goes from one instruction straight to the next and passes the control point only after the
// jump back, while the recording version (and so the trace and the blackhole) passes it
// before every instruction. The loop is traced while `n >= 400`; from then on the trace's
// guard on `JGE` fails at every entry (side traces are kept off): the blackhole finishes the
// failing instruction in the recording version, stopping at its next control point, and the
// fast code goes on from there, back into the trace after the next jump back. The output is
// the same as the plain build's, which passes the control point before every instruction.
// The program counts the passes made in fast code (none in traces, in the recording version
// or in a build without fast code): about 400 of the 1,000 iterations run in fast code, so
// a fast code that passed the control point before every instruction (4-5 per iteration)
// would count more than one per iteration.

#include <stdio.h>
#include <yk.h>

enum { LOADI, ADD_ACC, JGE, ADD_SMALL, DEC, JNZ, HALT };
static const int prog[] = {
    LOADI,     1000,  // 0: n = 1000
    ADD_ACC,          // 2: acc += n (the loop's header)
    JGE,       400, 7, // 3: if n >= 400 goto 7
    ADD_SMALL,        // 6: small += n
    DEC,              // 7: n -= 1
    JNZ,       2,     // 8: if n != 0 goto 2 (back)
    HALT,             // 10
};
#define N (sizeof(prog) / sizeof(prog[0]))

int main(void) {
  YkMT *mt = yk_mt_new(NULL);
  YkLocation locs[N];
  for (unsigned i = 0; i < N; i++)
    locs[i] = i == 2 ? yk_location_new() : yk_location_null();
  long acc = 0, small = 0, n = 0, fast_passes = 0;
  int pc = 0;
  for (;;) {
    yk_mt_control_point(mt, &locs[pc]);
    if (yk_is_fast_code())
      fast_passes++;
  dispatch:
    switch (prog[yk_promote(pc)]) {
    case LOADI: n = prog[pc + 1]; pc += 2; break;
    case ADD_ACC: acc += n; pc++; break;
    case JGE: pc = n >= prog[pc + 1] ? prog[pc + 2] : pc + 3; break;
    case ADD_SMALL: small += n; pc++; break;
    case DEC: n--; pc++; break;
    case JNZ:
      if (n != 0) {
        pc = prog[pc + 1];
        continue; // a jump back: through the control point, in all code
      }
      pc += 2;
      break;
    case HALT:
      printf("acc=%ld small=%ld n=%ld\n", acc, small, n);
      printf("fast code passed the control point at most once per iteration: %s\n",
             fast_passes <= 1001 ? "yes" : "no");
      fprintf(stderr, "fast passes: %ld\n", fast_passes);
      for (unsigned i = 0; i < N; i++)
        yk_location_drop(locs[i]);
      yk_mt_shutdown(mt);
      return 0;
    }
    // Any other instruction: fast code goes straight on to the next one.
    if (yk_is_fast_code())
      goto dispatch;
  }
}
