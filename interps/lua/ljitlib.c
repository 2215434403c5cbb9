/*
 * ljitlib.c: the `jit` module of yklua, with LuaJIT's names where they fit,
 * over the yk runtime's C API (yk.h). In package.preload, so `require "jit"`
 * loads it; the plain `lua` has no such module (this file is empty there).
 *
 *   jit.on()       trace and run traces again (after jit.off)
 *   jit.off()      stop: no new traces are recorded, compiled traces are not
 *                  entered any more (a trace already running finishes its
 *                  iteration); a recording in progress is given up
 *   jit.flush()    drop every compiled trace: none is entered again, and hot
 *                  loops are traced afresh
 *   jit.status()   true if the JIT is on (false with YK_JITC=none, whatever
 *                  jit.on says)
 *   jit.stats()    the runtime's statistics: a table of counters (integers,
 *                  e.g. traces_compiled_ok) and durations (floats, seconds;
 *                  measured only with YKD_LOG_STATS set)
 *   jit.version    "yk <version>"; also jit.os, jit.arch
 *
 * and the -j options: -jv writes a line per trace compiled or aborted to
 * stderr ("[TRACE compiled chunk:line]", "[TRACE aborted chunk:line --
 * reason]", and "side-trace" and "re-recorded" lines), from the runtime's
 * trace event callback.
 */

#include "ljitlib.h"

#if defined(USE_YK)

#include <stdio.h>
#include <string.h>

#include <yk.h>

#include "lauxlib.h"
#include "lstate.h"

static YkMT *mt_of(lua_State *L) { return G(L)->yk_mt; }

int yk_jit_option(struct yk_jit_options *o, const char *rest) {
  if (strcmp(rest, "v") == 0)
    o->verbose = 1;
  else if (strcmp(rest, "on") == 0)
    o->off = 0;
  else if (strcmp(rest, "off") == 0)
    o->off = 1;
  else
    return 0;
  return 1;
}

/* -jv: called by the runtime, possibly on its compile thread; one fprintf is
 * one locked write, so lines do not interleave. */
static void log_trace_event(void *data, YkTraceEvent event, const char *where,
                            const char *reason) {
  (void)data;
  if (where == NULL)
    where = "?";
  switch (event) {
  case YK_TRACE_COMPILED:
    fprintf(stderr, "[TRACE compiled %s]\n", where);
    break;
  case YK_SIDE_TRACE_COMPILED:
    fprintf(stderr, "[TRACE side-trace %s]\n", where);
    break;
  case YK_TRACE_RE_RECORDED:
    fprintf(stderr, "[TRACE re-recorded %s]\n", where);
    break;
  case YK_TRACE_ABORTED:
    fprintf(stderr, "[TRACE aborted %s -- %s]\n", where,
            reason != NULL ? reason : "?");
    break;
  case YK_TRACE_DEFERRED:
    fprintf(stderr, "[TRACE deferred %s -- %s]\n", where,
            reason != NULL ? reason : "?");
    break;
  }
}

/* The functions take no arguments: LuaJIT's per-function forms
 * (jit.on(f)) have no equivalent here and are refused. */
static void no_args(lua_State *L, const char *name) {
  if (lua_gettop(L) != 0)
    luaL_error(L, "jit.%s takes no arguments (no per-function control)",
               name);
}

static int jit_on(lua_State *L) {
  no_args(L, "on");
  yk_mt_set_enabled(mt_of(L), true);
  return 0;
}

static int jit_off(lua_State *L) {
  no_args(L, "off");
  yk_mt_set_enabled(mt_of(L), false);
  return 0;
}

static int jit_flush(lua_State *L) {
  no_args(L, "flush");
  yk_mt_flush(mt_of(L));
  return 0;
}

static int jit_status(lua_State *L) {
  lua_pushboolean(L, yk_mt_enabled(mt_of(L)));
  return 1;
}

static int jit_stats(lua_State *L) {
  size_t n = yk_mt_stats(mt_of(L), NULL, 0);
  YkStat *stats = lua_newuserdatauv(L, n * sizeof(YkStat), 0);
  n = yk_mt_stats(mt_of(L), stats, n);
  lua_createtable(L, 0, (int)n);
  for (size_t i = 0; i < n; i++) {
    if (stats[i].kind == YK_STAT_COUNTER)
      lua_pushinteger(L, (lua_Integer)stats[i].count);
    else
      lua_pushnumber(L, (lua_Number)stats[i].seconds);
    lua_setfield(L, -2, stats[i].name);
  }
  return 1;
}

static const luaL_Reg jit_funcs[] = {
    {"on", jit_on},         {"off", jit_off},     {"flush", jit_flush},
    {"status", jit_status}, {"stats", jit_stats}, {NULL, NULL}};

int luaopen_jit(lua_State *L) {
  luaL_newlib(L, jit_funcs);
  lua_pushfstring(L, "yk %s", yk_version());
  lua_setfield(L, -2, "version");
  lua_pushliteral(L, "Linux");
  lua_setfield(L, -2, "os");
  lua_pushliteral(L, "x64");
  lua_setfield(L, -2, "arch");
  return 1;
}

void yk_jit_setup(lua_State *L, const struct yk_jit_options *o) {
  YkMT *mt = mt_of(L);
  if (o->off)
    yk_mt_set_enabled(mt, false);
  if (o->verbose)
    yk_mt_set_trace_event_fn(mt, log_trace_event, NULL);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_jit);
  lua_setfield(L, -2, "jit");
  lua_pop(L, 1);
}

#endif
