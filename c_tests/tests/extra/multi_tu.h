// Declarations shared by multi_tu.c and extra/multi_tu_helper.c.
#ifndef MULTI_TU_H
#define MULTI_TU_H

typedef long (*binop)(long, long);

long helper_accumulate(int n);
long helper_apply(binop f, long a, long b);
binop helper_pick(int which);
long helper_calls(void);

#endif
