//! What a scenario costs the client process: CPU time (getrusage), resident memory (procfs),
//! and the machine's load while it ran.

use std::time::Duration;

fn rusage() -> Option<libc::rusage> {
    // SAFETY: getrusage only writes the struct it is given, which is plain data.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        (libc::getrusage(libc::RUSAGE_SELF, &mut usage) == 0).then_some(usage)
    }
}

/// User plus system CPU time of this process so far, every thread included.
pub fn cpu_time() -> Duration {
    let Some(usage) = rusage() else {
        return Duration::ZERO;
    };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Context switches of this process so far (voluntary plus involuntary), every thread
/// included.
pub fn context_switches() -> u64 {
    rusage().map_or(0, |u| (u.ru_nvcsw + u.ru_nivcsw) as u64)
}

/// A field of `/proc/self/status` in KiB (`VmHWM`: peak resident set; `VmRSS`: current).
pub fn proc_status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

/// The 1-minute load average.
pub fn load1() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// Restricts the calling thread (and the threads and processes it starts later) to one CPU.
/// Returns whether it could.
pub fn pin_to_cpu(cpu: usize) -> bool {
    // SAFETY: the set is plain data, initialized by CPU_ZERO before use; 0 means this thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}
