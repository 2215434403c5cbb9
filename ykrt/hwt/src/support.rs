//! Whether Intel PT can be used here, and if not, why.
//!
//! Three things must hold: the CPU has PT (CPUID), the kernel exposes the
//! `intel_pt` PMU (sysfs), and this process may open it (`perf_event_paranoid`
//! or a capability). The checks are split into gathering [Facts] and judging
//! them ([judge]), so the judgement is tested on any machine.

use std::{fs, path::Path};

/// Where the kernel describes the `intel_pt` PMU.
pub const PMU_DIR: &str = "/sys/bus/event_source/devices/intel_pt";
const PARANOID: &str = "/proc/sys/kernel/perf_event_paranoid";
const CAP_SYS_ADMIN: u32 = 21;
const CAP_PERFMON: u32 = 38;

/// What the support check looks at.
#[derive(Clone, Debug)]
pub struct Facts {
    /// `Ok` if CPUID says the CPU has usable Intel PT, `Err(why)` otherwise.
    pub cpu: Result<(), String>,
    /// Contents of `intel_pt/type`, if the file exists.
    pub pmu_type: Option<String>,
    /// Whether `intel_pt/format/noretcomp` and `format/branch` exist (return
    /// compression must be switched off, branch tracing on).
    pub has_formats: bool,
    /// Contents of `perf_event_paranoid`, if readable.
    pub paranoid: Option<String>,
    /// Effective user id.
    pub euid: u32,
    /// The effective capability set (`CapEff` of /proc/self/status).
    pub cap_eff: u64,
}

#[cfg(target_arch = "x86_64")]
fn cpu_check() -> Result<(), String> {
    use std::arch::x86_64::{__cpuid, __cpuid_count};
    // CPUID exists on every x86-64 CPU (safe since Rust 1.87).
    let max = __cpuid(0).eax;
    if max < 0x14 {
        return Err(format!(
            "the CPU reports CPUID leaves up to {max:#x}, so it has no Intel PT leaf (0x14)"
        ));
    }
    let l7 = __cpuid_count(7, 0);
    if l7.ebx & (1 << 25) == 0 {
        return Err(
            "the CPU has no Intel Processor Trace (CPUID.(EAX=07H,ECX=0):EBX[25] is 0)".into(),
        );
    }
    let l14 = __cpuid_count(0x14, 0);
    if l14.ecx & 1 == 0 {
        return Err(
            "the CPU's Intel PT cannot write to a ToPA output buffer (CPUID.(EAX=14H,ECX=0):ECX[0] is 0), which Linux needs"
                .into(),
        );
    }
    Ok(())
}

#[cfg(not(target_arch = "x86_64"))]
fn cpu_check() -> Result<(), String> {
    Err("Intel PT needs an x86-64 CPU".into())
}

fn cap_eff() -> u64 {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .unwrap_or(0)
}

/// Gather the facts from this machine and process.
pub fn gather() -> Facts {
    let dir = Path::new(PMU_DIR);
    Facts {
        cpu: cpu_check(),
        pmu_type: fs::read_to_string(dir.join("type")).ok(),
        has_formats: dir.join("format/noretcomp").exists() && dir.join("format/branch").exists(),
        paranoid: fs::read_to_string(PARANOID).ok(),
        // SAFETY: geteuid has no preconditions.
        euid: unsafe { libc::geteuid() },
        cap_eff: cap_eff(),
    }
}

/// Why PT cannot be used given `f`, or `None` if it can.
pub fn judge(f: &Facts) -> Option<String> {
    if let Err(why) = &f.cpu {
        return Some(why.clone());
    }
    let Some(ty) = &f.pmu_type else {
        return Some(format!(
            "the kernel has no intel_pt PMU ({PMU_DIR}/type does not exist)"
        ));
    };
    if ty.trim().parse::<u32>().is_err() {
        return Some(format!(
            "{PMU_DIR}/type holds {:?}, not a number",
            ty.trim()
        ));
    }
    if !f.has_formats {
        return Some(format!(
            "the kernel's intel_pt PMU lacks the 'branch' or 'noretcomp' format ({PMU_DIR}/format)"
        ));
    }
    let privileged =
        f.euid == 0 || f.cap_eff & (1 << CAP_PERFMON) != 0 || f.cap_eff & (1 << CAP_SYS_ADMIN) != 0;
    if !privileged {
        match f.paranoid.as_deref().map(str::trim).map(str::parse::<i32>) {
            Some(Ok(p)) if p <= 2 => (),
            Some(Ok(p)) => {
                return Some(format!(
                    "perf_event_paranoid is {p}: unprivileged processes may not use perf events (needs <= 2, or CAP_PERFMON)"
                ))
            }
            _ => return Some(format!("cannot read {PARANOID}")),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> Facts {
        Facts {
            cpu: Ok(()),
            pmu_type: Some("9\n".into()),
            has_formats: true,
            paranoid: Some("2\n".into()),
            euid: 1000,
            cap_eff: 0,
        }
    }

    #[test]
    fn available_when_all_hold() {
        assert_eq!(judge(&good()), None);
    }

    #[test]
    fn each_missing_piece_has_a_reason() {
        let mut f = good();
        f.cpu = Err("no PT here".into());
        assert_eq!(judge(&f).unwrap(), "no PT here");

        let mut f = good();
        f.pmu_type = None;
        assert!(judge(&f).unwrap().contains("no intel_pt PMU"));

        let mut f = good();
        f.pmu_type = Some("x".into());
        assert!(judge(&f).unwrap().contains("not a number"));

        let mut f = good();
        f.has_formats = false;
        assert!(judge(&f).unwrap().contains("noretcomp"));

        let mut f = good();
        f.paranoid = Some("3\n".into());
        assert!(judge(&f).unwrap().contains("perf_event_paranoid is 3"));
        // Root or CAP_PERFMON overrides paranoia.
        f.euid = 0;
        assert_eq!(judge(&f), None);
        f.euid = 1000;
        f.cap_eff = 1 << CAP_PERFMON;
        assert_eq!(judge(&f), None);

        let mut f = good();
        f.paranoid = None;
        assert!(judge(&f).unwrap().contains("cannot read"));
    }

    #[test]
    fn this_machine_is_judged_consistently() {
        let f = gather();
        let r = judge(&f);
        // Without the PMU in sysfs there must be a reason, whatever the CPU.
        if !Path::new(PMU_DIR).join("type").exists() {
            assert!(r.is_some());
        }
        if f.cpu.is_err() {
            assert_eq!(r, f.cpu.err());
        }
    }
}
