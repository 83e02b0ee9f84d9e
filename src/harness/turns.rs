//! Which spec trials may run at the same time: a serial spec runs alone, and in `none`
//! isolation (pods on the host's loopback) trials whose ports overlap take turns.

use std::collections::BTreeSet;
use std::sync::{Condvar, Mutex, RwLock};

/// Serial specs take this for writing; all others for reading.
pub(super) static SERIAL: RwLock<()> = RwLock::new(());
/// Loopback ports held by running trials; pods whose ports overlap run one after another.
static PORTS: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
static PORTS_FREED: Condvar = Condvar::new();

/// Holds a trial's ports until it ends.
pub(super) struct PortClaim(BTreeSet<u16>);

impl PortClaim {
    /// Waits until none of `ports` is held by another trial, then holds them all at once
    /// (all-or-nothing, so two trials can never wait for each other).
    pub(super) fn acquire(ports: BTreeSet<u16>) -> Self {
        let mut held = PORTS.lock().unwrap_or_else(|p| p.into_inner());
        while ports.iter().any(|p| held.contains(p)) {
            held = PORTS_FREED.wait(held).unwrap_or_else(|p| p.into_inner());
        }
        held.extend(ports.iter().copied());
        PortClaim(ports)
    }
}

impl Drop for PortClaim {
    fn drop(&mut self) {
        let mut held = PORTS.lock().unwrap_or_else(|p| p.into_inner());
        for p in &self.0 {
            held.remove(p);
        }
        PORTS_FREED.notify_all();
    }
}
