//! `yk-config`: prints the compiler and linker flags for building an
//! interpreter with yk, in the style of `llvm-config`.

use linker_plugin::config;

const USAGE: &str =
    "usage: yk-config [--cc] [--cflags] [--cppflags] [--ldflags] [--libs] [--rustflags]";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() || args.iter().any(|a| a == "--help" || a == "-h") {
        eprintln!("{USAGE}");
        std::process::exit(if args.is_empty() { 1 } else { 0 });
    }
    let run = || -> anyhow::Result<Vec<String>> {
        let llvm = config::llvm_bindir()?;
        let ours = config::layout()?;
        let clang = llvm.join("clang").display().to_string();
        let ykld = ours.bindir.join("yk-ld").display().to_string();
        let dir = ours.libdir.display().to_string();
        let mut out = Vec::new();
        for a in &args {
            out.push(match a.as_str() {
                "--cc" => clang.clone(),
                // -flto: the objects are bitcode, for yk-ld to rewrite.
                // -g: traces carry the interpreter's own source lines.
                // No vectorisation: clang vectorises before the LTO link, and
                // neither the trace builder nor the blackhole takes vector IR.
                "--cflags" => "-flto -g -O2 -fno-vectorize -fno-slp-vectorize".to_owned(),
                "--cppflags" => format!("-I{}", ours.includedir.display()),
                "--ldflags" => format!("-flto -O2 -fuse-ld=lld --ld-path={ykld}"),
                "--libs" => format!("-L{dir} -lykcapi -Wl,-rpath,{dir}"),
                // Every crate as bitcode, linked by yk-ld through clang. Line
                // tables: yk-ld tells the interpreter's own functions from
                // std's, ykrt's and fetched crates' by their source files
                // (`own_code`), and traces carry the interpreter's lines.
                "--rustflags" => format!(
                    "-C linker-plugin-lto -C linker={clang} -C link-arg=-fuse-ld=lld \
                     -C link-arg=--ld-path={ykld} -C link-arg=-L{dir} -C link-arg=-Wl,-rpath,{dir} \
                     -C debuginfo=line-tables-only"
                ),
                other => anyhow::bail!("yk-config: unknown option `{other}`\n{USAGE}"),
            });
        }
        Ok(out)
    };
    match run() {
        Ok(v) => println!("{}", v.join(" ")),
        Err(e) => {
            eprintln!("{e:#}");
            std::process::exit(1);
        }
    }
}
