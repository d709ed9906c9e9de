//! Four-letter words on the client port (ruok, srvr, stat, mntr, conf, cons,
//! wchs, wchc, wchp, envi, isro, dump), formatted as ZooKeeper 3.8 formats them
//! so that `echo srvr | nc` and monitoring scripts keep working.

use crate::peer::PeerStats;
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// The version string reported where ZooKeeper reports its own.
pub const VERSION: &str = concat!("3.8.0-ensemble-", env!("CARGO_PKG_VERSION"), ", built on 1970-01-01 00:00 UTC");

/// One client connection, as cons and stat list it.
#[derive(Clone, Debug, Default)]
pub struct ConnectionInfo {
    /// `ip:port` of the client.
    pub remote: String,
    /// Requests waiting on it.
    pub queued: usize,
    /// Requests received on it.
    pub received: u64,
    /// Replies sent on it.
    pub sent: u64,
    /// Its session, 0 before the handshake.
    pub session: i64,
    /// Negotiated timeout.
    pub timeout_ms: i32,
    /// Last zxid sent to it.
    pub last_zxid: i64,
}

/// Everything the words report, gathered by the server from the engine and the host.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Engine counters.
    pub stats: PeerStats,
    /// "standalone", "leader", "follower", "observer".
    pub mode: String,
    /// Client connections.
    pub connections: Vec<ConnectionInfo>,
    /// Request latency min/avg/max in ms.
    pub latency_ms: (u64, f64, u64),
    /// Milliseconds since start.
    pub uptime_ms: u64,
    /// conf lines, `key=value`.
    pub conf: Vec<(String, String)>,
    /// Sessions with their ephemeral paths, for dump.
    pub ephemerals: Vec<(i64, Vec<String>)>,
    /// Watched paths per connection session, for wchc.
    pub watches_by_session: Vec<(i64, BTreeSet<String>)>,
    /// The server is not serving clients: it has no leader yet, or is still
    /// syncing with it, or lost its quorum.
    pub not_serving: bool,
}

/// What ZooKeeper answers, instead of the report, while it is not serving.
pub const NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests\n";

/// The words ZooKeeper 3.8 answers with [`NOT_SERVING`] while it is not
/// serving; `ruok`, `envi` and the trace-mask words answer as usual, and
/// `isro` answers `null`.
const WORDS_NEEDING_A_SERVING_SERVER: [&str; 13] =
    ["conf", "cons", "crst", "dirs", "dump", "hash", "mntr", "srst", "srvr", "stat", "wchc", "wchp", "wchs"];

/// The response to `word`, or ZooKeeper's refusal when it is not whitelisted.
pub fn respond(word: &str, whitelist: &BTreeSet<String>, report: &Report) -> String {
    if !whitelist.contains(word) {
        return format!("{word} is not executed because it is not in the whitelist.\n");
    }
    if report.not_serving {
        if word == "isro" {
            return "null".to_string();
        }
        if WORDS_NEEDING_A_SERVING_SERVER.contains(&word) {
            return NOT_SERVING.to_string();
        }
    }
    match word {
        "ruok" => "imok".to_string(),
        "isro" => "rw".to_string(),
        "srvr" => srvr(report, false),
        "stat" => srvr(report, true),
        "cons" => {
            let mut out = String::new();
            for c in &report.connections {
                let _ = writeln!(
                    out,
                    " /{}[1](queued={},recved={},sent={},sid=0x{:x},lop=NA,est=0,to={},lzxid=0x{:x},lresp=0,llat=0,minlat=0,avglat=0,maxlat=0)",
                    c.remote, c.queued, c.received, c.sent, c.session, c.timeout_ms, c.last_zxid
                );
            }
            out.push('\n');
            out
        }
        "conf" => report.conf.iter().map(|(k, v)| format!("{k}={v}\n")).collect(),
        "wchs" => format!(
            "{} connections watching {} paths\nTotal watches:{}\n",
            report.stats.watching_connections, report.stats.watched_paths, report.stats.watch_count
        ),
        "wchc" => {
            let mut out = String::new();
            for (session, paths) in &report.watches_by_session {
                let _ = writeln!(out, "0x{session:x}");
                for p in paths {
                    let _ = writeln!(out, "\t{p}");
                }
            }
            out
        }
        "wchp" => {
            let mut by_path: std::collections::BTreeMap<&str, Vec<i64>> = Default::default();
            for (session, paths) in &report.watches_by_session {
                for p in paths {
                    by_path.entry(p).or_default().push(*session);
                }
            }
            let mut out = String::new();
            for (p, sessions) in by_path {
                let _ = writeln!(out, "{p}");
                for s in sessions {
                    let _ = writeln!(out, "\t0x{s:x}");
                }
            }
            out
        }
        "dump" => {
            let mut out = String::from("SessionTracker dump:\n");
            let _ = writeln!(out, "Session Sets ({})/({}):", report.stats.session_count, report.stats.session_count);
            out.push_str("ephemeral nodes dump:\n");
            let with = report.ephemerals.iter().filter(|(_, p)| !p.is_empty()).count();
            let _ = writeln!(out, "Sessions with Ephemerals ({with}):");
            for (session, paths) in report.ephemerals.iter().filter(|(_, p)| !p.is_empty()) {
                let _ = writeln!(out, "0x{session:x}:");
                for p in paths {
                    let _ = writeln!(out, "\t{p}");
                }
            }
            let _ = writeln!(out, "Connections dump:\nConnections Sets (1)/({}):", report.connections.len());
            for c in &report.connections {
                let _ = writeln!(out, "\tip: /{} sessionId: 0x{:x}", c.remote, c.session);
            }
            out
        }
        "envi" => {
            let mut out = String::from("Environment:\n");
            let _ = writeln!(out, "zookeeper.version={VERSION}");
            let _ = writeln!(out, "host.name={}", std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into()));
            let _ = writeln!(out, "os.name={}", std::env::consts::OS);
            let _ = writeln!(out, "os.arch={}", std::env::consts::ARCH);
            let _ = writeln!(out, "user.dir={}", std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default());
            out
        }
        "mntr" => mntr(report),
        "crst" => "Connection stats reset.\n".to_string(),
        "srst" => "Server stats reset.\n".to_string(),
        "dirs" => "datadir_size: 0\nlogdir_size: 0\n".to_string(),
        "gtmk" => "0\n".to_string(),
        "stmk" => "0\n".to_string(),
        "hash" => format!("0x{:x}\n", report.stats.last_zxid.to_u64()),
        _ => format!("{word} is not executed because it is not in the whitelist.\n"),
    }
}

fn srvr(report: &Report, with_clients: bool) -> String {
    let s = &report.stats;
    let mut out = format!("Zookeeper version: {VERSION}\n");
    if with_clients {
        out.push_str("Clients:\n");
        for c in &report.connections {
            let _ = writeln!(out, " /{}[1](queued={},recved={},sent={})", c.remote, c.queued, c.received, c.sent);
        }
        out.push('\n');
    }
    let (min, avg, max) = report.latency_ms;
    let _ = writeln!(out, "Latency min/avg/max: {min}/{avg:.4}/{max}");
    let _ = writeln!(out, "Received: {}", s.packets_received);
    let _ = writeln!(out, "Sent: {}", s.packets_sent);
    let _ = writeln!(out, "Connections: {}", s.connection_count);
    let _ = writeln!(out, "Outstanding: {}", s.outstanding_requests);
    let _ = writeln!(out, "Zxid: 0x{:x}", s.last_zxid.to_u64());
    let _ = writeln!(out, "Mode: {}", report.mode);
    let _ = writeln!(out, "Node count: {}", s.node_count);
    out
}

fn mntr(report: &Report) -> String {
    let s = &report.stats;
    let (min, avg, max) = report.latency_ms;
    let rows: Vec<(&str, String)> = vec![
        ("zk_version", VERSION.to_string()),
        ("zk_server_state", report.mode.clone()),
        ("zk_ephemerals_count", s.ephemerals_count.to_string()),
        ("zk_num_alive_connections", s.connection_count.to_string()),
        ("zk_avg_latency", format!("{avg:.4}")),
        ("zk_outstanding_requests", s.outstanding_requests.to_string()),
        ("zk_znode_count", s.node_count.to_string()),
        ("zk_global_sessions", s.session_count.to_string()),
        ("zk_packets_sent", s.packets_sent.to_string()),
        ("zk_packets_received", s.packets_received.to_string()),
        ("zk_watch_count", s.watch_count.to_string()),
        ("zk_min_latency", min.to_string()),
        ("zk_max_latency", max.to_string()),
        ("zk_approximate_data_size", s.approximate_data_size.to_string()),
        ("zk_local_sessions", "0".to_string()),
        ("zk_uptime", report.uptime_ms.to_string()),
        ("zk_last_proposal_size", "-1".to_string()),
    ];
    rows.into_iter().map(|(k, v)| format!("{k}\t{v}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::config::FOUR_LETTER_WORDS;

    // srvr prints ZooKeeper's lines in ZooKeeper's order, ending with Mode and Node count.
    #[test]
    fn srvr_format() {
        let mut report = Report { mode: "standalone".into(), ..Default::default() };
        report.stats.node_count = 5;
        let all: BTreeSet<String> = FOUR_LETTER_WORDS.iter().map(|s| s.to_string()).collect();
        let out = respond("srvr", &all, &report);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("Zookeeper version: 3.8.0"));
        assert_eq!(lines[1], "Latency min/avg/max: 0/0.0000/0");
        assert_eq!(&lines[6..], ["Zxid: 0x0", "Mode: standalone", "Node count: 5"]);
        assert_eq!(respond("ruok", &all, &report), "imok");
    }

    // While not serving, the report words say so as ZooKeeper does; ruok still says imok and isro says null.
    #[test]
    fn not_serving() {
        let report = Report { mode: "looking".into(), not_serving: true, ..Default::default() };
        let all: BTreeSet<String> = FOUR_LETTER_WORDS.iter().map(|s| s.to_string()).collect();
        for word in ["srvr", "stat", "mntr", "cons", "dump"] {
            assert_eq!(respond(word, &all, &report), NOT_SERVING, "{word}");
        }
        assert_eq!(respond("ruok", &all, &report), "imok");
        assert_eq!(respond("isro", &all, &report), "null");
    }

    // A word outside the whitelist is refused with ZooKeeper's sentence.
    #[test]
    fn whitelist_refusal() {
        let only_srvr: BTreeSet<String> = ["srvr".to_string()].into();
        assert_eq!(respond("ruok", &only_srvr, &Report::default()), "ruok is not executed because it is not in the whitelist.\n");
    }
}
