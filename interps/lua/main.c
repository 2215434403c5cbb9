/*
 * main.c: the standalone Lua interpreter of this project, for both `lua`
 * (plain) and `yklua` (built with the yk toolchain). Written for this project;
 * the Lua library itself comes from PUC Lua 5.4.6. It behaves as PUC Lua
 * 5.4.6's own standalone interpreter does (same options, messages, exit
 * statuses and `arg` table), so that the official suite's main.lua passes:
 *
 *   lua [options] [script [args]]
 *     -e chunk   run the string 'chunk'
 *     -i         enter interactive mode after the other options
 *     -l mod     require 'mod' into global 'mod'
 *     -l g=mod   require 'mod' into global 'g'
 *     -v         print the version
 *     -E         ignore the environment (LUA_INIT, LUA_PATH, LUA_CPATH)
 *     -W         turn warnings on
 *     --         stop handling options
 *     -          run standard input (as the script; what follows are its args)
 *   yklua only (see ljitlib.c):
 *     -jv        a line on stderr per trace compiled or aborted
 *     -jon/-joff start with the JIT on (the default) or off
 *
 * Order of work: the options are checked first (a bad one prints the usage
 * and exits with 1); -v prints the version; -E stops LUA_INIT and the path
 * variables being read; the libraries are opened and `arg` is made (the script
 * at index 0, the interpreter and options at negative indices, its arguments
 * at 1..; with no script, the interpreter's name at 0); LUA_INIT_5_4 or else
 * LUA_INIT runs (`@file` runs a file); then the -e, -l and -W options in their
 * order; then the script, with arg[1..] (read from `arg` at that moment) as its
 * `...`; then, with -i, the REPL. With no script, -e or -v, the REPL runs if
 * standard input is a terminal and standard input is run as a file otherwise.
 * The REPL reads lines with GNU readline (line editing and history on a
 * terminal; elsewhere readline prints the prompt and echoes the line, as PUC
 * Lua's readline build does): `=expr` and bare expressions print their values,
 * an incomplete statement reads more lines (prompt `_PROMPT2`).
 *
 * Errors print "<argv[0]>: <message>" (no prefix in the REPL) and, for errors
 * in Lua code, a traceback, to stderr; the exit status is then 1. Ctrl-C while
 * Lua code runs raises the error "interrupted!"; a second Ctrl-C before the
 * first is handled kills the process.
 */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

#if defined(USE_YK)
#include "ljitlib.h"
#endif

/* argv[0] (or "lua" if there is none); NULL while the REPL runs, so that its
 * error messages have no prefix. */
static const char *progname = "lua";

/* The state a Ctrl-C interrupts. */
static lua_State *interrupt_state = NULL;

/* -------------------------------------------------------------------------- */
/* Messages                                                                    */

static void message(const char *prefix, const char *msg) {
  if (prefix != NULL)
    fprintf(stderr, "%s: ", prefix);
  fprintf(stderr, "%s\n", msg);
  fflush(stderr);
}

/* Print the error message on top of the stack (if `status` is not LUA_OK)
 * and pop it; returns `status`. */
static int report(lua_State *L, int status) {
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    if (msg == NULL)
      msg = "(error object is not a string)";
    message(progname, msg);
    lua_pop(L, 1);
  }
  return status;
}

static void print_usage(const char *bad) {
  fprintf(stderr, "%s: ", progname);
  if (bad[1] == 'e' || bad[1] == 'l')
    fprintf(stderr, "'%s' needs argument\n", bad);
  else
    fprintf(stderr, "unrecognized option '%s'\n", bad);
  fprintf(stderr,
          "usage: %s [options] [script [args]]\n"
          "Available options are:\n"
          "  -e stat   execute string 'stat'\n"
          "  -i        enter interactive mode after executing 'script'\n"
          "  -l mod    require library 'mod' into global 'mod'\n"
          "  -l g=mod  require library 'mod' into global 'g'\n"
          "  -v        show version information\n"
          "  -E        ignore environment variables\n"
          "  -W        turn warnings on\n"
#if defined(USE_YK)
          "  -jv       log each trace compiled or aborted to stderr\n"
          "  -jon      start with the JIT on (the default)\n"
          "  -joff     start with the JIT off\n"
#endif
          "  --        stop handling options\n"
          "  -         stop handling options and execute stdin\n",
          progname);
  fflush(stderr);
}

static void print_version(void) {
  fputs(LUA_COPYRIGHT, stdout);
  fputs("\n", stdout);
  fflush(stdout);
}

/* -------------------------------------------------------------------------- */
/* Running code                                                                */

/* The hook a Ctrl-C installs: raise an error at the next Lua instruction. */
static void interrupted_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  luaL_error(L, "interrupted!");
}

/* SIGINT while Lua code runs. Only async-signal-safe work here: lua_sethook
 * is documented as safe to call from a signal handler. SA_RESETHAND has put
 * back the default action, so a second Ctrl-C (a C function that never
 * returns to Lua) kills the process. */
static void on_sigint(int sig) {
  (void)sig;
  lua_sethook(interrupt_state, interrupted_hook,
              LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

static void set_sigint(void (*handler)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sa.sa_flags = handler == SIG_DFL ? 0 : SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
}

/* The message handler of every protected call: the error message (or a
 * description of a non-string error value) with a traceback appended; an
 * error object with __tostring gives that string, without a traceback. */
static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
      return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)",
                          luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* Call the function below `narg` arguments on the stack, keeping `nres`
 * results, with msghandler and Ctrl-C turned into an error. */
static int docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  interrupt_state = L;
  set_sigint(on_sigint);
  int status = lua_pcall(L, narg, nres, base);
  set_sigint(SIG_DFL);
  lua_remove(L, base);
  return status;
}

/* Load with `load` (a chunk already loaded or an error) and run it. */
static int runloaded(lua_State *L, int status) {
  if (status == LUA_OK)
    status = docall(L, 0, 0);
  return report(L, status);
}

static int dostring(lua_State *L, const char *s, const char *chunkname) {
  return runloaded(L, luaL_loadbuffer(L, s, strlen(s), chunkname));
}

static int dofile(lua_State *L, const char *fname) {
  return runloaded(L, luaL_loadfile(L, fname));
}

/* -l spec: `mod` into global `mod` (a name `a-b` goes into global `a`), or
 * `g=mod` into global `g`. */
static int dolibrary(lua_State *L, const char *spec) {
  const char *eq = strchr(spec, '=');
  const char *mod = eq != NULL ? eq + 1 : spec;
  size_t globlen = eq != NULL ? (size_t)(eq - spec) : strcspn(spec, "-");
  lua_getglobal(L, "require");
  lua_pushstring(L, mod);
  int status = docall(L, 1, 1);
  if (status == LUA_OK) {
    lua_pushlstring(L, spec, globlen);
    lua_insert(L, -2);
    lua_setglobal(L, lua_tostring(L, -2));
    lua_pop(L, 1); /* the global's name */
  }
  return report(L, status);
}

/* Push arg[1..#arg] (the table as the program has it now); returns how many. */
static int pushargs(lua_State *L) {
  if (lua_getglobal(L, "arg") != LUA_TTABLE)
    luaL_error(L, "'arg' is not a table");
  int n = (int)luaL_len(L, -1);
  luaL_checkstack(L, n + 3, "too many arguments to script");
  for (int i = 1; i <= n; i++)
    lua_rawgeti(L, -i, i);
  lua_remove(L, -n - 1);
  return n;
}

/* Run the script argv[0] (the argument list's own argv, so argv[-1] is the
 * word before it): "-" is standard input unless it follows "--". */
static int doscript(lua_State *L, char **argv) {
  const char *fname = argv[0];
  if (strcmp(fname, "-") == 0 && strcmp(argv[-1], "--") != 0)
    fname = NULL;
  int status = luaL_loadfile(L, fname);
  if (status == LUA_OK) {
    int n = pushargs(L);
    status = docall(L, n, LUA_MULTRET);
  }
  return report(L, status);
}

/* LUA_INIT_5_4, else LUA_INIT: a chunk, or `@file`. */
static int run_init(lua_State *L) {
  const char *name = "=LUA_INIT_" LUA_VERSION_MAJOR "_" LUA_VERSION_MINOR;
  const char *init = getenv(name + 1);
  if (init == NULL) {
    name = "=LUA_INIT";
    init = getenv(name + 1);
  }
  if (init == NULL)
    return LUA_OK;
  if (init[0] == '@')
    return dofile(L, init + 1);
  return dostring(L, init, name);
}

/* The global `arg`: argv[script] at index 0 (argv[0] when there is no
 * script), so the interpreter and its options are at negative indices. */
static void make_arg_table(lua_State *L, char **argv, int argc, int script) {
  if (script == argc)
    script = 0;
  lua_createtable(L, argc - script - 1, script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

/* -------------------------------------------------------------------------- */
/* The REPL                                                                    */

/* Push the prompt for a first (`_PROMPT`, default "> ") or continuation
 * (`_PROMPT2`, default ">> ") line: the global's `tostring`. */
static const char *push_prompt(lua_State *L, int first) {
  if (lua_getglobal(L, first ? "_PROMPT" : "_PROMPT2") == LUA_TNIL) {
    lua_pop(L, 1);
    lua_pushstring(L, first ? "> " : ">> ");
  } else {
    luaL_tolstring(L, -1, NULL);
    lua_remove(L, -2);
  }
  return lua_tostring(L, -1);
}

/* Read a line and push it (without its newline); a first line "=e" becomes
 * "return e". Returns 0 at end of input. */
static int read_line(lua_State *L, int first) {
  const char *prompt = push_prompt(L, first);
  char *line = readline(prompt);
  lua_pop(L, 1);
  if (line == NULL)
    return 0;
  size_t len = strlen(line);
  if (len > 0 && line[len - 1] == '\n')
    line[--len] = '\0';
  if (first && line[0] == '=')
    lua_pushfstring(L, "return %s", line + 1);
  else
    lua_pushlstring(L, line, len);
  free(line);
  return 1;
}

static void remember(const char *line) {
  if (line[0] != '\0')
    add_history(line);
}

/* Is `status` a syntax error at the end of the input (more lines would
 * complete the chunk)? If so, pops the message. */
static int incomplete(lua_State *L, int status) {
  static const char eof_mark[] = "<eof>";
  const size_t mark_len = sizeof eof_mark - 1;
  if (status != LUA_ERRSYNTAX)
    return 0;
  size_t len;
  const char *msg = lua_tolstring(L, -1, &len);
  if (len < mark_len || strcmp(msg + len - mark_len, eof_mark) != 0)
    return 0;
  lua_pop(L, 1);
  return 1;
}

/* Compile the line on the stack (index 1) as `return <line>;`, which lets a
 * bare expression print its value. On success replaces the line by the chunk;
 * on failure leaves the line alone. */
static int try_as_expression(lua_State *L) {
  const char *line = lua_tostring(L, 1);
  const char *ret = lua_pushfstring(L, "return %s;", line);
  int status = luaL_loadbuffer(L, ret, strlen(ret), "=stdin");
  if (status == LUA_OK) {
    remember(line);
    lua_remove(L, -2); /* the "return" text */
    lua_remove(L, 1);  /* the line */
  } else {
    lua_pop(L, 2); /* the message and the "return" text */
  }
  return status;
}

/* Compile the line at index 1 as a statement, reading more lines while it is
 * incomplete. Leaves the chunk (or the error message) alone on the stack. */
static int load_statement(lua_State *L) {
  for (;;) {
    size_t len;
    const char *text = lua_tolstring(L, 1, &len);
    int status = luaL_loadbuffer(L, text, len, "=stdin");
    if (!incomplete(L, status) || !read_line(L, 0)) {
      remember(text);
      lua_remove(L, 1);
      return status;
    }
    /* text .. "\n" .. next line, at index 1 */
    lua_pushliteral(L, "\n");
    lua_insert(L, -2);
    lua_concat(L, 3);
  }
}

/* Read and compile one REPL entry; -1 at end of input. */
static int load_entry(lua_State *L) {
  lua_settop(L, 0);
  if (!read_line(L, 1))
    return -1;
  int status = try_as_expression(L);
  if (status != LUA_OK)
    status = load_statement(L);
  return status;
}

/* Print whatever the entry returned, with the global `print`. */
static void print_results(lua_State *L) {
  int n = lua_gettop(L);
  if (n == 0)
    return;
  luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
  lua_getglobal(L, "print");
  lua_insert(L, 1);
  if (lua_pcall(L, n, 0, 0) != LUA_OK)
    message(progname, lua_pushfstring(L, "error calling 'print' (%s)",
                                      lua_tostring(L, -1)));
}

static void repl(lua_State *L) {
  const char *saved = progname;
  progname = NULL;
  rl_readline_name = "lua";
  int status;
  while ((status = load_entry(L)) != -1) {
    if (status == LUA_OK)
      status = docall(L, 0, LUA_MULTRET);
    if (status == LUA_OK)
      print_results(L);
    else
      report(L, status);
  }
  lua_settop(L, 0);
  fputs("\n", stdout);
  fflush(stdout);
  progname = saved;
}

/* -------------------------------------------------------------------------- */
/* Options                                                                     */

struct options {
  int script; /* index of the script in argv, argc if none */
  int e, i, v, E;
  const char *bad; /* the offending option, if any */
#if defined(USE_YK)
  struct yk_jit_options jit;
#endif
};

/* Does option `a` (e.g. "-e", "-l") take its argument from the next word? */
static int needs_next(const char *a) { return a[2] == '\0'; }

/* Check the options; 0 (and o->bad set) on a bad one. */
static int parse_options(int argc, char **argv, struct options *o) {
  o->script = argc;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (a[0] != '-') { /* the script */
      o->script = i;
      return 1;
    }
    switch (a[1]) {
    case '\0': /* "-": standard input is the script */
      o->script = i;
      return 1;
    case '-': /* "--": the next word (if any) is the script */
      if (a[2] != '\0')
        break;
      if (i + 1 < argc)
        o->script = i + 1;
      return 1;
    case 'E':
    case 'W':
    case 'i':
    case 'v':
      if (a[2] != '\0')
        break;
      if (a[1] == 'E')
        o->E = 1;
      else if (a[1] == 'i')
        o->i = o->v = 1;
      else if (a[1] == 'v')
        o->v = 1;
      continue;
    case 'e':
    case 'l':
      if (a[1] == 'e')
        o->e = 1;
      if (needs_next(a)) {
        i++;
        if (i >= argc || argv[i] == NULL || argv[i][0] == '-') {
          o->bad = a;
          return 0;
        }
      }
      continue;
#if defined(USE_YK)
    case 'j':
      if (yk_jit_option(&o->jit, a + 2))
        continue;
      break;
#endif
    default:
      break;
    }
    o->bad = a;
    return 0;
  }
  return 1;
}

/* Run the -e, -l and -W options before the script, in order. */
static int run_options(lua_State *L, char **argv, int script) {
  for (int i = 1; i < script; i++) {
    const char *a = argv[i];
    if (a[0] != '-')
      continue;
    switch (a[1]) {
    case 'e':
    case 'l': {
      const char *val = needs_next(a) ? argv[++i] : a + 2;
      int status = a[1] == 'e' ? dostring(L, val, "=(command line)")
                               : dolibrary(L, val);
      if (status != LUA_OK)
        return 0;
      break;
    }
    case 'W':
      lua_warning(L, "@on", 0);
      break;
    default:
      break;
    }
  }
  return 1;
}

/* Everything runs here, inside a protected call, so that even memory errors
 * while setting up are reported. Returns (as a boolean) whether all went
 * well. */
static int pmain(lua_State *L) {
  int argc = (int)lua_tointeger(L, 1);
  char **argv = (char **)lua_touserdata(L, 2);
  struct options o;
  memset(&o, 0, sizeof o);
  luaL_checkversion(L);
  if (!parse_options(argc, argv, &o)) {
    print_usage(o.bad);
    return 0;
  }
  if (o.v)
    print_version();
  if (o.E) {
    /* The package library reads LUA_PATH/LUA_CPATH unless this is set. */
    lua_pushboolean(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
  }
  luaL_openlibs(L);
#if defined(USE_YK)
  yk_jit_setup(L, &o.jit);
#endif
  make_arg_table(L, argv, argc, o.script);
  lua_gc(L, LUA_GCRESTART);
  lua_gc(L, LUA_GCGEN, 0, 0);
  if (!o.E && run_init(L) != LUA_OK)
    return 0;
  if (!run_options(L, argv, o.script))
    return 0;
  if (o.script < argc && doscript(L, argv + o.script) != LUA_OK)
    return 0;
  if (o.i) {
    repl(L);
  } else if (o.script == argc && !o.e && !o.v) {
    if (isatty(STDIN_FILENO)) {
      print_version();
      repl(L);
    } else if (dofile(L, NULL) != LUA_OK) {
      return 0;
    }
  }
  lua_pushboolean(L, 1);
  return 1;
}

int main(int argc, char **argv) {
  if (argv[0] != NULL && argv[0][0] != '\0')
    progname = argv[0];
  lua_State *L = luaL_newstate();
  if (L == NULL) {
#if defined(USE_YK)
    /* A JIT setting the runtime refused (a bad YK_*, YKD_* or
       YKLUA_RECURSION value) was reported just above: say so rather than
       blame memory. */
    message(progname, "cannot create state: see the error above "
                      "(or not enough memory)");
#else
    message(progname, "cannot create state: not enough memory");
#endif
    return EXIT_FAILURE;
  }
  /* Keep the collector stopped while the libraries are opened (pmain
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
