//! `cargo xtask lua`: build PUC Lua 5.4.6 twice from the same annotated sources, as
//! `<target>/lua/lua` (plain, the baseline) and `<target>/lua/yklua` (built with the yk
//! toolchain, JIT on); and `cargo xtask lua-demo`, which times the two on `interps/lua/demo.lua`.
//!
//! The Lua sources come from the `lua-src` crate (a dependency of xtask, so cargo has fetched
//! it; found with `cargo metadata`). They are copied to `<target>/lua/build/src/`, patched with
//! `interps/lua/yk.patch` (`patch -p1`) and compiled with `interps/lua/main.c` by the
//! toolchain's clang with `yk-config --cflags`, once without and once with `USE_YK` and
//! `yk-config --cppflags`. The plain build links with the same clang and LTO flags minus
//! `yk-ld`; `yklua` links with `yk-config --ldflags --libs`. Re-runs recompile only what changed
//! (file contents and flags are compared, not just re-copied) and relink only when an object,
//! the flags or the toolchain changed.

use std::{
    collections::BTreeMap,
    fs::{self, File},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::Mutex,
    thread,
    time::{Instant, SystemTime},
};

use anyhow::{bail, Context, Result};
use c_tests::toolchain::{self, Toolchain};

use crate::{median, run_ok, workspace_root, BenchOpts};

/// The `lua-src` release whose sources we build (also pinned in `xtask/Cargo.toml`).
const LUA_SRC_VERSION: &str = "546.0.2";
/// Where the Lua sources are inside the `lua-src` crate.
const LUA_SRC_SUBDIR: &str = "lua-5.4.6";
/// Defines for both builds: the POSIX/Linux facilities of `os` and `io` (`popen`, `mkstemp`,
/// `dlopen`), as Lua's own `make linux` has.
const DEFINES: &[&str] = &["-DLUA_USE_LINUX"];
/// Libraries both builds link with.
/// Libraries both builds link with (readline: the REPL of `main.c`, `lua -i`).
const LIBS: &[&str] = &["-lm", "-ldl", "-lreadline"];
/// Our own C files in `interps/lua/`, compiled into both builds with Lua's sources.
const OUR_SOURCES: &[&str] = &["main.c", "ljitlib.c"];

/// Options of `cargo xtask lua`.
#[derive(Debug, PartialEq, Eq)]
pub struct BuildOpts {
    /// Use the release toolchain (`target/release/`) rather than the debug one.
    pub release: bool,
}

/// Parses `cargo xtask lua [--release]`.
pub fn parse_build_opts(args: &[String]) -> Result<BuildOpts> {
    match args {
        [] => Ok(BuildOpts { release: false }),
        [a] if a == "--release" => Ok(BuildOpts { release: true }),
        _ => bail!("unknown `lua` arguments {args:?}\n{}", crate::USAGE),
    }
}

/// The two interpreters `build` produced.
pub struct LuaBins {
    /// The plain build.
    pub lua: PathBuf,
    /// The yk build.
    pub yklua: PathBuf,
    /// How to link yklua again elsewhere (for `cargo xtask install`).
    pub yklua_relink: Relink,
}

/// yklua's link, minus its output and its rpath to the build tree's `libykcapi`.
pub struct Relink {
    cc: PathBuf,
    ldflags: Vec<String>,
    objs: Vec<PathBuf>,
    libs: Vec<String>,
}

impl Relink {
    /// Link yklua as `exe`, finding `libykcapi.so` through DT_RPATH `rpath`
    /// (e.g. `$ORIGIN/../lib`).
    pub fn link(&self, exe: &Path, rpath: &str) -> Result<()> {
        let tmp = exe.with_extension("tmp");
        run_ok(
            &format!("linking {}", exe.display()),
            Command::new(&self.cc)
                .args(&self.ldflags)
                .args(&self.objs)
                .args(&self.libs)
                .arg(format!("-Wl,-rpath,{rpath}"))
                .arg("-Wl,--disable-new-dtags")
                .arg("-o")
                .arg(&tmp),
        )?;
        fs::rename(&tmp, exe)
            .with_context(|| format!("renaming {} to {}", tmp.display(), exe.display()))?;
        Ok(())
    }
}

/// The target dir (`target/`) xtask itself was built in: the toolchain, the build dir and the
/// binaries go there.
pub fn target_dir() -> Result<PathBuf> {
    Ok(toolchain::profile_dir_of_current_exe()?
        .parent()
        .context("xtask's profile dir has no parent")?
        .to_owned())
}

/// `cargo xtask lua`: build the toolchain in the chosen profile, then both interpreters.
pub fn build(opts: &BuildOpts) -> Result<LuaBins> {
    let t0 = Instant::now();
    let target = target_dir()?;
    let profile_dir = target.join(if opts.release { "release" } else { "debug" });
    toolchain::build_toolchain(&profile_dir)?;
    let tc = Toolchain::find(&profile_dir)?;

    let out_dir = target.join("lua");
    fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    // Two builds at once (e.g. the test suite and a benchmark) would trample on each other's
    // objects: take turns.
    let lock_path = out_dir.join(".lock");
    let lock =
        File::create(&lock_path).with_context(|| format!("creating {}", lock_path.display()))?;
    lock.lock()
        .with_context(|| format!("locking {}", lock_path.display()))?;

    let build_dir = out_dir.join("build");
    let src_dir = build_dir.join("src");
    let pristine = lua_src_dir()?;
    let patch = workspace_root().join("interps/lua/yk.patch");
    stage_sources(&pristine, &patch, &build_dir, &src_dir)?;

    let ours = workspace_root().join("interps/lua");
    let mut sources: Vec<PathBuf> = c_files(&src_dir)?;
    sources.extend(OUR_SOURCES.iter().map(|f| ours.join(f)));
    let mut headers = header_files(&src_dir)?;
    headers.extend(header_files(&ours)?);
    // yk.h: ljitlib.c uses the runtime's C API.
    headers.push(workspace_root().join("ykcapi/yk.h"));
    let deps_mtime = newest_mtime(&headers)?;

    let include = format!("-I{}", src_dir.display());
    let plain_cflags: Vec<String> = tc
        .cflags
        .iter()
        .cloned()
        .chain(DEFINES.iter().map(|s| s.to_string()))
        .chain([include.clone()])
        .collect();
    let yk_cflags: Vec<String> = tc
        .cflags
        .iter()
        .chain(&tc.cppflags)
        .cloned()
        .chain(DEFINES.iter().map(|s| s.to_string()))
        .chain(["-DUSE_YK".to_owned(), include])
        .collect();
    let plain_ldflags = plain_ldflags(&tc.ldflags)?;
    let yk_ldflags: Vec<String> = tc.ldflags.clone();

    let yk_obj_dir = build_dir.join("yk");
    let bins = LuaBins {
        lua: out_dir.join("lua"),
        yklua: out_dir.join("yklua"),
        yklua_relink: Relink {
            cc: tc.cc.clone(),
            ldflags: yk_ldflags.clone(),
            objs: sources
                .iter()
                .map(|s| {
                    let stem = s.file_stem().context("source without a name")?;
                    Ok(yk_obj_dir.join(stem).with_extension("o"))
                })
                .collect::<Result<_>>()?,
            libs: LIBS
                .iter()
                .map(|s| s.to_string())
                .chain(
                    tc.libs
                        .iter()
                        .filter(|a| !a.starts_with("-Wl,-rpath,"))
                        .cloned(),
                )
                .collect(),
        },
    };
    let variants = [
        Variant {
            name: "plain",
            cflags: plain_cflags,
            ldflags: plain_ldflags,
            libs: LIBS.iter().map(|s| s.to_string()).collect(),
            link_deps: vec![],
            exe: bins.lua.clone(),
        },
        Variant {
            name: "yk",
            cflags: yk_cflags,
            ldflags: yk_ldflags,
            libs: LIBS
                .iter()
                .map(|s| s.to_string())
                .chain(tc.libs.clone())
                // The rpath to libykcapi as DT_RPATH rather than DT_RUNPATH, which
                // LD_LIBRARY_PATH overrides: `cargo run` (so `cargo xtask ...`) and `cargo test`
                // put target/debug in LD_LIBRARY_PATH, and a yklua built with the release
                // toolchain would silently run the debug runtime.
                .chain(["-Wl,--disable-new-dtags".to_owned()])
                .collect(),
            // A changed yk-ld or runtime must relink yklua.
            link_deps: vec![profile_dir.join("yk-ld"), profile_dir.join("libykcapi.so")],
            exe: bins.yklua.clone(),
        },
    ];
    for v in &variants {
        v.build(&tc.cc, &sources, &build_dir.join(v.name), deps_mtime)?;
        debug_assert!(v.name != "yk" || build_dir.join(v.name) == yk_obj_dir);
    }
    eprintln!(
        "lua: {} and {} are up to date ({} toolchain, {:.1}s)",
        bins.lua.display(),
        bins.yklua.display(),
        if opts.release { "release" } else { "debug" },
        t0.elapsed().as_secs_f64()
    );
    drop(lock);
    Ok(bins)
}

/// `yk-config --ldflags` without the argument that selects `yk-ld` as the linker: the plain
/// build links with the same clang, LTO and optimisation flags and `ld.lld`, untransformed.
fn plain_ldflags(yk_ldflags: &[String]) -> Result<Vec<String>> {
    let plain: Vec<String> = yk_ldflags
        .iter()
        .filter(|a| !a.contains("yk-ld"))
        .cloned()
        .collect();
    if plain.len() + 1 != yk_ldflags.len() {
        bail!(
            "expected exactly one argument naming yk-ld in `yk-config --ldflags`, got {yk_ldflags:?}"
        );
    }
    Ok(plain)
}

/// The directory of the Lua sources inside the `lua-src` crate, as cargo has unpacked it.
fn lua_src_dir() -> Result<PathBuf> {
    let out = crate::cargo()
        .args(["metadata", "--format-version", "1"])
        .stderr(Stdio::inherit())
        .output()
        .context("running `cargo metadata`")?;
    if !out.status.success() {
        bail!("`cargo metadata` failed ({})", out.status);
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("parsing `cargo metadata` output")?;
    let manifest = find_lua_src(&meta)?;
    let dir = Path::new(&manifest)
        .parent()
        .context("lua-src's manifest has no parent dir")?
        .join(LUA_SRC_SUBDIR);
    if !dir.join("lua.h").is_file() {
        bail!(
            "{} has no lua.h: not the expected lua-src layout",
            dir.display()
        );
    }
    Ok(dir)
}

/// The manifest path of `lua-src` `LUA_SRC_VERSION` in `cargo metadata` output.
fn find_lua_src(meta: &serde_json::Value) -> Result<String> {
    let pkgs = meta["packages"]
        .as_array()
        .context("`cargo metadata` output has no packages")?;
    pkgs.iter()
        .find(|p| p["name"] == "lua-src" && p["version"] == LUA_SRC_VERSION)
        .and_then(|p| p["manifest_path"].as_str())
        .map(str::to_owned)
        .with_context(|| {
            format!("lua-src {LUA_SRC_VERSION} is not among xtask's dependencies (see xtask/Cargo.toml)")
        })
}

/// Copy the pristine sources to a scratch dir, patch them, and update `src_dir` from it,
/// writing only files whose contents changed so that their modification times say what needs
/// recompiling.
fn stage_sources(pristine: &Path, patch: &Path, build_dir: &Path, src_dir: &Path) -> Result<()> {
    let staging = build_dir.join("staging");
    if staging.exists() {
        fs::remove_dir_all(&staging).with_context(|| format!("removing {}", staging.display()))?;
    }
    fs::create_dir_all(&staging)?;
    for f in files_in(pristine, |_| true)? {
        let name = f.file_name().context("source without a name")?;
        fs::copy(&f, staging.join(name)).with_context(|| format!("copying {}", f.display()))?;
    }
    let patch_file = File::open(patch).with_context(|| format!("opening {}", patch.display()))?;
    let out = Command::new("patch")
        .args([
            "-p1",
            "--forward",
            "--batch",
            "--no-backup-if-mismatch",
            "-d",
        ])
        .arg(&staging)
        .stdin(patch_file)
        .output()
        .context("running `patch` (install it with `cargo xtask setup`)")?;
    if !out.status.success() {
        bail!(
            "{} does not apply to the Lua sources in {} ({}):\n{}{}",
            patch.display(),
            pristine.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fs::create_dir_all(src_dir)?;
    let staged = files_in(&staging, |_| true)?;
    let mut keep = std::collections::HashSet::new();
    for f in &staged {
        let name = f.file_name().context("staged file without a name")?;
        let dst = src_dir.join(name);
        keep.insert(dst.clone());
        let new = fs::read(f)?;
        if fs::read(&dst).ok().as_deref() != Some(&new[..]) {
            fs::write(&dst, &new).with_context(|| format!("writing {}", dst.display()))?;
        }
    }
    for f in files_in(src_dir, |_| true)? {
        if !keep.contains(&f) {
            fs::remove_file(&f)?;
        }
    }
    fs::remove_dir_all(&staging)?;
    Ok(())
}

/// The regular files in `dir` whose names satisfy `pred`, sorted.
fn files_in(dir: &Path, pred: impl Fn(&str) -> bool) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let e = e?;
        if e.file_type()?.is_file() && e.file_name().to_str().is_some_and(&pred) {
            out.push(e.path());
        }
    }
    out.sort();
    Ok(out)
}

fn c_files(dir: &Path) -> Result<Vec<PathBuf>> {
    files_in(dir, |n| n.ends_with(".c"))
}

fn header_files(dir: &Path) -> Result<Vec<PathBuf>> {
    files_in(dir, |n| n.ends_with(".h"))
}

fn mtime(p: &Path) -> Result<SystemTime> {
    fs::metadata(p)
        .and_then(|m| m.modified())
        .with_context(|| format!("reading the modification time of {}", p.display()))
}

/// The newest modification time of `files` (the epoch for none).
fn newest_mtime(files: &[PathBuf]) -> Result<SystemTime> {
    files
        .iter()
        .try_fold(SystemTime::UNIX_EPOCH, |acc, f| Ok(acc.max(mtime(f)?)))
}

/// Is `out` missing, or older than `than`?
fn stale(out: &Path, than: SystemTime) -> bool {
    match fs::metadata(out).and_then(|m| m.modified()) {
        Ok(t) => t < than,
        Err(_) => true,
    }
}

/// Write `contents` to `path` unless it already holds exactly that; returns the file's
/// modification time (so a change of flags makes everything built with them stale).
fn write_stamp(path: &Path, contents: &str) -> Result<SystemTime> {
    if fs::read_to_string(path).ok().as_deref() != Some(contents) {
        fs::write(path, contents).with_context(|| format!("writing {}", path.display()))?;
    }
    mtime(path)
}

/// One of the two builds.
struct Variant {
    name: &'static str,
    cflags: Vec<String>,
    ldflags: Vec<String>,
    libs: Vec<String>,
    /// Files besides the objects whose change requires relinking.
    link_deps: Vec<PathBuf>,
    exe: PathBuf,
}

impl Variant {
    /// Compile the stale objects of `sources` into `obj_dir` and link `exe` if it is stale.
    fn build(
        &self,
        cc: &Path,
        sources: &[PathBuf],
        obj_dir: &Path,
        headers_mtime: SystemTime,
    ) -> Result<()> {
        fs::create_dir_all(obj_dir)?;
        let cflags_mtime = write_stamp(
            &obj_dir.join("cflags"),
            &format!("{}\n{}\n", cc.display(), self.cflags.join("\n")),
        )?;
        let mut objs = Vec::new();
        let mut todo = Vec::new();
        for src in sources {
            let stem = src
                .file_stem()
                .and_then(|s| s.to_str())
                .context("source without a name")?;
            let obj = obj_dir.join(format!("{stem}.o"));
            let newest_input = mtime(src)?.max(headers_mtime).max(cflags_mtime);
            if stale(&obj, newest_input) {
                todo.push((src.clone(), obj.clone()));
            }
            objs.push(obj);
        }
        if !todo.is_empty() {
            eprintln!("lua: compiling {} files ({})", todo.len(), self.name);
            self.compile_all(cc, todo)?;
        }

        let mut link_cmd = Command::new(cc);
        link_cmd.args(&self.ldflags).args(&objs).args(&self.libs);
        let link_mtime = write_stamp(
            &obj_dir.join("ldflags"),
            &format!(
                "{}\n{}\n{}\n",
                cc.display(),
                self.ldflags.join("\n"),
                self.libs.join("\n")
            ),
        )?;
        let newest = newest_mtime(&objs)?
            .max(link_mtime)
            .max(newest_mtime(&self.link_deps)?);
        if stale(&self.exe, newest) {
            eprintln!("lua: linking {}", self.exe.display());
            // Link to a scratch name and rename, so that a failed link never leaves a broken
            // binary behind and a running test never sees a half-written one.
            let tmp = self.exe.with_extension("tmp");
            let t = Instant::now();
            run_ok(
                &format!("linking {}", self.exe.display()),
                link_cmd.arg("-o").arg(&tmp),
            )?;
            fs::rename(&tmp, &self.exe)?;
            eprintln!(
                "lua: linked {} in {:.1}s",
                self.exe.display(),
                t.elapsed().as_secs_f64()
            );
        }
        Ok(())
    }

    /// Compile `(source, object)` pairs, as many at once as there are CPUs.
    fn compile_all(&self, cc: &Path, todo: Vec<(PathBuf, PathBuf)>) -> Result<()> {
        let queue = Mutex::new(todo);
        let errors = Mutex::new(BTreeMap::new());
        let jobs = thread::available_parallelism().map_or(2, |n| n.get());
        thread::scope(|s| {
            for _ in 0..jobs {
                s.spawn(|| loop {
                    let Some((src, obj)) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    let out = Command::new(cc)
                        .args(&self.cflags)
                        .arg("-c")
                        .arg(&src)
                        .arg("-o")
                        .arg(&obj)
                        .output();
                    let failure = match out {
                        Ok(o) if o.status.success() => continue,
                        Ok(o) => format!("{}\n{}", o.status, String::from_utf8_lossy(&o.stderr)),
                        Err(e) => format!("could not run {}: {e}", cc.display()),
                    };
                    // A half-written object must not look up to date next time.
                    let _ = fs::remove_file(&obj);
                    errors.lock().unwrap().insert(src, failure);
                });
            }
        });
        let errors = errors.into_inner().unwrap();
        if let Some((src, msg)) = errors.iter().next() {
            bail!(
                "compiling {} ({} build) failed ({} files failed): {msg}",
                src.display(),
                self.name,
                errors.len()
            );
        }
        Ok(())
    }
}

/// Parses `cargo xtask lua-demo [--runs N] [--debug]` (5 runs unless told otherwise).
pub fn parse_demo_opts(args: &[String]) -> Result<BenchOpts> {
    crate::parse_bench_opts(args, "lua-demo", 5)
}

/// The user + system CPU time of all waited-for child processes so far, in seconds.
fn children_cpu_secs() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru);
        ru
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(ru.ru_utime) + secs(ru.ru_stime)
}

/// `cargo xtask lua-demo`: build both interpreters, run `interps/lua/demo.lua` under `lua`,
/// `yklua` with `YK_JITC=none` and `yklua` with the JIT, alternately, and print the medians and
/// their ratios, of wall-clock time and of CPU time (user + system, all threads: the JIT
/// compiles on a thread of its own). On a machine shared with other work the CPU times are the
/// steadier measure. All runs must print the same output.
pub fn demo(opts: &BenchOpts) -> Result<()> {
    let bins = build(&BuildOpts {
        release: !opts.debug,
    })?;
    let script = workspace_root().join("interps/lua/demo.lua");
    let configs: [(&str, &Path, Option<&str>); 3] = [
        ("lua", &bins.lua, None),
        ("yklua, YK_JITC=none", &bins.yklua, Some("none")),
        ("yklua, JIT on", &bins.yklua, Some("llvm")),
    ];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); configs.len()];
    let mut cpu_times: Vec<Vec<f64>> = vec![Vec::new(); configs.len()];
    let mut expected: Option<Vec<u8>> = None;
    let stats_path = target_dir()?.join("lua").join("lua-demo-stats.json");
    let mut traces = 0;
    for run in 0..opts.runs {
        let mut line = format!("run {}/{}:", run + 1, opts.runs);
        for (k, (name, exe, jitc)) in configs.iter().enumerate() {
            let mut cmd = Command::new(exe);
            // (yklua's rpath wins over it anyway, see `build`; but nothing here should depend
            // on what `cargo run` put there.)
            cmd.arg(&script)
                .env_remove("LD_LIBRARY_PATH")
                .stderr(Stdio::inherit());
            if let Some(j) = jitc {
                cmd.env("YK_JITC", j);
            }
            let jit_on = *jitc == Some("llvm");
            if jit_on {
                // The runtime's statistics show whether the JIT really ran.
                let _ = fs::remove_file(&stats_path);
                cmd.env("YKD_LOG_STATS", &stats_path);
            }
            let (t, cpu0) = (Instant::now(), children_cpu_secs());
            let out = cmd
                .output()
                .with_context(|| format!("running {}", exe.display()))?;
            let took = t.elapsed().as_secs_f64();
            let cpu = children_cpu_secs() - cpu0;
            if !out.status.success() {
                bail!(
                    "{name}: {} {} failed ({})",
                    exe.display(),
                    script.display(),
                    out.status
                );
            }
            match &expected {
                None => expected = Some(out.stdout),
                Some(e) if *e != out.stdout => bail!(
                    "{name} printed something else:\n{}\nexpected:\n{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(e)
                ),
                Some(_) => {}
            }
            if jit_on {
                let stats = fs::read(&stats_path)
                    .with_context(|| format!("reading {}", stats_path.display()))?;
                let stats: serde_json::Value = serde_json::from_slice(&stats)
                    .with_context(|| format!("parsing {}", stats_path.display()))?;
                let compiled = stats["traces_compiled_ok"].as_u64().unwrap_or(0);
                if compiled == 0 {
                    bail!("{name}: no trace was compiled (statistics: {stats})");
                }
                traces = compiled;
            }
            times[k].push(took);
            cpu_times[k].push(cpu);
            line.push_str(&format!(" {name} {took:.3}s ({cpu:.3}s CPU);"));
        }
        eprintln!("{line}");
    }
    println!(
        "lua-demo: {} runs of {} ({} toolchain)",
        opts.runs,
        script.display(),
        if opts.debug { "debug" } else { "release" }
    );
    println!("  (the JIT compiled {traces} trace(s) in its last run)");
    for (what, ts) in [("wall-clock", &times), ("CPU", &cpu_times)] {
        let med: Vec<f64> = ts.iter().map(|t| median(t)).collect();
        println!(" {what} time:");
        for ((name, _, _), m) in configs.iter().zip(&med) {
            println!("  {name:<22} median {m:.3}s");
        }
        println!(
            "  yklua (no JIT) / lua   {:.2}x the time (the cost of the instrumentation)",
            med[1] / med[0]
        );
        println!("  lua / yklua (JIT)      {:.2}x speed-up", med[0] / med[2]);
        println!("  yklua no JIT / JIT     {:.2}x speed-up", med[1] / med[2]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn build_opts() {
        assert_eq!(parse_build_opts(&[]).unwrap(), BuildOpts { release: false });
        assert_eq!(
            parse_build_opts(&strings(&["--release"])).unwrap(),
            BuildOpts { release: true }
        );
        assert!(parse_build_opts(&strings(&["--fast"])).is_err());
    }

    #[test]
    fn demo_opts() {
        let o = parse_demo_opts(&strings(&["--runs", "3", "--debug"])).unwrap();
        assert_eq!(
            o,
            BenchOpts {
                runs: 3,
                debug: true
            }
        );
        assert!(parse_demo_opts(&strings(&["--runs", "0"])).is_err());
        assert!(parse_demo_opts(&strings(&["--runs"])).is_err());
    }

    #[test]
    fn plain_ldflags_drop_only_yk_ld() {
        let yk = strings(&["-flto", "-O2", "-fuse-ld=lld", "--ld-path=/t/debug/yk-ld"]);
        assert_eq!(
            plain_ldflags(&yk).unwrap(),
            strings(&["-flto", "-O2", "-fuse-ld=lld"])
        );
        assert!(plain_ldflags(&strings(&["-flto"])).is_err());
    }

    #[test]
    fn lua_src_found_in_metadata() {
        let meta = serde_json::json!({"packages": [
            {"name": "lua-src", "version": "1.0.0", "manifest_path": "/old/Cargo.toml"},
            {"name": "lua-src", "version": LUA_SRC_VERSION, "manifest_path": "/x/Cargo.toml"},
        ]});
        assert_eq!(find_lua_src(&meta).unwrap(), "/x/Cargo.toml");
        assert!(find_lua_src(&serde_json::json!({"packages": []})).is_err());
    }

    #[test]
    fn stamps_and_staleness() {
        let dir = std::env::temp_dir().join(format!("xtask-lua-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let stamp = dir.join("flags");
        let t1 = write_stamp(&stamp, "a").unwrap();
        // Same contents: not rewritten, so the time does not move.
        assert_eq!(write_stamp(&stamp, "a").unwrap(), t1);
        assert!(stale(&dir.join("missing"), SystemTime::UNIX_EPOCH));
        assert!(!stale(&stamp, t1));
        fs::remove_dir_all(&dir).unwrap();
    }
}
