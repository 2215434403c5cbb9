//! `yk-ld`: the link driver; clang runs it (via `--ld-path`) instead of `ld.lld`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match linker_plugin::link::main(args) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("{e:#}");
            std::process::exit(1);
        }
    }
}
