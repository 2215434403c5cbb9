//! The VMs a benchmark run compares, and where their binaries are.

use std::{
    env,
    path::{Path, PathBuf},
};

/// One VM configuration: a binary plus the environment it runs in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vm {
    /// Short identifier, used in file names.
    pub key: &'static str,
    /// What reports call it.
    pub label: &'static str,
    /// The binary.
    pub path: PathBuf,
    /// Environment variables set for it (`None`: removed, so that the caller's environment
    /// cannot change what is measured).
    pub env: Vec<(&'static str, Option<&'static str>)>,
    /// Whether it writes JIT statistics (`YKD_LOG_STATS`).
    pub jit_stats: bool,
}

/// The key of the baseline VM, which ratios are relative to.
pub const BASELINE: &str = "lua";

/// Binary paths given on the command line, overriding the standard ones.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Paths {
    /// `--lua`.
    pub lua: Option<PathBuf>,
    /// `--yklua`.
    pub yklua: Option<PathBuf>,
    /// `--luajit`.
    pub luajit: Option<PathBuf>,
}

/// The VMs to run, and a note for each one skipped because its binary is missing.
///
/// Standard places: `<root>/target/lua/lua` and `<root>/target/lua/yklua` (built by
/// `cargo xtask lua`), and `luajit` on `PATH`.
pub fn discover(root: &Path, paths: &Paths) -> (Vec<Vm>, Vec<String>) {
    let lua = paths
        .lua
        .clone()
        .unwrap_or_else(|| root.join("target/lua/lua"));
    let yklua = paths
        .yklua
        .clone()
        .unwrap_or_else(|| root.join("target/lua/yklua"));
    let luajit = paths.luajit.clone().or_else(|| find_on_path("luajit"));
    let candidates = [
        (
            Vm {
                key: "lua",
                label: "lua",
                path: lua,
                env: vec![],
                jit_stats: false,
            },
            "build it with `cargo xtask lua` or pass --lua PATH",
        ),
        (
            Vm {
                key: "yklua",
                label: "yklua",
                path: yklua.clone(),
                env: vec![("YK_JITC", None), ("YKD_LOG_STATS", None)],
                jit_stats: true,
            },
            "build it with `cargo xtask lua` or pass --yklua PATH",
        ),
        (
            Vm {
                key: "yklua-nojit",
                label: "yklua YK_JITC=none",
                path: yklua,
                env: vec![("YK_JITC", Some("none")), ("YKD_LOG_STATS", None)],
                jit_stats: false,
            },
            "build it with `cargo xtask lua` or pass --yklua PATH",
        ),
    ];
    let mut vms = Vec::new();
    let mut notes = Vec::new();
    for (vm, hint) in candidates {
        if is_executable(&vm.path) {
            vms.push(vm);
        } else {
            notes.push(format!(
                "skipping {}: no executable {} ({hint})",
                vm.label,
                vm.path.display()
            ));
        }
    }
    match luajit {
        Some(p) if is_executable(&p) => vms.push(Vm {
            key: "luajit",
            label: "luajit",
            path: p,
            env: vec![],
            jit_stats: false,
        }),
        Some(p) => notes.push(format!("skipping luajit: no executable {}", p.display())),
        None => notes.push("skipping luajit (optional): not on PATH".to_owned()),
    }
    (vms, notes)
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    env::split_paths(&env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_binaries_are_skipped_with_a_note() {
        let root = Path::new("/nonexistent-root");
        let paths = Paths {
            luajit: Some(root.join("luajit")),
            ..Paths::default()
        };
        let (vms, notes) = discover(root, &paths);
        assert!(vms.is_empty());
        assert_eq!(notes.len(), 4, "{notes:?}");
        assert!(
            notes[0].contains("/nonexistent-root/target/lua/lua"),
            "{notes:?}"
        );
        assert!(notes[1].contains("yklua"), "{notes:?}");
    }

    #[test]
    fn overrides_are_used() {
        // /bin/sh stands in for an executable VM.
        let paths = Paths {
            lua: Some("/bin/sh".into()),
            yklua: Some("/bin/sh".into()),
            luajit: Some("/bin/sh".into()),
        };
        let (vms, notes) = discover(Path::new("/nonexistent-root"), &paths);
        assert!(notes.is_empty(), "{notes:?}");
        let keys: Vec<&str> = vms.iter().map(|v| v.key).collect();
        assert_eq!(keys, ["lua", "yklua", "yklua-nojit", "luajit"]);
        assert!(vms[2].env.contains(&("YK_JITC", Some("none"))));
        assert!(vms[1].jit_stats && !vms[2].jit_stats);
    }
}
