//! Splitting a suite across CI machines, with cargo-nextest's `--partition` meaning:
//! `count:K/N` gives the i-th spec (sorted by name, counted after the name filters) to
//! partition `(i mod N) + 1`; `hash:K/N` gives a spec to partition
//! `(xxh64(name, seed 0) mod N) + 1`, so adding a spec never moves the others.

use std::fmt;
use std::str::FromStr;

/// How the specs are bucketed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Round-robin over the sorted, filtered specs.
    Count,
    /// A stable hash of the spec's test name.
    Hash,
}

/// One bucket of a partitioned suite: `shard` of `total`, counting from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// Count or hash.
    pub kind: Kind,
    /// This bucket, 1..=total.
    pub shard: u64,
    /// The number of buckets, at least 1.
    pub total: u64,
}

impl Partition {
    /// Whether the spec named `name`, the `index`-th (from 0) of the sorted, filtered
    /// specs, belongs to this bucket.
    pub fn contains(&self, name: &str, index: usize) -> bool {
        let key = match self.kind {
            Kind::Count => index as u64,
            Kind::Hash => xxhash_rust::xxh64::xxh64(name.as_bytes(), 0),
        };
        key % self.total == self.shard - 1
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            Kind::Count => "count",
            Kind::Hash => "hash",
        };
        write!(f, "{kind}:{}/{}", self.shard, self.total)
    }
}

impl FromStr for Partition {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (kind, rest) = if let Some(r) = s.strip_prefix("count:") {
            (Kind::Count, r)
        } else if let Some(r) = s.strip_prefix("hash:") {
            (Kind::Hash, r)
        } else {
            return Err(format!(
                "partition {s:?} must begin with \"count:\" or \"hash:\", e.g. count:1/4"
            ));
        };
        let (k, n) = rest
            .split_once('/')
            .ok_or_else(|| format!("partition {s:?}: expected K/N after the colon, e.g. 1/4"))?;
        let shard: u64 = k
            .parse()
            .map_err(|e| format!("partition {s:?}: shard {k:?} is not a number: {e}"))?;
        let total: u64 = n
            .parse()
            .map_err(|e| format!("partition {s:?}: total {n:?} is not a number: {e}"))?;
        if total == 0 {
            return Err(format!(
                "partition {s:?}: the total must be at least 1 (the number of buckets), e.g. 1/4"
            ));
        }
        if !(1..=total).contains(&shard) {
            return Err(format!(
                "partition {s:?}: the shard must be between 1 and the total {total}, inclusive"
            ));
        }
        Ok(Partition { kind, shard, total })
    }
}

/// Whether libtest's name filters (`FILTER`, `--exact`, `--skip`) keep the trial `name`, as
/// libtest-mimic applies them, so counting happens after filtering as in nextest.
pub fn kept_by_filters(args: &libtest_mimic::Arguments, name: &str) -> bool {
    let matches = |f: &str| {
        if args.exact {
            name == f
        } else {
            name.contains(f)
        }
    };
    if let Some(f) = &args.filter
        && !matches(f)
    {
        return false;
    }
    !args.skip.iter().any(|s| matches(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nextest_syntax_and_rejects_the_rest() {
        assert_eq!(
            "count:2/3".parse::<Partition>(),
            Ok(Partition {
                kind: Kind::Count,
                shard: 2,
                total: 3
            })
        );
        assert_eq!(
            "hash:1/1".parse::<Partition>().map(|p| p.to_string()),
            Ok("hash:1/1".to_owned())
        );
        for bad in [
            "",
            "count",
            "count:",
            "count:1",
            "count:1/",
            "count:0/2",
            "count:3/2",
            "hash:a/2",
            "hash:1/b",
            "hash:1/2/3",
            "slice:1/2",
            "count:1/0",
        ] {
            assert!(bad.parse::<Partition>().is_err(), "{bad:?} parsed");
        }
        let e = "hash:1/0".parse::<Partition>().expect_err("no buckets");
        assert!(e.contains("the total must be at least 1"), "{e}");
    }

    #[test]
    fn count_is_round_robin_and_hash_is_xxh64_of_the_name() {
        let p = |kind, shard| Partition {
            kind,
            shard,
            total: 3,
        };
        let owners: Vec<u64> = (0..7)
            .map(|i| {
                (1..=3)
                    .find(|&s| p(Kind::Count, s).contains("x", i))
                    .unwrap_or(0)
            })
            .collect();
        assert_eq!(owners, [1, 2, 3, 1, 2, 3, 1]);
        // xxh64("a", 0) = 0xd24ec4f1a98c6e5b (the reference value of the algorithm).
        let bucket = 0xd24e_c4f1_a98c_6e5b_u64 % 3 + 1;
        assert!(p(Kind::Hash, bucket).contains("a", 0));
        assert!(!p(Kind::Hash, bucket % 3 + 1).contains("a", 0));
    }
}
