/*
 * main.c: the standalone Lua interpreter of this project, for both `lua` (plain)
 * and `yklua` (built with the yk toolchain). Written for this project; the Lua
 * library itself comes from PUC Lua 5.4.6.
 *
 *   lua [options] [script [args]]
 *     -e chunk   run the string 'chunk'
 *     -v         print the version
 *     --         stop handling options
 *     -          run standard input (as the script; what follows are its args)
 *
 * With no script and no -e/-v, standard input is run. The script's arguments are
 * in the global table `arg` (arg[0] is the script, arg[1..] its arguments, the
 * interpreter and options at negative indices) and are also passed as `...`.
 * An error (in a chunk or in the script) prints "lua: " and the message with a
 * traceback to stderr and exits with status 1.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

/* The same in both builds (not argv[0]), so that their error output is
 * identical and the test suite can compare it. */
static const char *const progname = "lua";

static void usage(const char *bad) {
  fprintf(stderr, "%s: unrecognized option '%s'\n", progname, bad);
  fprintf(stderr,
          "usage: %s [options] [script [args]]\n"
          "  -e chunk  run the string 'chunk'\n"
          "  -v        print the version\n"
          "  --        stop handling options\n"
          "  -         run standard input\n",
          progname);
}

/* The message handler of every protected call: the error message (or a
 * description of a non-string error value) with a traceback appended. */
static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    /* A non-string error: use its __tostring if it has one. */
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
      return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)",
                          luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* Report the error on top of the stack (if `status` is not LUA_OK); returns
 * `status`. */
static int report(lua_State *L, int status) {
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    if (msg == NULL)
      msg = "(error object is not a string)";
    fprintf(stderr, "%s: %s\n", progname, msg);
    fflush(stderr);
    lua_pop(L, 1);
  }
  return status;
}

/* Call the function below `narg` arguments on the stack, with msghandler. */
static int docall(lua_State *L, int narg) {
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  int status = lua_pcall(L, narg, 0, base);
  lua_remove(L, base);
  return status;
}

static int dochunk(lua_State *L, const char *chunk) {
  int status = luaL_loadbuffer(L, chunk, strlen(chunk), "=(command line)");
  if (status == LUA_OK)
    status = docall(L, 0);
  return report(L, status);
}

/* Run the script `argv[script]` (NULL name: stdin) with argv[script+1..] as
 * its `...`. */
static int doscript(lua_State *L, char **argv, int script) {
  const char *fname = argv[script];
  if (strcmp(fname, "-") == 0 && strcmp(argv[script - 1], "--") != 0)
    fname = NULL; /* "-" means stdin, unless it follows "--" */
  int status = luaL_loadfile(L, fname);
  if (status == LUA_OK) {
    int n = 0;
    for (int i = script + 1; argv[i] != NULL; i++, n++)
      lua_pushstring(L, argv[i]);
    status = docall(L, n);
  }
  return report(L, status);
}

/* The global `arg`: argv[script] at index 0, so options are negative. */
static void createargtable(lua_State *L, char **argv, int argc, int script) {
  lua_createtable(L, argc - script - 1, script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

/* Everything runs here, inside a protected call, so that even memory errors
 * while setting up are reported. Returns (as a boolean) whether all went well. */
static int pmain(lua_State *L) {
  int argc = (int)lua_tointeger(L, 1);
  char **argv = (char **)lua_touserdata(L, 2);
  int script = 0, ran_something = 0, show_version = 0;

  /* First pass: validate the options and find the script (if any). */
  int i;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (a[0] != '-' || strcmp(a, "-") == 0)
      break; /* the script */
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    if (strcmp(a, "-v") == 0) {
      show_version = 1;
    } else if (strncmp(a, "-e", 2) == 0) {
      if (a[2] == '\0' && (++i >= argc || argv[i] == NULL)) {
        fprintf(stderr, "%s: '-e' needs an argument\n", progname);
        lua_pushboolean(L, 0);
        return 1;
      }
    } else {
      usage(a);
      lua_pushboolean(L, 0);
      return 1;
    }
  }
  if (i < argc)
    script = i;

  if (show_version) {
    printf("%s\n", LUA_COPYRIGHT);
    fflush(stdout);
  }
  luaL_checkversion(L);
  luaL_openlibs(L);
  createargtable(L, argv, argc, script); /* no script: argv[0] at 0 */
  lua_gc(L, LUA_GCRESTART);
  lua_gc(L, LUA_GCGEN, 0, 0);

  /* Second pass: run the -e chunks in order. */
  for (int j = 1; j < (script > 0 ? script : argc); j++) {
    const char *a = argv[j];
    if (strcmp(a, "--") == 0)
      break;
    if (strncmp(a, "-e", 2) == 0) {
      const char *chunk = a[2] != '\0' ? a + 2 : argv[++j];
      ran_something = 1;
      if (dochunk(L, chunk) != LUA_OK) {
        lua_pushboolean(L, 0);
        return 1;
      }
    }
  }

  if (script > 0) {
    if (doscript(L, argv, script) != LUA_OK) {
      lua_pushboolean(L, 0);
      return 1;
    }
  } else if (!ran_something && !show_version) {
    /* No script and nothing else to do: run standard input. */
    int status = luaL_loadfile(L, NULL);
    if (status == LUA_OK)
      status = docall(L, 0);
    if (report(L, status) != LUA_OK) {
      lua_pushboolean(L, 0);
      return 1;
    }
  }
  lua_pushboolean(L, 1);
  return 1;
}

int main(int argc, char **argv) {
  lua_State *L = luaL_newstate();
  if (L == NULL) {
    fprintf(stderr, "%s: cannot create the Lua state\n", progname);
    return EXIT_FAILURE;
  }
  /* Keep the collector stopped while the libraries are opened (as pmain
   * restarts it). */
  lua_gc(L, LUA_GCSTOP);
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  int status = lua_pcall(L, 2, 1, 0);
  int ok = lua_toboolean(L, -1);
  report(L, status);
  lua_close(L);
  return (status == LUA_OK && ok) ? EXIT_SUCCESS : EXIT_FAILURE;
}
