//! Per-thread trace collection with `perf_event_open` on the `intel_pt` PMU.
//!
//! The event traces the calling thread only (`pid = 0, cpu = -1`), user space
//! only (`exclude_kernel`, `exclude_hv`), with branch tracing on and return
//! compression off (`noretcomp`: every `ret` yields a TIP, so the decoder needs
//! no call stack). The AUX area is mapped writable, so the kernel never
//! overwrites unread data; a drain thread ([crate::ring::Drainer]) moves it out
//! while the thread runs and checks perf's records for loss, which makes a
//! lossy trace an error rather than a wrong trace.
//!
//! This needs PT hardware and is not exercised by the test suite on machines
//! without it; the parts that can be (format parsing, the ring protocol) are.

use crate::{
    ring::{Drainer, RingBuffers},
    support::{self, PMU_DIR},
};
use anyhow::{bail, Context, Result};
use memmap2::{MmapOptions, MmapRaw};
use perf_event_open_sys::{self as sys, bindings::perf_event_attr, bindings::perf_event_mmap_page};
use std::{
    fs,
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    path::Path,
    ptr::addr_of_mut,
};

/// Sizes of the perf buffers.
#[derive(Clone, Copy, Debug)]
pub struct TracerConfig {
    /// Pages in the AUX area (a power of two). Trace data beyond what fits
    /// between two drains aborts the trace.
    pub aux_pages: usize,
    /// Pages in the data area (a power of two), which carries perf's records.
    pub data_pages: usize,
}

impl Default for TracerConfig {
    fn default() -> Self {
        // 8 MiB of trace: PT produces roughly 1 byte per few instructions with
        // branch tracing only, so this covers millions of instructions.
        TracerConfig {
            aux_pages: 2048,
            data_pages: 8,
        }
    }
}

/// Parse a sysfs PMU format file such as `config:13` into its bit number.
/// Only single-bit `config` formats are accepted.
pub fn parse_format_bit(s: &str) -> Result<u32> {
    let s = s.trim();
    let bit = s
        .strip_prefix("config:")
        .with_context(|| format!("format {s:?} is not a 'config:' field"))?;
    let n: u32 = bit
        .parse()
        .with_context(|| format!("format {s:?} is not a single bit"))?;
    if n >= 64 {
        bail!("format {s:?}: bit {n} out of range");
    }
    Ok(n)
}

fn format_bit(name: &str) -> Result<u32> {
    let p = Path::new(PMU_DIR).join("format").join(name);
    let s = fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
    parse_format_bit(&s).with_context(|| p.display().to_string())
}

/// The `config` word for branch tracing without return compression.
fn pt_config() -> Result<u64> {
    let mut c = 0u64;
    for f in ["pt", "branch", "noretcomp"] {
        c |= 1 << format_bit(f)?;
    }
    Ok(c)
}

/// An Intel PT event recording the calling thread.
pub struct ThreadTracer {
    // Field order matters for drop: stop the drain thread, then unmap, then
    // close the fd.
    drainer: Drainer,
    _aux: MmapRaw,
    _base: MmapRaw,
    fd: OwnedFd,
}

impl ThreadTracer {
    /// Start tracing the calling thread.
    pub fn start(cfg: TracerConfig) -> Result<Self> {
        if let Some(why) = support::judge(&support::gather()) {
            bail!("Intel PT is not available: {why}");
        }
        if !cfg.aux_pages.is_power_of_two() || !cfg.data_pages.is_power_of_two() {
            bail!("AUX and data page counts must be powers of two: {cfg:?}");
        }
        let ty: u32 = fs::read_to_string(Path::new(PMU_DIR).join("type"))?
            .trim()
            .parse()
            .context("intel_pt PMU type")?;
        let mut attr = perf_event_attr {
            size: std::mem::size_of::<perf_event_attr>() as u32,
            type_: ty,
            config: pt_config()?,
            ..Default::default()
        };
        attr.set_disabled(1);
        attr.set_exclude_kernel(1);
        attr.set_exclude_hv(1);
        // Wake pollers when a quarter of the AUX area is full.
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        attr.aux_watermark = (cfg.aux_pages * page / 4) as u32;
        // SAFETY: attr is a valid perf_event_attr of the stated size.
        let raw = unsafe {
            sys::perf_event_open(
                &mut attr,
                0,
                -1,
                -1,
                sys::bindings::PERF_FLAG_FD_CLOEXEC as libc::c_ulong,
            )
        };
        if raw < 0 {
            return Err(std::io::Error::last_os_error()).context("perf_event_open(intel_pt)");
        }
        // SAFETY: a fresh fd we own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let base_len = (1 + cfg.data_pages) * page;
        let base = MmapOptions::new()
            .len(base_len)
            .map_raw(fd.as_raw_fd())
            .context("mmap of the perf header and data area")?;
        let header = base.as_mut_ptr().cast::<perf_event_mmap_page>();
        let aux_len = cfg.aux_pages * page;
        // SAFETY: the header page is mapped; the kernel reads these two fields
        // when the AUX area is mapped below.
        unsafe {
            addr_of_mut!((*header).aux_offset).write_volatile(base_len as u64);
            addr_of_mut!((*header).aux_size).write_volatile(aux_len as u64);
        }
        // Writable, so the kernel does not overwrite unread data.
        let aux = MmapOptions::new()
            .offset(base_len as u64)
            .len(aux_len)
            .map_raw(fd.as_raw_fd())
            .context("mmap of the perf AUX area")?;
        // SAFETY: the mappings live as long as `rings` (same struct, dropped first).
        let rings = unsafe {
            RingBuffers::from_raw(
                header,
                base.as_ptr().add(page),
                (cfg.data_pages * page) as u64,
                aux.as_ptr(),
                aux_len as u64,
            )
        };
        // SAFETY: an ioctl on our perf fd.
        if unsafe { sys::ioctls::ENABLE(fd.as_raw_fd(), 0) } < 0 {
            return Err(std::io::Error::last_os_error()).context("enabling the PT event");
        }
        // The drain thread sleeps in poll() until the AUX watermark is
        // reached (or 1 ms passes, so a quiet trace is still collected).
        let raw_fd = fd.as_raw_fd();
        let drainer = Drainer::spawn(rings, move || {
            let mut p = libc::pollfd {
                fd: raw_fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd; the fd outlives the drain thread.
            if unsafe { libc::poll(&mut p, 1, 1) } < 0 {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        });
        Ok(ThreadTracer {
            drainer,
            _aux: aux,
            _base: base,
            fd,
        })
    }

    /// Stop tracing and return the complete trace (raw PT packets starting at
    /// a PSB), or an error if any of it was lost.
    pub fn stop(self) -> Result<Vec<u8>> {
        // SAFETY: an ioctl on our perf fd.
        if unsafe { sys::ioctls::DISABLE(self.fd.as_raw_fd(), 0) } < 0 {
            return Err(std::io::Error::last_os_error()).context("disabling the PT event");
        }
        let ThreadTracer { drainer, .. } = self;
        Ok(drainer.finish()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_bits() {
        assert_eq!(parse_format_bit("config:13\n").unwrap(), 13);
        assert_eq!(parse_format_bit("config:0").unwrap(), 0);
        assert!(parse_format_bit("config:24-27").is_err());
        assert!(parse_format_bit("config1:3").is_err());
        assert!(parse_format_bit("config:64").is_err());
    }

    #[test]
    fn start_fails_with_the_reason_where_pt_is_missing() {
        if let Some(why) = crate::unavailable_reason() {
            let e = ThreadTracer::start(TracerConfig::default()).err().unwrap();
            assert!(e.to_string().contains(&why), "{e}");
        }
    }
}
