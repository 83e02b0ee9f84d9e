//! Captured container output: a bounded buffer per container instance.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// How much of each instance's output is kept; older bytes are dropped, and counted.
const KEEP_BYTES: usize = 256 * 1024;

/// The tail of a container instance's stdout and stderr, interleaved as read.
#[derive(Debug, Default)]
pub struct LogBuffer {
    data: VecDeque<u8>,
    total: u64,
}

impl LogBuffer {
    /// Appends bytes, dropping the oldest beyond the cap.
    pub fn push(&mut self, bytes: &[u8]) {
        self.total += bytes.len() as u64;
        let bytes = if bytes.len() > KEEP_BYTES {
            &bytes[bytes.len() - KEEP_BYTES..]
        } else {
            bytes
        };
        let overflow = (self.data.len() + bytes.len()).saturating_sub(KEEP_BYTES);
        self.data.drain(..overflow);
        self.data.extend(bytes);
    }

    /// Total bytes ever written, including dropped ones.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The kept bytes as text.
    pub fn text(&self) -> String {
        let (a, b) = self.data.as_slices();
        let mut v = Vec::with_capacity(a.len() + b.len());
        v.extend_from_slice(a);
        v.extend_from_slice(b);
        String::from_utf8_lossy(&v).into_owned()
    }

    /// The last `max_lines` lines, at most `max_bytes` bytes (the kubelet's log-tail rule).
    pub fn tail(&self, max_lines: usize, max_bytes: usize) -> String {
        let text = self.text();
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let tail = lines[lines.len().saturating_sub(max_lines)..].concat();
        if tail.len() <= max_bytes {
            return tail;
        }
        let mut cut = tail.len() - max_bytes;
        while !tail.is_char_boundary(cut) {
            cut += 1;
        }
        tail[cut..].to_owned()
    }
}

/// A log buffer shared between the reader tasks and the kubelet.
pub type SharedLog = Arc<Mutex<LogBuffer>>;

/// Reads the text of a shared log, tolerating a poisoned lock (a reader task panicked).
pub fn read_log(log: &SharedLog) -> String {
    match log.lock() {
        Ok(l) => l.text(),
        Err(p) => p.into_inner().text(),
    }
}

/// The log tail of a shared log (see [`LogBuffer::tail`]).
pub fn tail_log(log: &SharedLog, max_lines: usize, max_bytes: usize) -> String {
    match log.lock() {
        Ok(l) => l.tail(max_lines, max_bytes),
        Err(p) => p.into_inner().tail(max_lines, max_bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_a_bounded_tail_and_counts_everything() {
        let mut b = LogBuffer::default();
        b.push(&vec![b'a'; KEEP_BYTES]);
        b.push(b"xyz");
        assert_eq!(b.total(), KEEP_BYTES as u64 + 3);
        assert!(b.text().ends_with("axyz"));
        assert_eq!(b.text().len(), KEEP_BYTES);
    }

    #[test]
    fn tail_limits_lines_then_bytes() {
        let mut b = LogBuffer::default();
        b.push(b"1\n2\n3\n4\n");
        assert_eq!(b.tail(2, 100), "3\n4\n");
        assert_eq!(b.tail(10, 100), "1\n2\n3\n4\n");
        assert_eq!(b.tail(10, 3), "\n4\n");
    }
}
