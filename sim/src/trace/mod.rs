//! `ensemble-sim trace`: runs a world with its event log switched on and draws
//! the run as a self-contained HTML page with an inline SVG timeline (peers as
//! lanes, messages as arrows from send to delivery, role changes, commits,
//! crashes, partitions, pauses and client operations), or prints every line of
//! its text trace.

mod axis;
mod html;

use crate::scenario::run_catching;
use crate::trace_log::TraceLog;
use crate::world::{Verdict, World, WorldConfig};

pub use html::render_html;

/// What part of a run to draw, and how.
#[derive(Clone, Debug)]
pub struct TraceOptions {
    /// The first virtual ms shown (since the run began).
    pub from_ms: u64,
    /// The last virtual ms shown.
    pub to_ms: u64,
    /// Draw PING and PINGREPLY arrows too (hidden by default: they outnumber everything else).
    pub pings: bool,
    /// The page's title, e.g. the command that made the run.
    pub title: String,
}

impl Default for TraceOptions {
    fn default() -> Self {
        TraceOptions { from_ms: 0, to_ms: u64::MAX, pings: false, title: "ensemble-sim trace".to_string() }
    }
}

impl TraceOptions {
    /// Whether virtual time `at_ms` is inside the window.
    pub fn shows(&self, at_ms: u64) -> bool {
        self.from_ms <= at_ms && at_ms <= self.to_ms
    }
}

/// A run with its verdict and its structured event log.
#[derive(Clone, Debug)]
pub struct TracedRun {
    /// What ran.
    pub config: WorldConfig,
    /// How it ended; a panic becomes a failure starting with "panic:".
    pub verdict: Verdict,
    /// What happened, in order.
    pub log: TraceLog,
}

/// Runs a world with its event log on. The verdict, trace hash included, is the one `run_config` gives.
pub fn run_traced(config: WorldConfig) -> TracedRun {
    let mut handle = None;
    let verdict = run_catching(|| {
        let (world, h) = World::new_traced(config.clone());
        handle = Some(h);
        world.run()
    });
    // The handle outlives a panic, so a run that broke an invariant still shows how it got there.
    let log = handle.map(|h| h.take()).unwrap_or_default();
    TracedRun { config, verdict, log }
}

/// Every line of the run's text trace inside the window: what the trace hash saw, and the state changes (marked `=`).
pub fn render_text(run: &TracedRun, options: &TraceOptions) -> String {
    let mut out = String::new();
    for (at, line) in run.log.lines.iter().filter(|(at, _)| options.shows(*at)) {
        out.push_str(&format!("{at:>8} {line}\n"));
    }
    out
}
