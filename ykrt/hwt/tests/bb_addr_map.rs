//! The `.llvm_bb_addr_map` parser against real LLVM 22 output: C programs
//! built with `clang-22`, in every way this project produces the section (plain
//! `-fbasic-block-address-map`, LTO with `--lto-basic-block-address-map` as
//! our link driver does) and with the optional features (PGO analysis data,
//! block hashes, basic-block sections), compared field by field with
//! `llvm-readobj-22 --bb-addr-map`.

use hwt::bbaddrmap::{parse_section, BlockMap, MachineBlock};
use object::{Object, ObjectSection, ObjectSymbol};
use std::{path::PathBuf, process::Command};

const SRC: &str = r#"
#include <stdio.h>
#include <stdlib.h>
int g(int x);
__attribute__((noinline)) int f(int x) {
    int s = 0;
    for (int i = 0; i < x; i++) {
        if (i % 3) s += i; else s -= x;
        if (s > 1000) { printf("big %d\n", s); fflush(stdout); s = 0; }
    }
    return s;
}
__attribute__((noinline)) int g(int x) {
    switch (x) {
    case 0: return 5; case 1: return f(7); case 2: return 9;
    case 3: return 11; case 7: return 1; case 9: return f(x) + f(x + 1);
    default: return -1;
    }
}
int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 3;
    printf("%d %d\n", f(n * 10), g(n));
    return 0;
}
"#;

fn tmpdir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("hwt-bbaddrmap-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn build(name: &str, flags: &[&str]) -> PathBuf {
    let d = tmpdir();
    let src = d.join(format!("{name}.c"));
    std::fs::write(&src, SRC).unwrap();
    let out = d.join(name);
    let st = Command::new("clang-22")
        .args(["-O2", "-o"])
        .arg(&out)
        .arg(&src)
        .args(flags)
        .status()
        .expect("running clang-22 (installed by `cargo xtask setup`)");
    assert!(st.success(), "clang-22 {flags:?} failed");
    out
}

/// `llvm-readobj-22`'s view: per function, its ranges of (ID, offset from the
/// function, size, metadata bits, call-site ends).
type Readobj = Vec<(u64, Vec<(u64, Vec<(u32, u64, u32, u32, Vec<u32>)>)>)>;

fn readobj(bin: &PathBuf) -> Readobj {
    let out = Command::new("llvm-readobj-22")
        .args(["--bb-addr-map", "--elf-output-style=JSON"])
        .arg(bin)
        .output()
        .expect("running llvm-readobj-22");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut funcs = vec![];
    for f in v[0]["BBAddrMap"].as_array().unwrap() {
        let f = &f["Function"];
        let at = f["At"].as_u64().unwrap();
        let mut ranges = vec![];
        for r in f["BB Ranges"].as_array().unwrap() {
            let base = r["Base Address"].as_u64().unwrap();
            let mut es = vec![];
            for e in r["BB Entries"].as_array().unwrap() {
                let flag = |k: &str, bit: u32| {
                    if e[k].as_bool().unwrap() {
                        bit
                    } else {
                        0
                    }
                };
                let md = flag("HasReturn", 1)
                    | flag("HasTailCall", 2)
                    | flag("IsEHPad", 4)
                    | flag("CanFallThrough", 8)
                    | flag("HasIndirectBranch", 16);
                let cs = e
                    .get("Callsite End Offsets")
                    .map(|c| {
                        c.as_array()
                            .unwrap()
                            .iter()
                            .map(|x| x.as_u64().unwrap() as u32)
                            .collect()
                    })
                    .unwrap_or_default();
                es.push((
                    e["ID"].as_u64().unwrap() as u32,
                    e["Offset"].as_u64().unwrap(),
                    e["Size"].as_u64().unwrap() as u32,
                    md,
                    cs,
                ));
            }
            ranges.push((base, es));
        }
        funcs.push((at, ranges));
    }
    funcs
}

fn ours(bin: &PathBuf) -> Readobj {
    let bytes = std::fs::read(bin).unwrap();
    let obj = object::File::parse(&*bytes).unwrap();
    let data = obj
        .section_by_name(".llvm_bb_addr_map")
        .unwrap()
        .data()
        .unwrap();
    parse_section(data)
        .unwrap()
        .into_iter()
        .map(|f| {
            (
                f.addr,
                f.ranges
                    .into_iter()
                    .map(|r| {
                        (
                            r.base,
                            r.blocks
                                .into_iter()
                                .map(|b| {
                                    (
                                        b.id,
                                        u64::from(b.offset),
                                        b.size,
                                        b.metadata,
                                        b.callsite_ends,
                                    )
                                })
                                .collect(),
                        )
                    })
                    .collect(),
            )
        })
        .collect()
}

fn check(name: &str, flags: &[&str]) -> Readobj {
    let bin = build(name, flags);
    let theirs = readobj(&bin);
    assert!(!theirs.is_empty(), "{name}: no functions in the map");
    let mine = ours(&bin);
    assert_eq!(
        mine, theirs,
        "{name}: parser disagrees with llvm-readobj-22"
    );
    // Mapping: every function's entry is its block 0 (or the first listed).
    let map = BlockMap::from_elf(&std::fs::read(&bin).unwrap()).unwrap();
    for (at, ranges) in &theirs {
        let first = &ranges[0].1[0];
        assert_eq!(
            map.lookup(ranges[0].0 + first.1),
            Some(MachineBlock {
                func: *at,
                id: first.0
            })
        );
    }
    theirs
}

#[test]
fn plain_build_with_call_sites() {
    check("plain", &["-fbasic-block-address-map"]);
    // The call-site feature must actually have been exercised.
    let bin = build("plain2", &["-fbasic-block-address-map"]);
    assert!(ours(&bin)
        .iter()
        .flat_map(|f| &f.1)
        .flat_map(|r| &r.1)
        .any(|b| b.4.len() >= 2));
}

#[test]
fn lto_build_as_the_link_driver_does() {
    let funcs = check(
        "lto",
        &["-flto", "-fuse-ld=lld", "-Wl,--lto-basic-block-address-map"],
    );
    assert!(funcs.len() >= 2, "f and g are not inlined: {}", funcs.len());
}

#[test]
fn pgo_analysis_features_are_skipped_exactly() {
    check(
        "pgo",
        &[
            "-fbasic-block-address-map",
            "-mllvm",
            "-pgo-analysis-map=func-entry-count,bb-freq,br-prob",
        ],
    );
}

#[test]
fn block_hashes() {
    check(
        "hash",
        &["-fbasic-block-address-map", "-mllvm", "-emit-bb-hash"],
    );
}

#[test]
fn basic_block_sections_give_several_ranges() {
    let funcs = check(
        "sections",
        &["-fbasic-block-address-map", "-fbasic-block-sections=all"],
    );
    assert!(
        funcs.iter().any(|f| f.1.len() > 1),
        "no function has several ranges"
    );
}

#[test]
fn lookup_of_symbols_in_a_real_binary() {
    let bin = build("lookup", &["-fbasic-block-address-map"]);
    let bytes = std::fs::read(&bin).unwrap();
    let obj = object::File::parse(&*bytes).unwrap();
    let map = BlockMap::from_elf(&bytes).unwrap();
    for name in ["f", "g", "main"] {
        let sym = obj.symbols().find(|s| s.name() == Ok(name)).unwrap();
        let mb = map.lookup(sym.address()).unwrap();
        assert_eq!(mb.func, sym.address(), "{name}");
        // Every byte of the function maps to a block of it, or to padding.
        for a in sym.address()..sym.address() + sym.size() {
            if let Some(b) = map.lookup(a) {
                assert_eq!(b.func, sym.address());
            }
        }
    }
    // Code outside any mapped function (the PLT, _start) is unmappable.
    let start = obj.entry();
    assert_eq!(map.lookup(start), None);
    // A binary without the section is a clear error.
    let plain = build("nomap", &[]);
    let e = BlockMap::from_elf(&std::fs::read(plain).unwrap())
        .err()
        .unwrap();
    assert!(e.to_string().contains("no .llvm_bb_addr_map"), "{e}");
}
