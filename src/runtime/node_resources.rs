//! What this machine has, as cAdvisor reports it to the kubelet for the node's capacity:
//! online CPUs, MemTotal, and the size of the file system the pods' scratch space is on.

use std::sync::OnceLock;

/// The machine's capacity in whole units (cores, bytes, bytes); a figure the OS will not
/// give is 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeCapacity {
    /// Online logical CPUs.
    pub cpu_cores: u64,
    /// `MemTotal` of /proc/meminfo.
    pub memory_bytes: u64,
    /// The size of the file system holding the temporary directory, where sandboxes live.
    pub ephemeral_storage_bytes: u64,
}

/// The capacity, read once per process (it does not change under a run).
pub fn node_capacity() -> NodeCapacity {
    static CAPACITY: OnceLock<NodeCapacity> = OnceLock::new();
    *CAPACITY.get_or_init(|| NodeCapacity {
        cpu_cores: online_cpus(),
        memory_bytes: std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|t| mem_total(&t))
            .unwrap_or(0),
        ephemeral_storage_bytes: fs_size(&std::env::temp_dir()).unwrap_or(0),
    })
}

fn online_cpus() -> u64 {
    // SAFETY: sysconf reads a system constant and has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    u64::try_from(n).unwrap_or(0)
}

/// `MemTotal:  16314992 kB` in bytes.
fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let mut words = line.split_whitespace().skip(1);
    let n: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") => n.checked_mul(1024),
        None => Some(n),
        Some(_) => None,
    }
}

fn fs_size(path: &std::path::Path) -> Option<u64> {
    let st = nix::sys::statvfs::statvfs(path).ok()?;
    st.blocks().checked_mul(st.fragment_size())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_total_reads_kibibytes() {
        let text = "MemFree:  10 kB\nMemTotal:       16314992 kB\nBuffers: 1 kB\n";
        assert_eq!(mem_total(text), Some(16_314_992 * 1024));
        assert_eq!(mem_total("MemFree: 1 kB\n"), None);
        assert_eq!(mem_total("MemTotal: x kB\n"), None);
    }

    #[test]
    fn this_machine_has_cpus_and_memory() {
        let c = node_capacity();
        assert!(c.cpu_cores >= 1, "{c:?}");
        assert!(c.memory_bytes > 0, "{c:?}");
    }
}
