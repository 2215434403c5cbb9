/*
 * ljitlib.h: yklua's `jit` module and its -j command-line options (the yk
 * build only; see ljitlib.c).
 */

#ifndef LJITLIB_H
#define LJITLIB_H

#include "lua.h"

/* What the -j options asked for. */
struct yk_jit_options {
  int verbose; /* -jv: a line on stderr per trace compiled or aborted */
  int off;     /* -joff: start with the JIT off (-jon: on, the default) */
};

/* Record the -j option whose text after "-j" is `rest` ("v", "on", "off");
 * 0 if it is not one. */
int yk_jit_option(struct yk_jit_options *o, const char *rest);

/* Apply the options to L's meta-tracer and put `jit` in package.preload. */
void yk_jit_setup(lua_State *L, const struct yk_jit_options *o);

/* Open the `jit` module (what `require "jit"` runs). */
int luaopen_jit(lua_State *L);

#endif
