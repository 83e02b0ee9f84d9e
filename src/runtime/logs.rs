//! Captured container output: a bounded buffer per container instance, with the time each
//! read arrived, so every line has the time the runtime received it (as a CRI log line
//! carries its timestamp).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::time::Instant;

/// How much of each instance's output is kept; older bytes are dropped, and counted.
const KEEP_BYTES: usize = 256 * 1024;
/// How many read times are kept: a line older than the oldest has no time of its own.
const KEEP_MARKS: usize = 8192;

/// The tail of a container instance's stdout and stderr, interleaved as read.
#[derive(Debug, Default)]
pub struct LogBuffer {
    data: VecDeque<u8>,
    total: u64,
    /// (offset in the whole output, time) of the first byte of each read.
    marks: VecDeque<(u64, Instant)>,
}

/// One line of output and when its first byte was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedLine {
    /// When the line's first byte arrived; None for a line older than the kept read times.
    pub at: Option<Instant>,
    /// The line, without its line ending.
    pub text: String,
}

impl LogBuffer {
    /// Appends bytes read now, dropping the oldest beyond the cap.
    pub fn push(&mut self, bytes: &[u8]) {
        self.push_at(bytes, Instant::now());
    }

    /// Appends bytes read at `at`.
    pub fn push_at(&mut self, bytes: &[u8], at: Instant) {
        if !bytes.is_empty() {
            self.marks.push_back((self.total, at));
            if self.marks.len() > KEEP_MARKS {
                self.marks.pop_front();
            }
        }
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

    /// Every kept line with the time its first byte was read. A line whose start was
    /// dropped keeps only its kept part.
    pub fn timed_lines(&self) -> Vec<TimedLine> {
        let (a, b) = self.data.as_slices();
        let mut v = Vec::with_capacity(a.len() + b.len());
        v.extend_from_slice(a);
        v.extend_from_slice(b);
        let first = self.total - v.len() as u64;
        let mut out = Vec::new();
        let mut start = 0usize;
        while start < v.len() {
            let end = v[start..]
                .iter()
                .position(|c| *c == b'\n')
                .map_or(v.len(), |i| start + i);
            let offset = first + start as u64;
            // The newest read that began at or before the line's first byte.
            let idx = self.marks.partition_point(|(o, _)| *o <= offset);
            let at = idx.checked_sub(1).map(|i| self.marks[i].1);
            let line = v[start..end].strip_suffix(b"\r").unwrap_or(&v[start..end]);
            out.push(TimedLine {
                at,
                text: String::from_utf8_lossy(line).into_owned(),
            });
            start = end + 1;
        }
        out
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

/// The text and the timed lines of a shared log, read under one lock so they agree.
pub fn read_text_and_lines(log: &SharedLog) -> (String, Vec<TimedLine>) {
    let both = |l: &LogBuffer| (l.text(), l.timed_lines());
    match log.lock() {
        Ok(l) => both(&l),
        Err(p) => both(&p.into_inner()),
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
    fn each_line_has_the_time_its_first_byte_was_read() {
        let t0 = Instant::now();
        let t = |ms| t0 + std::time::Duration::from_millis(ms);
        let mut b = LogBuffer::default();
        b.push_at(b"one\ntw", t(0));
        b.push_at(b"o\r\nthree\n", t(10));
        b.push_at(b"four", t(20));
        let lines = b.timed_lines();
        let got: Vec<(&str, Option<Instant>)> =
            lines.iter().map(|l| (l.text.as_str(), l.at)).collect();
        assert_eq!(
            got,
            [
                ("one", Some(t(0))),
                ("two", Some(t(0))),
                ("three", Some(t(10))),
                ("four", Some(t(20)))
            ]
        );
    }

    #[test]
    fn lines_older_than_the_kept_read_times_have_no_time() {
        let t0 = Instant::now();
        let mut b = LogBuffer::default();
        for i in 0..KEEP_MARKS + 2 {
            b.push_at(format!("{i}\n").as_bytes(), t0);
        }
        let lines = b.timed_lines();
        assert_eq!(lines[0].at, None);
        assert_eq!(lines[1].at, None);
        assert_eq!(lines[2].at, Some(t0));
        assert_eq!(lines.len(), KEEP_MARKS + 2);
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
