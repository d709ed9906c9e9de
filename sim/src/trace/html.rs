//! Draws a traced run as one self-contained HTML page: no script, no external
//! style, one inline SVG. Time runs down the page; each peer is a vertical
//! lane coloured by its role, each client a lane of operation bars, and the
//! left gutter holds the clock, the faults and the partitions. Every mark has
//! an SVG `<title>`, so hovering it tells the details.

use super::axis::{Axis, STACK_PX};
use super::{TraceOptions, TracedRun};
use crate::client::Outcome;
use crate::trace_log::{describe_cut, role_label, EventKind, Fate, MessageRecord, TraceEvent};
use crate::world::Fault;
use ensemble::peer::Role;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Layout, in pixels.
const GUTTER_PX: f64 = 260.0;
const LANE_PX: f64 = 210.0;
const CLIENT_PX: f64 = 210.0;
const TOP_PX: f64 = 16.0;
const HEAD_PX: f64 = 34.0;
/// Where along an arrow its label sits: nearer the sender, so that labels of arrows crossing a lane do not pile up on it.
const LABEL_AT: f64 = 0.3;

/// Renders the run inside the options' window as an HTML page.
pub fn render_html(run: &TracedRun, options: &TraceOptions) -> String {
    let page = Page::new(run, options);
    let mut svg = String::new();
    page.draw_clock(&mut svg);
    page.draw_faults(&mut svg);
    page.draw_lanes(&mut svg);
    page.draw_messages(&mut svg);
    page.draw_markers(&mut svg);
    page.wrap(&svg)
}

/// A lane, or the gutter, where markers stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Slot {
    Gutter,
    Peer(u64),
    Client(usize),
}

/// What is drawn where: the window, the visible messages and events, the lanes and the axis.
struct Page<'a> {
    run: &'a TracedRun,
    options: &'a TraceOptions,
    from_ms: u64,
    to_ms: u64,
    messages: Vec<&'a MessageRecord>,
    hidden_pings: usize,
    events: Vec<&'a TraceEvent>,
    peers: BTreeMap<u64, f64>,
    clients: Vec<f64>,
    width: f64,
    axis: Axis,
}

impl<'a> Page<'a> {
    fn new(run: &'a TracedRun, options: &'a TraceOptions) -> Page<'a> {
        let log = &run.log;
        let last_ms = log.lines.last().map_or(0, |l| l.0).max(log.events.last().map_or(0, |e| e.at_ms));
        let (from_ms, to_ms) = (options.from_ms.min(last_ms), options.to_ms.min(last_ms));
        let shows = |t: u64| from_ms <= t && t <= to_ms;
        let is_ping = |m: &MessageRecord| m.kind == "PING" || m.kind == "PINGREPLY";
        let in_window: Vec<&MessageRecord> = log.messages.iter().filter(|m| shows(m.sent_ms) || end_of(m).is_some_and(shows)).collect();
        let hidden_pings = if options.pings { 0 } else { in_window.iter().filter(|m| is_ping(m)).count() };
        let messages: Vec<&MessageRecord> = in_window.into_iter().filter(|m| options.pings || !is_ping(m)).collect();
        let events: Vec<&TraceEvent> = log.events.iter().filter(|e| shows(e.at_ms)).collect();

        let nodes = run.config.voters + run.config.observers;
        let peers: BTreeMap<u64, f64> = (1..=nodes).map(|p| (p, GUTTER_PX + 40.0 + (p - 1) as f64 * LANE_PX)).collect();
        let first_client = GUTTER_PX + 40.0 + nodes as f64 * LANE_PX;
        let clients: Vec<f64> = (0..run.config.clients).map(|c| first_client + c as f64 * CLIENT_PX).collect();
        let width = first_client + run.config.clients as f64 * CLIENT_PX;

        // Every instant with something to show gets a row, as tall as its biggest stack of markers.
        let clamp = |t: u64| t.clamp(from_ms, to_ms);
        let mut stacks: BTreeMap<u64, usize> = BTreeMap::new();
        let mut per_slot: BTreeMap<(u64, Slot), usize> = BTreeMap::new();
        for t in [from_ms, to_ms] {
            stacks.insert(t, 1);
        }
        for m in &messages {
            stacks.entry(clamp(m.sent_ms)).or_insert(1);
            if let Some(end) = end_of(m) {
                stacks.entry(clamp(end)).or_insert(1);
            }
        }
        for e in &events {
            let n = per_slot.entry((e.at_ms, slot_of(e))).or_insert(0);
            *n += 1;
            let stack = stacks.entry(e.at_ms).or_insert(1);
            *stack = (*stack).max(*n);
            if let EventKind::Fault(Fault::Pause { ms, .. }) = &e.kind {
                stacks.entry(clamp(e.at_ms + ms)).or_insert(1);
            }
        }
        let axis = Axis::new(&stacks, TOP_PX);
        Page { run, options, from_ms, to_ms, messages, hidden_pings, events, peers, clients, width, axis }
    }

    fn y(&self, t: u64) -> f64 {
        self.axis.y(t.clamp(self.from_ms, self.to_ms))
    }

    /// Time labels in the gutter, skipping any that would overlap the previous one.
    fn draw_clock(&self, svg: &mut String) {
        let mut last_y = f64::MIN;
        for (t, y) in self.axis.rows() {
            if y - last_y >= 13.0 {
                let _ = writeln!(svg, r#"<text class="clock" x="4" y="{:.1}">{t} ms</text>"#, y + 4.0);
                last_y = y;
            }
        }
    }

    /// Pause bands on their lane, the partition bar in the gutter, and a line across the lanes at each fault.
    fn draw_faults(&self, svg: &mut String) {
        for e in &self.events {
            let EventKind::Fault(fault) = &e.kind else { continue };
            let y = self.y(e.at_ms);
            let _ = writeln!(svg, r#"<line class="fault-line" x1="{GUTTER_PX}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}"/>"#, self.width);
            let Fault::Pause { node, ms } = fault else { continue };
            let Some(&x) = self.peers.get(node) else { continue };
            let y2 = self.y(e.at_ms + ms);
            let _ = writeln!(
                svg,
                r#"<rect class="pause" x="{:.1}" y="{y:.1}" width="{:.1}" height="{:.1}"><title>peer {node} paused for {ms} ms from {} ms</title></rect>"#,
                x - 12.0,
                LANE_PX - 30.0,
                (y2 - y).max(2.0),
                e.at_ms
            );
        }
        // The partition bar: every stretch of time with some link cut, from all events (a cut may start before the window).
        let mut cut: Option<(u64, Vec<(u64, u64)>)> = None;
        let mut bars = Vec::new();
        for e in &self.run.log.events {
            if let EventKind::Links { cut: now_cut } = &e.kind {
                if let Some((since, links)) = cut.take() {
                    bars.push((since, e.at_ms, links));
                }
                if !now_cut.is_empty() {
                    cut = Some((e.at_ms, now_cut.clone()));
                }
            }
        }
        if let Some((since, links)) = cut {
            bars.push((since, self.to_ms, links));
        }
        for (a, b, links) in bars.into_iter().filter(|(a, b, _)| *b >= self.from_ms && *a <= self.to_ms) {
            let (y1, y2) = (self.y(a), self.y(b));
            let _ = writeln!(
                svg,
                r#"<rect class="cut" x="{:.1}" y="{y1:.1}" width="7" height="{:.1}"><title>{a}–{b} ms: links cut {}</title></rect>"#,
                GUTTER_PX - 12.0,
                (y2 - y1).max(2.0),
                describe_cut(&links)
            );
        }
    }

    /// Each peer's lane as segments coloured by role (dashed while syncing, faint while down), and the client lanes.
    fn draw_lanes(&self, svg: &mut String) {
        let bottom = self.axis.bottom();
        for (&peer, &x) in &self.peers {
            let mut segments: Vec<(u64, &'static str, String)> = Vec::new();
            for e in &self.run.log.events {
                let (class, title) = match &e.kind {
                    EventKind::Role { node, role, leader, epoch } if *node == peer => (lane_class(*role, epoch.is_some()), role_label(*role, *leader, *epoch)),
                    EventKind::Crashed { node } if *node == peer => ("down", "down".to_string()),
                    _ => continue,
                };
                segments.push((e.at_ms, class, title));
            }
            let _ = writeln!(svg, r#"<g class="lane" data-peer="{peer}">"#);
            let _ = writeln!(svg, r#"<line class="guide" x1="{x:.1}" y1="{TOP_PX}" x2="{x:.1}" y2="{bottom:.1}"/>"#);
            for (i, (since, class, title)) in segments.iter().enumerate() {
                let until = segments.get(i + 1).map_or(self.to_ms, |s| s.0);
                if until < self.from_ms || *since > self.to_ms {
                    continue;
                }
                let (y1, y2) = (self.y(*since), if until >= self.to_ms { bottom } else { self.y(until) });
                if *since < self.from_ms {
                    // The role began before the window: say what it is where the window starts.
                    let _ = writeln!(svg, r#"<text class="role-mark {class} carried" x="{:.1}" y="{:.1}">({})</text>"#, x + 7.0, y1 + 4.0, esc(title));
                }
                let _ = writeln!(svg, r#"<line class="role {class}" x1="{x:.1}" y1="{y1:.1}" x2="{x:.1}" y2="{y2:.1}"><title>peer {peer}: {} from {since} ms</title></line>"#, esc(title));
            }
            let _ = writeln!(svg, "</g>");
        }
        for (c, &x) in self.clients.iter().enumerate() {
            let _ = writeln!(svg, r#"<line class="guide client-lane" data-client="{c}" x1="{x:.1}" y1="{TOP_PX}" x2="{x:.1}" y2="{bottom:.1}"/>"#);
        }
        // Client operations as bars from invocation to completion.
        let mut open: BTreeMap<usize, (usize, u64, &str)> = BTreeMap::new();
        let mut bars = Vec::new();
        for e in &self.run.log.events {
            match &e.kind {
                EventKind::Invoked { client, index, op } => {
                    open.insert(*index, (*client, e.at_ms, op.as_str()));
                }
                EventKind::Completed { index, outcome, .. } => {
                    if let Some((client, at, op)) = open.remove(index) {
                        bars.push((client, *index, at, Some((e.at_ms, outcome)), op));
                    }
                }
                _ => {}
            }
        }
        bars.extend(open.into_iter().map(|(index, (client, at, op))| (client, index, at, None, op)));
        for (client, index, at, done, op) in bars {
            let end = done.map_or(self.to_ms, |d| d.0);
            let Some(&x) = self.clients.get(client) else { continue };
            if end < self.from_ms || at > self.to_ms {
                continue;
            }
            let (y1, y2) = (self.y(at), self.y(end));
            let (class, how) = match done {
                None => ("pending", "still pending".to_string()),
                Some((t, o)) => (outcome_class(o), format!("{o:?} at {t} ms")),
            };
            let _ = writeln!(
                svg,
                r#"<rect class="op {class}" x="{:.1}" y="{y1:.1}" width="8" height="{:.1}"><title>client {client} op {index}: {} invoked at {at} ms, {}</title></rect>"#,
                x - 4.0,
                (y2 - y1).max(3.0),
                esc(op),
                esc(&how)
            );
        }
    }

    /// Every visible message as an arrow from its sender at send time to its receiver at delivery time.
    fn draw_messages(&self, svg: &mut String) {
        for m in &self.messages {
            let (Some(&x1), Some(&x2)) = (self.peers.get(&m.from), self.peers.get(&m.to)) else { continue };
            let y1 = self.y(m.sent_ms);
            let group = kind_class(m.kind);
            let base = format!("{} {}→{} sent at {} ms", m.kind, m.from, m.to, m.sent_ms);
            let (x2, y2, class, how) = match m.fate {
                Fate::Delivered(t) => (x2, self.y(t), "msg", format!("delivered at {t} ms")),
                Fate::Lost(t) => (x2, self.y(t), "msg lost", format!("lost at {t} ms: the link broke or the receiver restarted")),
                Fate::InFlight => (x2, self.y(self.to_ms), "msg lost", "still in flight".to_string()),
                Fate::Dropped => (x1 + (x2 - x1) * 0.35, y1 + 8.0, "msg dropped", "dropped by the network (the link breaks)".to_string()),
                Fate::Blocked => (x1 + (x2 - x1) * 0.15, y1 + 4.0, "msg blocked", "not sent: the link is cut".to_string()),
            };
            let _ = writeln!(
                svg,
                r#"<g class="{class} {group}"><title>{}, {how}&#10;{}</title><line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" marker-end="url(#head)"/><text x="{:.1}" y="{:.1}">{}</text></g>"#,
                esc(&base),
                esc(&m.detail),
                x1 + (x2 - x1) * LABEL_AT,
                y1 + (y2 - y1) * LABEL_AT - 2.0,
                m.kind
            );
            if class != "msg" {
                let _ = writeln!(svg, r#"<text class="x" x="{x2:.1}" y="{:.1}">✕</text>"#, y2 + 4.0);
            }
        }
    }

    /// Role changes, commits, crashes and restarts on the peer lanes, faults in the gutter, outcomes on the client lanes.
    fn draw_markers(&self, svg: &mut String) {
        let mut used: BTreeMap<(u64, Slot), usize> = BTreeMap::new();
        for e in &self.events {
            let slot = slot_of(e);
            let n = used.entry((e.at_ms, slot)).or_insert(0);
            let y = self.y(e.at_ms) + *n as f64 * STACK_PX;
            *n += 1;
            let x = match slot {
                Slot::Gutter => 60.0,
                Slot::Peer(p) => match self.peers.get(&p) {
                    Some(x) => x + 7.0,
                    None => continue,
                },
                Slot::Client(c) => match self.clients.get(c) {
                    Some(x) => x + 8.0,
                    None => continue,
                },
            };
            let (class, text, title) = match &e.kind {
                EventKind::Role { node, role, leader, epoch } => {
                    let label = role_label(*role, *leader, *epoch);
                    (format!("role-mark {}", lane_class(*role, epoch.is_some())), label.clone(), format!("peer {node} is {label}"))
                }
                EventKind::Applied { node, zxid } => ("applied".to_string(), format!("• {}:{}", zxid.epoch.0, zxid.counter), format!("peer {node} applied up to zxid {zxid}")),
                EventKind::Crashed { node } => ("crash".to_string(), "✕ CRASH".to_string(), format!("peer {node} crashed: unsynced writes lost")),
                EventKind::Restarted { node } => ("restart".to_string(), "↻ RESTART".to_string(), format!("peer {node} restarted from its disk")),
                EventKind::Fault(f) => {
                    let text = format!("{f:?}");
                    ("fault".to_string(), shorten(&text, 30), format!("fault: {text}"))
                }
                EventKind::Links { cut } => {
                    let text = if cut.is_empty() { "healed".to_string() } else { format!("cut {}", describe_cut(cut)) };
                    ("links".to_string(), shorten(&text, 30), text)
                }
                EventKind::Invoked { client, index, op } => ("invoke".to_string(), shorten(&format!("{index}: {op}"), 30), format!("client {client} invokes op {index}: {op}")),
                EventKind::Completed { client, index, outcome } => {
                    (format!("done {}", outcome_class(outcome)), shorten(&format!("{index} → {outcome:?}"), 30), format!("client {client} op {index} completed: {outcome:?}"))
                }
            };
            let _ = writeln!(
                svg,
                r#"<text class="{class}" x="{x:.1}" y="{:.1}"><title>{} ms: {}</title>{}</text>"#,
                y + 4.0,
                e.at_ms,
                esc(&title),
                esc(&text)
            );
        }
    }

    /// The page around the timeline: summary, failures, legend and the sticky lane names.
    fn wrap(&self, svg: &str) -> String {
        let c = &self.run.config;
        let v = &self.run.verdict;
        let mut html = String::new();
        let _ = write!(html, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\n<style>{STYLE}</style></head><body>\n", esc(&self.options.title));
        let _ = writeln!(html, "<h1>{}</h1>", esc(&self.options.title));
        let verdict = if v.passed() { r#"<b class="pass">PASS</b>"# } else { r#"<b class="fail">FAIL</b>"# };
        let _ = writeln!(
            html,
            "<p>seed {} · {} voters, {} observers · {} clients × {} ops · latency {}–{} ms, drop {:.3}, fsync ≤ {} ms · {} faults · {verdict} · trace {:016x} · virtual {} ms, {} steps</p>",
            c.seed,
            c.voters,
            c.observers,
            c.clients,
            c.ops_per_client,
            c.network.latency_min_ms,
            c.network.latency_max_ms,
            c.network.drop,
            c.network.fsync_max_ms,
            c.faults.len(),
            v.trace_hash,
            v.virtual_ms,
            v.steps
        );
        if !v.failures.is_empty() {
            let _ = writeln!(html, "<ul class=\"failures\">");
            for f in &v.failures {
                let _ = writeln!(html, "<li>{}</li>", esc(f));
            }
            let _ = writeln!(html, "</ul>");
        }
        let pings = if self.options.pings { "PING/PINGREPLY shown".to_string() } else { format!("{} PING/PINGREPLY hidden (--pings shows them)", self.hidden_pings) };
        let _ = writeln!(
            html,
            "<p class=\"note\">{}–{} ms · {} messages, {} events · {pings} · time is not to scale: read the clock on the left · hover any mark for details</p>",
            self.from_ms,
            self.to_ms,
            self.messages.len(),
            self.events.len()
        );
        html.push_str(LEGEND);
        let _ = write!(html, "<div class=\"head\"><svg width=\"{:.0}\" height=\"{HEAD_PX}\">", self.width);
        let _ = write!(html, r#"<text class="lane-name" x="4" y="22">time · faults</text>"#);
        for (&p, &x) in &self.peers {
            let what = if p <= c.voters { "voter" } else { "observer" };
            let _ = write!(html, r#"<text class="lane-name" x="{:.1}" y="22">peer {p} ({what})</text>"#, x - 20.0);
        }
        for (i, &x) in self.clients.iter().enumerate() {
            let _ = write!(html, r#"<text class="lane-name" x="{:.1}" y="22">client {i}</text>"#, x - 20.0);
        }
        html.push_str("</svg></div>\n");
        let _ = writeln!(html, "<svg class=\"timeline\" width=\"{:.0}\" height=\"{:.0}\" xmlns=\"http://www.w3.org/2000/svg\">", self.width, self.axis.bottom() + 10.0);
        html.push_str(r#"<defs><marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker></defs>"#);
        html.push('\n');
        html.push_str(svg);
        html.push_str("</svg>\n</body></html>\n");
        html
    }
}

/// Where an event's marker goes.
fn slot_of(e: &TraceEvent) -> Slot {
    match &e.kind {
        EventKind::Role { node, .. } | EventKind::Applied { node, .. } | EventKind::Crashed { node } | EventKind::Restarted { node } => Slot::Peer(*node),
        EventKind::Fault(_) | EventKind::Links { .. } => Slot::Gutter,
        EventKind::Invoked { client, .. } | EventKind::Completed { client, .. } => Slot::Client(*client),
    }
}

/// When a message's arrow ends, if it reached (or died at) the receiver's lane.
fn end_of(m: &MessageRecord) -> Option<u64> {
    match m.fate {
        Fate::Delivered(t) | Fate::Lost(t) => Some(t),
        Fate::InFlight | Fate::Dropped | Fate::Blocked => None,
    }
}

/// The lane colour for a role; a learner or leader not yet serving is drawn dashed.
fn lane_class(role: Role, serving: bool) -> &'static str {
    match (role, serving) {
        (Role::Looking, _) => "looking",
        (Role::Following, true) => "following",
        (Role::Following, false) => "following syncing",
        (Role::Leading, true) => "leading",
        (Role::Leading, false) => "leading syncing",
        (Role::Observing, true) => "observing",
        (Role::Observing, false) => "observing syncing",
    }
}

/// Arrow colours by protocol phase.
fn kind_class(kind: &str) -> &'static str {
    match kind {
        "VOTE" => "k-vote",
        "FOLLOWERINFO" | "OBSERVERINFO" | "LEADERINFO" | "ACKEPOCH" | "NEWLEADER" | "UPTODATE" | "DIFF" | "TRUNC" | "SNAP" => "k-sync",
        "PROPOSAL" | "INFORM" => "k-proposal",
        "ACK" => "k-ack",
        "COMMIT" => "k-commit",
        "PING" | "PINGREPLY" => "k-ping",
        _ => "k-other",
    }
}

fn outcome_class(o: &Outcome) -> &'static str {
    match o {
        Outcome::Ok(_) => "ok",
        Outcome::Error(_) => "error",
        Outcome::Unknown => "unknown",
        Outcome::Pending => "pending",
    }
}

/// The first `max` characters of `s`, with an ellipsis when cut.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// Escapes text for HTML and SVG.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body { font: 13px system-ui, sans-serif; margin: 12px; color: #222; }
h1 { font-size: 16px; margin: 0 0 6px; }
p { margin: 4px 0; } .note { color: #666; }
.pass { color: #1a7f37; } .fail { color: #c62828; }
.failures { color: #c62828; font-family: monospace; }
.legend span { display: inline-block; margin-right: 14px; }
.legend i { display: inline-block; width: 22px; height: 4px; vertical-align: middle; margin-right: 4px; }
.head { position: sticky; top: 0; background: #fff; border-bottom: 1px solid #ccc; z-index: 1; }
svg text { font: 11px system-ui, sans-serif; }
.lane-name { font-weight: bold; font-size: 12px; }
.clock { fill: #888; font-family: monospace; font-size: 10px; }
.guide { stroke: #eee; stroke-width: 1; }
.role { stroke-width: 4; }
.looking { stroke: #9e9e9e; fill: #757575; } .following { stroke: #3b6fd8; fill: #3b6fd8; }
.leading { stroke: #d32f2f; fill: #d32f2f; } .observing { stroke: #2e9e5b; fill: #2e9e5b; }
.role.leading { stroke-width: 6; } .role.syncing { stroke-dasharray: 4 3; }
.role-mark { font-weight: bold; } .carried { opacity: 0.6; font-weight: normal; }
.role.down { stroke: #ddd; stroke-dasharray: 2 4; }
.applied { fill: #2e7d32; font-size: 10px; }
.crash { fill: #c62828; font-weight: bold; } .restart { fill: #1a7f37; font-weight: bold; }
.fault { fill: #6a1b9a; font-weight: bold; } .links { fill: #c62828; }
.fault-line { stroke: #ce93d8; stroke-dasharray: 6 4; }
.pause { fill: #fff3b0; opacity: 0.8; } .cut { fill: #ef9a9a; }
.msg line { stroke-width: 1.2; } .msg text { font-size: 9px; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
.k-vote line { stroke: #8e24aa; } .k-vote text { fill: #8e24aa; }
.k-sync line { stroke: #ef6c00; } .k-sync text { fill: #ef6c00; }
.k-proposal line { stroke: #1565c0; } .k-proposal text { fill: #1565c0; }
.k-ack line { stroke: #00897b; } .k-ack text { fill: #00897b; }
.k-commit line { stroke: #2e7d32; } .k-commit text { fill: #2e7d32; }
.k-ping line { stroke: #bbb; } .k-ping text { fill: #999; }
.k-other line { stroke: #555; } .k-other text { fill: #555; }
.msg.lost line, .msg.dropped line, .msg.blocked line { stroke: #c62828; stroke-dasharray: 3 3; }
.x { fill: #c62828; font-weight: bold; text-anchor: middle; }
.op.ok { fill: #66bb6a; } .op.error { fill: #ffa726; } .op.unknown { fill: #ef5350; } .op.pending { fill: #bdbdbd; }
.invoke { fill: #333; } .done.ok { fill: #2e7d32; } .done.error { fill: #ef6c00; } .done.unknown { fill: #c62828; }
";

const LEGEND: &str = r##"<p class="legend">
<span><i style="background:#9e9e9e"></i>LOOKING</span><span><i style="background:#3b6fd8"></i>FOLLOWING</span>
<span><i style="background:#d32f2f"></i>LEADING</span><span><i style="background:#2e9e5b"></i>OBSERVING</span>
<span>dashed lane: syncing, dotted: down</span>
<span><i style="background:#8e24aa"></i>VOTE</span><span><i style="background:#ef6c00"></i>discovery/sync</span>
<span><i style="background:#1565c0"></i>PROPOSAL</span><span><i style="background:#00897b"></i>ACK</span><span><i style="background:#2e7d32"></i>COMMIT</span>
<span><i style="background:#c62828"></i>lost/dropped/cut ✕</span><span><i style="background:#fff3b0"></i>paused</span><span><i style="background:#ef9a9a"></i>links cut</span>
<span>• e:n applied zxid</span>
</p>
"##;
