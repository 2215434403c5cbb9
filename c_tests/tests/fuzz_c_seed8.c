// Run-time:
//   env-var: YK_HOT_THRESHOLD=5
//   env-var: YK_SIDETRACE_THRESHOLD=2
//   env-var: YKD_SERIALISE_COMPILATION=1
//   env-var: YKD_LOG=3
//   exec-arg: 1
//   stderr:
//     ...
//     yk-jit-event: trace-compiled
//     ...
//     yk-jit-event: side-trace-compiled
//     ...
//   stdout:
//     r0=0 r1=0 r2=3 r3=-9223372036854775807 r4=128 r5=-9223372036854775807 r6=0 r7=128
//     r8=128 r9=-9038523509320451090 r10=0 r11=65 r12=82 r13=1 r14=3968 r15=128
//     r16=0 r17=0 r18=0 r19=0 r20=0 r21=0 r22=0 r23=0
//     r24=0 r25=0 r26=0 r27=0 r28=0 r29=0 r30=0 r31=0
//     mem hash=0602bf759cb909c6
//     mem[0]=128
//     mem[1]=128
//     mem[2]=1
//     mem[3]=128
//     mem[4]=3
//     mem[5]=4
//     mem[6]=128
//     mem[7]=128
//     mem[21]=128
//     mem[22]=128
//     mem[23]=128
//     mem[24]=3
//     mem[25]=128
//     mem[26]=128
//     mem[27]=128
//     mem[28]=128
//     mem[29]=128
//     mem[30]=128
//     mem[31]=128
//     mem[32]=128
//     mem[33]=128
//     mem[34]=128
//     mem[35]=128
//     mem[36]=128
//     mem[37]=128
//     mem[38]=128
//     mem[39]=128
//     mem[40]=128
//     mem[41]=128
//     mem[42]=128
//     mem[43]=128
//     mem[44]=128
//     mem[45]=128
//     mem[46]=128
//     mem[47]=128
//     mem[48]=128
//     mem[49]=128
//     mem[50]=128
//     mem[51]=128
//     mem[52]=128
//     mem[53]=128
//     mem[54]=128
//     mem[55]=128
//     mem[56]=128
//     mem[57]=128
//     mem[58]=128
//     mem[59]=128
//     mem[60]=128
//     mem[61]=128
//     mem[62]=128
//     pc=92 csp=0

// The program of `cargo xtask fuzz-c` seed 8 (`cargo xtask fuzz-c --c-test 8`, with the
// YKD_LOG lines added): nested loops whose branches change direction, switches, loads and
// stores; traces and side traces compile. It keeps the c_test form of the fuzzer's
// mismatches (the program compiled into the interpreter) working.
// The fuzzer's interpreter (c_tests/fuzz/interp.c) with the program compiled in.

#define FUZZ_PROGRAM \
  "JMP 3 0 0                                # 0 to main\n" \
  "MULI 14 7 31                             # 1 f0\n" \
  "RET 0 0 0                                # 2\n" \
  "LI 0 -100 0                              # 3 main\n" \
  "LI 7 -64 0                               # 4\n" \
  "LI 5 -88 0                               # 5\n" \
  "LI 0 -2147483648 0                       # 6\n" \
  "LI 12 78 0                               # 7\n" \
  "LI 3 -55 0                               # 8\n" \
  "LI 13 65 0                               # 9\n" \
  "LI 11 -16 0                              # 10\n" \
  "LI 16 179 0                              # 11 loop r16 x179\n" \
  "JNZ 11 15 0                              # 12 if\n" \
  "SHL 7 2 1                                # 13\n" \
  "JMP 28 0 0                               # 14 endif\n" \
  "LI 17 13 0                               # 15 loop r17 x13\n" \
  "JZ 17 28 0                               # 16\n" \
  "LD 1 13 23                               # 17\n" \
  "JIDX 13 19 2                             # 18 switch\n" \
  "JMP 21 0 0                               # 19\n" \
  "JMP 23 0 0                               # 20\n" \
  "ST 15 7 63                               # 21\n" \
  "JMP 25 0 0                               # 22 endcase\n" \
  "MULI 11 17 65                            # 23\n" \
  "JMP 25 0 0                               # 24 endcase\n" \
  "ST 10 17 71                              # 25\n" \
  "ADDI 17 17 -1                            # 26\n" \
  "JMP 16 0 0                               # 27 back\n" \
  "ADDI 15 8 32                             # 28\n" \
  "ADDI 2 16 2                              # 29\n" \
  "CALL 1 0 0                               # 30 call f0\n" \
  "LI 17 2 0                                # 31 loop r17 x2\n" \
  "JZ 17 77 0                               # 32\n" \
  "LD 8 0 39                                # 33\n" \
  "LT 13 1 15                               # 34\n" \
  "LI 18 13 0                               # 35 loop r18 x13\n" \
  "JZ 18 52 0                               # 36\n" \
  "SHL 3 8 16                               # 37\n" \
  "MULI 4 8 931041202690992992              # 38\n" \
  "JEQ 1 6 52                               # 39 break\n" \
  "ADDI 5 16 55                             # 40\n" \
  "JIDX 4 42 2                              # 41 switch\n" \
  "JMP 44 0 0                               # 42\n" \
  "JMP 47 0 0                               # 43\n" \
  "ADDI 9 3 -64                             # 44\n" \
  "SHR 14 6 11                              # 45\n" \
  "JMP 50 0 0                               # 46 endcase\n" \
  "LD 9 18 57                               # 47\n" \
  "OR 5 10 3                                # 48\n" \
  "JMP 50 0 0                               # 49 endcase\n" \
  "ADDI 18 18 -1                            # 50\n" \
  "JMP 36 0 0                               # 51 back\n" \
  "ST 7 0 1                                 # 52\n" \
  "CALL 1 0 0                               # 53 call f0\n" \
  "LI 18 8 0                                # 54 loop r18 x8\n" \
  "LD 4 18 59                               # 55\n" \
  "CALL 1 0 0                               # 56 call f0\n" \
  "LI 14 2 0                                # 57\n" \
  "AND 14 18 14                             # 58\n" \
  "JNZ 14 62 0                              # 59 if\n" \
  "LI 3 -9223372036854775807 0              # 60\n" \
  "JMP 64 0 0                               # 61 endif\n" \
  "MUL 5 13 3                               # 62\n" \
  "AND 15 1 7                               # 63\n" \
  "CALL 1 0 0                               # 64 call f0\n" \
  "LI 12 82 0                               # 65\n" \
  "JLT 12 18 70                             # 66 if\n" \
  "SUB 1 16 18                              # 67\n" \
  "MOD 0 2 13                               # 68\n" \
  "JMP 71 0 0                               # 69 endif\n" \
  "ADD 8 1 7                                # 70\n" \
  "ADDI 7 11 63                             # 71\n" \
  "SAR 6 0 11                               # 72\n" \
  "ADDI 18 18 -1                            # 73\n" \
  "JNZ 18 55 0                              # 74 back\n" \
  "ADDI 17 17 -1                            # 75\n" \
  "JMP 32 0 0                               # 76 back\n" \
  "ST 16 6 2                                # 77\n" \
  "ADDI 16 16 -1                            # 78\n" \
  "JNZ 16 12 0                              # 79 back\n" \
  "MIX 9 3 8                                # 80\n" \
  "NE 13 4 11                               # 81\n" \
  "JIDX 14 83 3                             # 82 switch\n" \
  "JMP 86 0 0                               # 83\n" \
  "JMP 87 0 0                               # 84\n" \
  "JMP 89 0 0                               # 85\n" \
  "JMP 90 0 0                               # 86 endcase\n" \
  "MULI 13 3 -94                            # 87\n" \
  "JMP 90 0 0                               # 88 endcase\n" \
  "JMP 90 0 0                               # 89 endcase\n" \
  "MULI 0 10 -63                            # 90\n" \
  "ST 2 13 23                               # 91\n" \
  "HALT 0 0 0                               # 92\n" \
  ""

#include "../fuzz/interp.c"
