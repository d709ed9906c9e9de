//! `ensemble-sim shrink`: turns a failing run into the smallest scenario that
//! still fails the same way. Greedy and deterministic: drop faults in halves,
//! then quarters, down to one at a time (delta debugging), quiet the network,
//! then fewer clients, fewer operations, fewer observers and voters, and
//! start again until nothing more can go. A candidate counts only if it fails
//! with the same kind of failure (the checker's prefix, such as "digest" or
//! "liveness"), so shrinking never wanders off to a different bug.
//!
//! Removing a fault keeps the other draws meaningful: the world gives the
//! network, the fault timeline and each client their own RNG stream.

use crate::scenario::{run_config, Scenario};
use crate::world::{NetworkConfig, Verdict};

/// The most runs one shrink may spend.
pub const RUNS_MAX: usize = 400;
/// The fewest voters a shrunk run may have: the swarm's smallest ensemble.
const VOTERS_MIN: u64 = 3;
/// The most characters of the failure kept in the written description.
const DESCRIPTION_FAILURE_CHARS_MAX: usize = 240;

/// The smallest failing scenario found, and how it was found.
#[derive(Clone, Debug)]
pub struct Shrunk {
    /// The smallest scenario that still fails the same way, with `expect = "fail"`.
    pub scenario: Scenario,
    /// Its first failure of the original kind.
    pub failure: String,
    /// The kind being kept: the original failure's checker prefix.
    pub kind: String,
    /// Faults in the original run.
    pub faults_before: usize,
    /// Runs spent.
    pub runs: usize,
}

/// A failure's kind: its checker prefix ("digest", "prefix", "liveness", "never-lost", "panic", ...).
pub fn failure_kind(failure: &str) -> &str {
    failure.split(':').next().unwrap_or(failure).trim()
}

/// Shrinks a failing scenario; `progress` hears one line per accepted step. Errors if it does not fail to begin with.
pub fn shrink(start: &Scenario, origin: &str, progress: &mut dyn FnMut(&str)) -> Result<Shrunk, String> {
    let first = run_config(start.config());
    let Some(failure) = first.failures.first().cloned() else {
        return Err(format!("{origin} passes: nothing to shrink"));
    };
    let kind = failure_kind(&failure).to_string();
    progress(&format!("{origin} fails ({kind}): {}", shorten(&failure, 160)));
    let mut s = Shrinker { best: start.clone(), failure, kind, runs: 1, progress };
    loop {
        let size = s.size();
        s.shrink_faults();
        s.shrink_network();
        s.shrink_clients();
        s.shrink_ops();
        s.shrink_topology();
        if s.size() == size || s.runs >= RUNS_MAX {
            break;
        }
    }
    let mut scenario = s.best;
    scenario.expect = "fail".to_string();
    scenario.description = format!("Shrunk from {origin} ({} faults to {}): {}", start.faults.len(), scenario.faults.len(), shorten(&s.failure, DESCRIPTION_FAILURE_CHARS_MAX));
    Ok(Shrunk { scenario, failure: s.failure, kind: s.kind, faults_before: start.faults.len(), runs: s.runs })
}

/// The search's state: the smallest failing scenario so far.
struct Shrinker<'p> {
    best: Scenario,
    failure: String,
    kind: String,
    runs: usize,
    progress: &'p mut dyn FnMut(&str),
}

impl Shrinker<'_> {
    /// Tries a candidate; keeps it if it fails the same way. `what` says what changed.
    fn attempt(&mut self, candidate: Scenario, what: &str) -> bool {
        if self.runs >= RUNS_MAX {
            return false;
        }
        self.runs += 1;
        let verdict = run_config(candidate.config());
        match self.same_kind(&verdict) {
            Some(failure) => {
                self.best = candidate;
                self.failure = failure;
                let b = &self.best;
                let line = format!(
                    "run {}: {what}: still fails ({}); {} faults, {} voters, {} observers, {} clients x {} ops",
                    self.runs, self.kind, b.faults.len(), b.voters, b.observers, b.clients, b.ops_per_client
                );
                (self.progress)(&line);
                true
            }
            None => false,
        }
    }

    fn same_kind(&self, verdict: &Verdict) -> Option<String> {
        verdict.failures.iter().find(|f| failure_kind(f) == self.kind).cloned()
    }

    /// What the outer loop watches for progress.
    fn size(&self) -> (usize, u64, u64, usize, usize) {
        let b = &self.best;
        (b.faults.len(), b.voters, b.observers, b.clients, b.ops_per_client)
    }

    /// Delta debugging over the fault timeline: remove chunks, halving the chunk size when none can go.
    fn shrink_faults(&mut self) {
        let mut chunk = (self.best.faults.len() / 2).max(1);
        while !self.best.faults.is_empty() {
            let mut removed = false;
            let mut i = 0;
            while i < self.best.faults.len() {
                let end = (i + chunk).min(self.best.faults.len());
                let mut candidate = self.best.clone();
                candidate.faults.drain(i..end);
                let what = if end - i == 1 { format!("dropped fault {:?}", self.best.faults[i]) } else { format!("dropped faults {}..{}", i + 1, end) };
                if self.attempt(candidate, &what) {
                    removed = true;
                } else {
                    i += chunk;
                }
            }
            if chunk == 1 && !removed || self.runs >= RUNS_MAX {
                break;
            }
            chunk = if removed { chunk.min((self.best.faults.len() / 2).max(1)) } else { (chunk / 2).max(1) };
        }
    }

    /// The default network first (no loss), then only the losses switched off.
    fn shrink_network(&mut self) {
        let quiet = NetworkConfig::default();
        if self.best.network.drop == 0.0 && self.best.network.duplicate == 0.0 {
            return;
        }
        let mut candidate = self.best.clone();
        candidate.network = quiet;
        if self.attempt(candidate, "default network") {
            return;
        }
        let mut candidate = self.best.clone();
        candidate.network.drop = 0.0;
        candidate.network.duplicate = 0.0;
        self.attempt(candidate, "no message loss");
    }

    /// The fewest clients that still fail; the ones kept keep their own RNG streams.
    fn shrink_clients(&mut self) {
        for clients in 0..self.best.clients {
            let mut candidate = self.best.clone();
            candidate.clients = clients;
            if self.attempt(candidate, &format!("{clients} clients")) {
                return;
            }
        }
    }

    /// Fewer operations per client, smallest first.
    fn shrink_ops(&mut self) {
        let ops = self.best.ops_per_client;
        let mut tries: Vec<usize> = [1, 2, 5, ops / 4, ops / 2, ops * 3 / 4].into_iter().filter(|&n| n >= 1 && n < ops).collect();
        tries.dedup();
        for n in tries {
            let mut candidate = self.best.clone();
            candidate.ops_per_client = n;
            if self.attempt(candidate, &format!("{n} ops per client")) {
                return;
            }
        }
    }

    /// No observers, then fewer voters: odd counts, smallest first, but never below the swarm's smallest
    /// ensemble, so that a shrunk run stays in the space the swarm explores (a lone voter is another world,
    /// where a liveness failure is likely another bug).
    fn shrink_topology(&mut self) {
        if self.best.observers > 0 {
            let mut candidate = self.best.clone();
            candidate.observers = 0;
            self.attempt(candidate, "no observers");
        }
        for voters in (VOTERS_MIN..self.best.voters).filter(|v| v % 2 == 1) {
            let mut candidate = self.best.clone();
            candidate.voters = voters;
            if self.attempt(candidate, &format!("{voters} voters")) {
                return;
            }
        }
    }
}

/// The first `max` characters of `s` on one line.
fn shorten(s: &str, max: usize) -> String {
    let one_line = s.replace('\n', " ");
    if one_line.chars().count() <= max {
        return one_line;
    }
    let mut out: String = one_line.chars().take(max).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // The failure kind is the checker's prefix, whatever follows it.
    #[test]
    fn kinds_are_checker_prefixes() {
        assert_eq!(failure_kind("digest: at 5ms ServerId(1) has digest 00"), "digest");
        assert_eq!(failure_kind("liveness: not settled"), "liveness");
        assert_eq!(failure_kind("panic: assertion failed: x"), "panic");
    }
}
