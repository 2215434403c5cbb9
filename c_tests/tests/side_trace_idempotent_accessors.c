// Run-time:
//   env-var: YKD_LOG=3
//   env-var: YK_HOT_THRESHOLD=3
//   env-var: YK_SIDETRACE_THRESHOLD=2
//   env-var: YKD_LOG_STATS=-
//   stderr:
//     yk-jit-event: start-tracing
//     yk-jit-event: stop-tracing
//     yk-jit-event: trace-compiled
//     yk-jit-event: enter-jit-code
//     yk-jit-event: deoptimise
//     yk-jit-event: enter-jit-code
//     yk-jit-event: deoptimise
//     yk-jit-event: side-trace-compiled
//     yk-jit-event: enter-jit-code
//     yk-jit-event: deoptimise
//     {
//     ...
//       "trace_executions": 3,
//       "guard_failures": 3,
//       "side_traces_compiled": 1,
//     ...
//       "aborts": {"too_long": 0, "unsupported": 0, "recording": 0, "thread_exit": 0, "hardware": 0, "no_compiler": 0, "backend": 0, "internal": 0, "disabled": 0, "frame_left": 0},
//     ...
//   stdout:
//     acc=4100 i=1000 accessor_calls_seen=1

// A bytecode interpreter that reads its program through `yk_idempotent` accessors (in traces
// their results are constants, so decoding and dispatch fold), running a loop whose branch
// changes direction after 300 of its 1000 iterations. The branch's guard then fails, and its
// side trace is recorded starting in the blackhole, which runs the accessor calls natively: it
// must record their results as the AOT code's hooks do, or the side trace is aborted ("more
// idempotent calls than recorded results") and every later iteration deoptimises. Here the
// side trace compiles and the loop runs in the trace and its side trace to the end.

#include <stdio.h>
#include <yk.h>

enum { JGE, JLT, JMP, ADDI, HALT };
// Registers: 0 = i, 1 = acc. Every instruction is 4 ints: opcode, then up to 3 operands.
static const int code[] = {
    JGE,  0, 300, 12,  // 0: if i >= 300 goto 12   (the loop's head)
    ADDI, 1, 2,   0,   // 4: acc += 2
    JMP,  16, 0,  0,   // 8: goto 16
    ADDI, 1, 5,   0,   // 12: acc += 5
    ADDI, 0, 1,   0,   // 16: i++
    JLT,  0, 1000, 0,  // 20: if i < 1000 goto 0
    HALT, 0, 0,   0,   // 24
};
#define N (sizeof(code) / sizeof(code[0]))

static int ncalls;

// The accessors: pure functions of their argument, so the JIT may replace a call with
// constant arguments by its recorded result.
yk_idempotent __attribute__((noinline)) static int opcode(int pc) {
  ncalls++;
  return code[pc];
}

yk_idempotent __attribute__((noinline)) static int operand(int pc, int k) {
  ncalls++;
  return code[pc + k];
}

int main(void) {
  YkMT *mt = yk_mt_new(NULL);
  YkLocation locs[N];
  for (unsigned i = 0; i < N; i++)
    locs[i] = i == 0 ? yk_location_new() : yk_location_null();
  long reg[2] = {0, 0};
  int pc = 0;
  for (;;) {
    yk_mt_control_point(mt, &locs[pc]);
    pc = yk_promote(pc);
    switch (opcode(pc)) {
    case JGE: pc = reg[operand(pc, 1)] >= operand(pc, 2) ? operand(pc, 3) : pc + 4; break;
    case JLT: pc = reg[operand(pc, 1)] < operand(pc, 2) ? operand(pc, 3) : pc + 4; break;
    case JMP: pc = operand(pc, 1); break;
    case ADDI: reg[operand(pc, 1)] += operand(pc, 2); pc += 4; break;
    case HALT:
      // The plain build calls the accessors on every instruction; traces don't, so only say
      // whether they were called at all.
      printf("acc=%ld i=%ld accessor_calls_seen=%d\n", reg[1], reg[0], ncalls > 0);
      yk_mt_shutdown(mt);
      return 0;
    }
  }
}
