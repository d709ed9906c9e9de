//! The server configuration and its zoo.cfg parser.
//!
//! zoo.cfg is read the way ZooKeeper reads it, as a `java.util.Properties`
//! file: one `key=value` per line (`key: value` and `key value` also work),
//! whitespace around key and value trimmed, `#` and `!` start comment lines.
//! Two things of Java's syntax are not supported and are refused rather than
//! misread: a line continued with a trailing backslash, and escapes (`\t`,
//! `\uXXXX`, `\:`); a backslash inside a value is kept as it is.
//!
//! Where ZooKeeper would silently turn an unknown key into a system property,
//! we refuse it: a typo such as `tickTme` must not start a server with the
//! default tick. Keys ZooKeeper knows that do not apply to us yet are accepted
//! and ignored (see [`IGNORED_KEYS`]); each one leaves a line in
//! [`ServerConfig::warnings`] for the host to log.
//!
//! `superDigest` is an ensemble extension: ZooKeeper takes the same value from
//! the system property `zookeeper.DigestAuthenticationProvider.superDigest`,
//! which a zoo.cfg cannot set; we accept it as a key so that one file holds
//! the whole configuration.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::zxid::ServerId;

/// Every four-letter word a whitelist of `*` enables, as ZooKeeper lists them.
pub const FOUR_LETTER_WORDS: [&str; 18] = [
    "conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "ruok", "stmk", "srst", "srvr", "stat", "wchc", "wchp",
    "wchs", "mntr", "isro", "hash",
];

/// ZooKeeper keys accepted in zoo.cfg and ignored, because what they set does not exist in ensemble yet.
///
/// `electionAlg` is accepted only with the value 3 (fast leader election, the
/// only one ZooKeeper has kept since 3.6); any other value is an error.
pub const IGNORED_KEYS: [&str; 11] = [
    "admin.enableServer",
    "admin.serverPort",
    "standaloneEnabled",
    "reconfigEnabled",
    "electionAlg",
    "preAllocSize",
    "forceSync",
    "leaderServes",
    "cnxTimeout",
    "quorumListenOnAllIPs",
    "metricsProvider.className",
];

/// The largest server id: a session id carries its server's id in its top byte.
pub const SERVER_ID_MAX: u64 = 255;

/// The largest server id when `extendedTypesEnabled`: a TTL node's owner uses 0xff in that byte.
pub const SERVER_ID_MAX_EXTENDED_TYPES: u64 = 254;

/// The smallest `autopurge.snapRetainCount`; smaller values are raised to it, as ZooKeeper does.
pub const AUTOPURGE_SNAP_RETAIN_COUNT_MIN: u32 = 3;

/// A server's settings, from zoo.cfg or built in code; `Default` holds ZooKeeper's defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// `clientPort`: the port clients connect to.
    pub client_port: u16,
    /// `clientPortAddress`: the address to listen on for clients; `None` listens on every address.
    pub client_port_address: Option<String>,
    /// `dataDir`: snapshots, `myid` and the epoch files (relative paths are relative to the working directory).
    pub data_dir: PathBuf,
    /// `dataLogDir`: the transaction log, best on a dedicated device; defaults to `data_dir`.
    pub data_log_dir: PathBuf,
    /// `tickTime`: the basic time unit, in ms.
    pub tick_time_ms: u64,
    /// `initLimit`: ticks a follower may take to connect to and sync with the leader.
    pub init_limit: u32,
    /// `syncLimit`: ticks a follower may lag behind the leader.
    pub sync_limit: u32,
    /// `minSessionTimeout`: the smallest negotiated session timeout; defaults to 2 × tickTime.
    pub min_session_timeout_ms: i32,
    /// `maxSessionTimeout`: the largest negotiated session timeout; defaults to 20 × tickTime.
    pub max_session_timeout_ms: i32,
    /// `maxClientCnxns`: connections allowed from one IP address; 0 means unlimited.
    pub max_client_cnxns: u32,
    /// `4lw.commands.whitelist`: the four-letter words served, lower case.
    pub four_letter_words: BTreeSet<String>,
    /// `snapCount`: a snapshot is taken after a random count of transactions in `[snapCount/2+1, snapCount]`.
    pub snap_count: u64,
    /// `autopurge.snapRetainCount`: snapshots (and their logs) kept by the purge task; at least 3.
    pub autopurge_snap_retain_count: u32,
    /// `autopurge.purgeInterval`: hours between purges; 0 turns purging off.
    pub autopurge_purge_interval_hours: u32,
    /// `zookeeper.extendedTypesEnabled`: allows TTL nodes.
    pub extended_types_enabled: bool,
    /// `jute.maxbuffer`: the largest frame or znode payload, in bytes; must match on servers and clients.
    pub jute_max_buffer: u32,
    /// `globalOutstandingLimit`: requests queued across all clients before the server stops reading.
    pub global_outstanding_limit: u32,
    /// The `server.N` lines, sorted by id; empty for a standalone server.
    pub servers: Vec<QuorumServer>,
    /// This server's id, from `<dataDir>/myid`; set by [`load_zoo_cfg`] when `servers` is not empty.
    pub my_id: Option<ServerId>,
    /// `peerType`: the role this server's operator says it has. As in ZooKeeper,
    /// its own `server.N` line decides (`:observer` makes an observer); a
    /// `peerType` that disagrees with that line leaves a warning.
    pub peer_type: Option<LearnerType>,
    /// `superDigest` (ensemble extension): `user:base64(sha1(user:password))` that may do anything.
    pub super_digest: Option<String>,
    /// `znode.container.checkIntervalMs` (a system property in ZooKeeper): how often
    /// empty containers and expired TTL nodes are looked for.
    pub container_check_interval_ms: u64,
    /// Things the operator should hear about that are not errors (ignored keys, raised values).
    pub warnings: Vec<String>,
}

/// One `server.N=host:quorumPort:electionPort[:participant|observer][;[clientAddr:]clientPort]` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuorumServer {
    /// The `N` of `server.N`, which that server's `myid` file holds.
    pub id: ServerId,
    /// The host name or address (an IPv6 address without its brackets).
    pub host: String,
    /// The port followers connect to the leader on.
    pub quorum_port: u16,
    /// The port leader election runs on.
    pub election_port: u16,
    /// Whether the server votes (participant) or only follows (observer).
    pub role: LearnerType,
    /// The client address given after `;`, if any.
    pub client_address: Option<String>,
    /// The client port given after `;`, if any.
    pub client_port: Option<u16>,
}

/// A server's role in the ensemble, ZooKeeper's `LearnerType`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LearnerType {
    /// Votes in elections and on proposals.
    Participant,
    /// Receives committed transactions but never votes.
    Observer,
}

impl LearnerType {
    /// The name zoo.cfg uses for it.
    pub fn name(self) -> &'static str {
        match self {
            LearnerType::Participant => "participant",
            LearnerType::Observer => "observer",
        }
    }
}

/// Why a configuration could not be used; the message names the file, line, key and fault.
#[derive(Debug)]
pub enum ConfigError {
    /// A value is malformed, out of range, or conflicts with another key.
    Invalid {
        /// The file's name as shown to the operator.
        file: String,
        /// The 1-based line the fault is blamed on.
        line: usize,
        /// The key on that line.
        key: String,
        /// What was wrong.
        message: String,
    },
    /// A key neither ZooKeeper's that we use nor one of [`IGNORED_KEYS`].
    UnknownKey {
        /// The file's name as shown to the operator.
        file: String,
        /// The 1-based line of the key.
        line: usize,
        /// The key as written.
        key: String,
        /// A known key it was probably meant to be.
        suggestion: Option<&'static str>,
    },
    /// A file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        error: io::Error,
    },
    /// The `myid` file is missing, malformed, or names a server the configuration does not list.
    MyId {
        /// The `myid` file.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
}

impl ConfigError {
    /// The line the error is blamed on, if it is about one line.
    pub fn line(&self) -> Option<usize> {
        match self {
            ConfigError::Invalid { line, .. } | ConfigError::UnknownKey { line, .. } => Some(*line),
            ConfigError::Io { .. } | ConfigError::MyId { .. } => None,
        }
    }

    /// The key the error is about, if it is about one key.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. } | ConfigError::UnknownKey { key, .. } => Some(key),
            ConfigError::Io { .. } | ConfigError::MyId { .. } => None,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Invalid { file, line, key, message } => write!(f, "{file} line {line}: {key}: {message}"),
            ConfigError::UnknownKey { file, line, key, suggestion } => {
                write!(f, "{file} line {line}: unknown key \"{key}\"")?;
                match suggestion {
                    Some(known) => write!(f, " (did you mean \"{known}\"?)"),
                    None => Ok(()),
                }
            }
            ConfigError::Io { path, error } => write!(f, "cannot read {}: {error}", path.display()),
            ConfigError::MyId { path, message } => write!(f, "myid file {}: {message}", path.display()),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Io { error, .. } => Some(error),
            _ => None,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        let tick_time_ms = 2000;
        let data_dir = PathBuf::from("./data");
        ServerConfig {
            client_port: 2181,
            client_port_address: None,
            data_log_dir: data_dir.clone(),
            data_dir,
            tick_time_ms,
            init_limit: 10,
            sync_limit: 5,
            min_session_timeout_ms: 2 * tick_time_ms as i32,
            max_session_timeout_ms: 20 * tick_time_ms as i32,
            max_client_cnxns: 60,
            four_letter_words: BTreeSet::from(["srvr".to_string()]),
            snap_count: 100_000,
            autopurge_snap_retain_count: AUTOPURGE_SNAP_RETAIN_COUNT_MIN,
            autopurge_purge_interval_hours: 0,
            extended_types_enabled: false,
            jute_max_buffer: 0xfffff,
            global_outstanding_limit: 1000,
            servers: Vec::new(),
            my_id: None,
            peer_type: None,
            super_digest: None,
            container_check_interval_ms: 60_000,
            warnings: Vec::new(),
        }
    }
}

impl ServerConfig {
    /// The `server.N` line with the given id.
    pub fn server(&self, id: ServerId) -> Option<&QuorumServer> {
        self.servers.iter().find(|s| s.id == id)
    }

    /// This server's own `server.N` line, once `my_id` is known.
    pub fn my_server(&self) -> Option<&QuorumServer> {
        self.my_id.and_then(|id| self.server(id))
    }
}

/// Parses the text of a zoo.cfg; `my_id` stays `None` (see [`load_zoo_cfg`]).
pub fn parse_zoo_cfg(text: &str) -> Result<ServerConfig, ConfigError> {
    Ok(parse_named(text, "zoo.cfg")?.config)
}

/// Reads and parses a zoo.cfg, then, if it has `server.N` lines, reads this server's id from `<dataDir>/myid`.
///
/// With the id known, a client address on this server's own `server.N` line
/// (after `;`) becomes the client port and address, as in ZooKeeper 3.5+;
/// it must agree with `clientPort` and `clientPortAddress` where both are given.
pub fn load_zoo_cfg(path: &Path) -> Result<ServerConfig, ConfigError> {
    let text = fs::read_to_string(path).map_err(|error| ConfigError::Io { path: path.to_path_buf(), error })?;
    let parsed = parse_named(&text, &path.display().to_string())?;
    if parsed.config.servers.is_empty() {
        return Ok(parsed.config);
    }
    let my_id = read_myid(&parsed.config.data_dir)?;
    let myid_path = parsed.config.data_dir.join("myid");
    parsed.with_my_id(my_id, &myid_path)
}

/// Reads this server's id from `<data_dir>/myid`, a file holding the id as decimal text.
pub fn read_myid(data_dir: &Path) -> Result<ServerId, ConfigError> {
    let path = data_dir.join("myid");
    let text = fs::read_to_string(&path).map_err(|error| ConfigError::MyId {
        message: format!(
            "cannot read it ({error}); a server with server.N lines needs its own N there, e.g. `echo 1 > {}`",
            path.display()
        ),
        path: path.clone(),
    })?;
    let value = text.trim();
    match value.parse::<u64>() {
        Ok(id) if id <= SERVER_ID_MAX => Ok(ServerId(id)),
        Ok(_) => Err(ConfigError::MyId {
            path,
            message: format!(
                "server id {value} is out of range 0..={SERVER_ID_MAX} (session ids carry it in one byte)"
            ),
        }),
        Err(_) => Err(ConfigError::MyId { path, message: format!("expected a server id, got \"{value}\"") }),
    }
}

/// A parsed file plus where things were said, for the checks that need `myid`.
struct Parsed {
    config: ServerConfig,
    file: String,
    /// Lines of the keys that were set, by canonical key.
    lines: BTreeMap<&'static str, usize>,
    /// Lines of the `server.N` entries, with the key as written.
    server_lines: BTreeMap<ServerId, (usize, String)>,
}

impl Parsed {
    /// Sets `my_id` and reconciles the client address with this server's `server.N` line.
    fn with_my_id(mut self, my_id: ServerId, myid_path: &Path) -> Result<ServerConfig, ConfigError> {
        let Some(me) = self.config.server(my_id).cloned() else {
            let listed: Vec<String> = self.config.servers.iter().map(|s| s.id.0.to_string()).collect();
            return Err(ConfigError::MyId {
                path: myid_path.to_path_buf(),
                message: format!(
                    "this server's id is {} but {} has no server.{} line (it lists {})",
                    my_id.0,
                    self.file,
                    my_id.0,
                    listed.join(", ")
                ),
            });
        };
        if self.config.extended_types_enabled && my_id.0 > SERVER_ID_MAX_EXTENDED_TYPES {
            return Err(ConfigError::MyId {
                path: myid_path.to_path_buf(),
                message: format!(
                    "server id {} is too large with extendedTypesEnabled (at most {SERVER_ID_MAX_EXTENDED_TYPES})",
                    my_id.0
                ),
            });
        }
        let (line, key) = self.server_lines[&my_id].clone();
        if let Some(port) = me.client_port {
            if self.lines.contains_key("clientPort") && port != self.config.client_port {
                return Err(self.invalid(
                    line,
                    &key,
                    format!("client port {port} differs from clientPort={}", self.config.client_port),
                ));
            }
            self.config.client_port = port;
        }
        if let Some(address) = &me.client_address {
            if let Some(configured) = &self.config.client_port_address {
                if configured != address && !is_wildcard(configured) {
                    return Err(self.invalid(
                        line,
                        &key,
                        format!("client address {address} differs from clientPortAddress={configured}"),
                    ));
                }
            }
            self.config.client_port_address = Some(address.clone());
        }
        if let Some(peer_type) = self.config.peer_type {
            if peer_type != me.role {
                // ZooKeeper logs "Peer type from servers list (...) doesn't match
                // peerType (...). Defaulting to servers list." and goes on.
                self.config.warnings.push(format!(
                    "{} line {}: peerType: {} disagrees with this server's line {key} ({}); the server line decides",
                    self.file,
                    self.lines["peerType"],
                    peer_type.name(),
                    me.role.name()
                ));
            }
        }
        self.config.my_id = Some(my_id);
        Ok(self.config)
    }

    fn invalid(&self, line: usize, key: &str, message: String) -> ConfigError {
        ConfigError::Invalid { file: self.file.clone(), line, key: key.to_string(), message }
    }
}

/// Parses zoo.cfg text, naming `file` in errors.
fn parse_named(text: &str, file: &str) -> Result<Parsed, ConfigError> {
    let mut parser = Parser {
        parsed: Parsed {
            config: ServerConfig::default(),
            file: file.to_string(),
            lines: BTreeMap::new(),
            server_lines: BTreeMap::new(),
        },
        min_session_timeout_ms: None,
        max_session_timeout_ms: None,
        data_log_dir: None,
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (index, raw) in text.lines().enumerate() {
        let content = raw.trim_start();
        if content.is_empty() || content.starts_with('#') || content.starts_with('!') {
            continue;
        }
        let (key, value) = split_property(content);
        parser.set(index + 1, key, value)?;
    }
    parser.finish()
}

/// The state of a parse: the config so far, and the values whose defaults depend on others.
struct Parser {
    parsed: Parsed,
    /// `None` until given; -1 in the file also means "the default".
    min_session_timeout_ms: Option<i32>,
    max_session_timeout_ms: Option<i32>,
    data_log_dir: Option<PathBuf>,
}

impl Parser {
    /// Applies one `key=value` line.
    fn set(&mut self, line: usize, key: &str, value: &str) -> Result<(), ConfigError> {
        let fail = |message: String| ConfigError::Invalid {
            file: self.parsed.file.clone(),
            line,
            key: key.to_string(),
            message,
        };
        if value.ends_with('\\') {
            return Err(fail("a line continued with a trailing \"\\\" is not supported; join the lines".into()));
        }
        if let Some(n) = key.strip_prefix("server.") {
            return self.set_server(line, key, n, value);
        }
        let Some(canonical) = canonical_key(key) else {
            return Err(ConfigError::UnknownKey {
                file: self.parsed.file.clone(),
                line,
                key: key.to_string(),
                suggestion: suggest_key(key),
            });
        };
        if let Some(first) = self.parsed.lines.get(canonical) {
            return Err(fail(format!("set twice; first set at line {first}")));
        }
        self.parsed.lines.insert(canonical, line);

        let config = &mut self.parsed.config;
        match canonical {
            "clientPort" => config.client_port = parse_port(value).map_err(fail)?,
            "clientPortAddress" => {
                config.client_port_address = Some(parse_non_empty(value, "an address").map_err(fail)?)
            }
            "dataDir" => config.data_dir = PathBuf::from(parse_non_empty(value, "a directory").map_err(fail)?),
            "dataLogDir" => {
                self.data_log_dir = Some(PathBuf::from(parse_non_empty(value, "a directory").map_err(fail)?))
            }
            "tickTime" => config.tick_time_ms = parse_positive(value, i32::MAX as u64).map_err(fail)?,
            "initLimit" => config.init_limit = parse_positive(value, i32::MAX as u64).map_err(fail)? as u32,
            "syncLimit" => config.sync_limit = parse_positive(value, i32::MAX as u64).map_err(fail)? as u32,
            "minSessionTimeout" => self.min_session_timeout_ms = parse_session_timeout(value).map_err(fail)?,
            "maxSessionTimeout" => self.max_session_timeout_ms = parse_session_timeout(value).map_err(fail)?,
            "maxClientCnxns" => config.max_client_cnxns = parse_count(value, "(0 = unlimited)").map_err(fail)?,
            "4lw.commands.whitelist" => config.four_letter_words = parse_whitelist(value).map_err(fail)?,
            "snapCount" => {
                let count = parse_positive(value, i32::MAX as u64).map_err(fail)?;
                if count < 2 {
                    return Err(fail(format!("expected at least 2, got \"{value}\"")));
                }
                config.snap_count = count;
            }
            "autopurge.snapRetainCount" => {
                let count = parse_count(value, "").map_err(fail)?;
                if count < AUTOPURGE_SNAP_RETAIN_COUNT_MIN {
                    // ZooKeeper raises it with a warning rather than refusing; an
                    // existing zoo.cfg must keep working, so we do the same.
                    config.warnings.push(format!(
                        "{} line {line}: {key}: {count} is below the minimum {AUTOPURGE_SNAP_RETAIN_COUNT_MIN}; using {AUTOPURGE_SNAP_RETAIN_COUNT_MIN}",
                        self.parsed.file
                    ));
                }
                config.autopurge_snap_retain_count = count.max(AUTOPURGE_SNAP_RETAIN_COUNT_MIN);
            }
            "autopurge.purgeInterval" => {
                config.autopurge_purge_interval_hours = parse_count(value, "(hours, 0 = off)").map_err(fail)?
            }
            "zookeeper.extendedTypesEnabled" => config.extended_types_enabled = parse_bool(value).map_err(fail)?,
            "jute.maxbuffer" => config.jute_max_buffer = parse_buffer_size(value).map_err(fail)?,
            "globalOutstandingLimit" => {
                config.global_outstanding_limit = parse_positive(value, u32::MAX as u64).map_err(fail)? as u32
            }
            "peerType" => config.peer_type = Some(parse_peer_type(value).map_err(fail)?),
            "superDigest" => config.super_digest = Some(parse_super_digest(value).map_err(fail)?),
            "znode.container.checkIntervalMs" => {
                config.container_check_interval_ms = parse_positive(value, u32::MAX as u64).map_err(fail)?
            }
            "electionAlg" => {
                if value != "3" {
                    return Err(fail(format!("only 3 (fast leader election) is supported, got \"{value}\"")));
                }
            }
            ignored => {
                debug_assert!(IGNORED_KEYS.contains(&ignored));
                config.warnings.push(format!(
                    "{} line {line}: {key}: accepted but ignored; ensemble has no such setting yet",
                    self.parsed.file
                ));
            }
        }
        Ok(())
    }

    /// Applies one `server.N=...` line.
    fn set_server(&mut self, line: usize, key: &str, n: &str, value: &str) -> Result<(), ConfigError> {
        let fail = |message: String| ConfigError::Invalid {
            file: self.parsed.file.clone(),
            line,
            key: key.to_string(),
            message,
        };
        let id = match n.parse::<u64>() {
            Ok(id) if id <= SERVER_ID_MAX && !n.starts_with('+') => ServerId(id),
            _ => {
                return Err(fail(format!(
                    "expected server.N with N a server id in 0..={SERVER_ID_MAX} (session ids carry it in one byte)"
                )))
            }
        };
        if let Some((first, _)) = self.parsed.server_lines.get(&id) {
            return Err(fail(format!("server id {} is already given at line {first}", id.0)));
        }
        let server = parse_server(id, value).map_err(fail)?;
        self.parsed.server_lines.insert(id, (line, key.to_string()));
        self.parsed.config.servers.push(server);
        Ok(())
    }

    /// Fills the defaults that depend on other keys and runs the cross-key checks.
    fn finish(mut self) -> Result<Parsed, ConfigError> {
        let file = self.parsed.file.clone();
        let lines = &self.parsed.lines;
        let config = &mut self.parsed.config;
        let blame = |key: &'static str, message: String| ConfigError::Invalid {
            file: file.clone(),
            line: lines[key],
            key: key.to_string(),
            message,
        };

        let tick = config.tick_time_ms as i64;
        let fit = |factor: i64, default_of: &str| {
            i32::try_from(factor * tick).map_err(|_| {
                format!("{factor} × tickTime, the default {default_of}, does not fit in 32 bits; set {default_of}")
            })
        };
        config.min_session_timeout_ms = match self.min_session_timeout_ms {
            Some(ms) => ms,
            None => fit(2, "minSessionTimeout").map_err(|m| blame("tickTime", m))?,
        };
        config.max_session_timeout_ms = match self.max_session_timeout_ms {
            Some(ms) => ms,
            None => fit(20, "maxSessionTimeout").map_err(|m| blame("tickTime", m))?,
        };
        if config.min_session_timeout_ms > config.max_session_timeout_ms {
            let describe = |ms: i32, given: bool, factor: u32| {
                if given {
                    format!("{ms}")
                } else {
                    format!("{ms}, the default {factor} × tickTime")
                }
            };
            let (min_given, max_given) = (self.min_session_timeout_ms.is_some(), self.max_session_timeout_ms.is_some());
            let message = format!(
                "minSessionTimeout ({}) must not be larger than maxSessionTimeout ({})",
                describe(config.min_session_timeout_ms, min_given, 2),
                describe(config.max_session_timeout_ms, max_given, 20)
            );
            // Blame the later of the keys that were given: it is the one that made the conflict.
            let min_line = if min_given { lines.get("minSessionTimeout").copied() } else { None };
            let max_line = if max_given { lines.get("maxSessionTimeout").copied() } else { None };
            let key = if max_line > min_line { "maxSessionTimeout" } else { "minSessionTimeout" };
            return Err(blame(key, message));
        }

        config.data_log_dir = self.data_log_dir.take().unwrap_or_else(|| config.data_dir.clone());
        config.servers.sort_by_key(|s| s.id);

        let server_lines = &self.parsed.server_lines;
        let blame_server = |id: ServerId, message: String| {
            let (line, key) = &server_lines[&id];
            ConfigError::Invalid { file: file.clone(), line: *line, key: key.clone(), message }
        };
        if let Some(first) = config.servers.first() {
            if config.servers.iter().all(|s| s.role == LearnerType::Observer) {
                return Err(blame_server(
                    first.id,
                    "every server line is an observer; an ensemble needs at least one participant to vote".into(),
                ));
            }
        }
        if config.extended_types_enabled {
            if let Some(s) = config.servers.iter().find(|s| s.id.0 > SERVER_ID_MAX_EXTENDED_TYPES) {
                return Err(blame_server(
                    s.id,
                    format!(
                        "server id {} is too large with extendedTypesEnabled (at most {SERVER_ID_MAX_EXTENDED_TYPES}: a TTL node's owner uses 0xff)",
                        s.id.0
                    ),
                ));
            }
        }
        Ok(self.parsed)
    }
}

/// Splits a property line as `java.util.Properties` does: the key ends at the
/// first `=`, `:` or whitespace; whitespace and one `=` or `:` after it are skipped.
fn split_property(content: &str) -> (&str, &str) {
    let Some(end) = content.find(['=', ':', ' ', '\t', '\x0c']) else {
        return (content.trim_end(), "");
    };
    let key = &content[..end];
    let mut rest = content[end..].trim_start_matches([' ', '\t', '\x0c']);
    if let Some(after) = rest.strip_prefix(['=', ':']) {
        rest = after;
    }
    (key, rest.trim())
}

/// Every key this server acts on, as a zoo.cfg spells it. `extendedTypesEnabled`
/// and `zookeeper.extendedTypesEnabled` are one setting (ZooKeeper reads it as a
/// system property, which the zoo.cfg key sets).
const USED_KEYS: [&str; 20] = [
    "clientPort",
    "clientPortAddress",
    "dataDir",
    "dataLogDir",
    "tickTime",
    "initLimit",
    "syncLimit",
    "minSessionTimeout",
    "maxSessionTimeout",
    "maxClientCnxns",
    "4lw.commands.whitelist",
    "snapCount",
    "autopurge.snapRetainCount",
    "autopurge.purgeInterval",
    "extendedTypesEnabled",
    "jute.maxbuffer",
    "globalOutstandingLimit",
    "superDigest",
    "znode.container.checkIntervalMs",
    "peerType",
];

/// The canonical name of a known key, `None` for an unknown one.
fn canonical_key(key: &str) -> Option<&'static str> {
    if key == "extendedTypesEnabled" || key == "zookeeper.extendedTypesEnabled" {
        return Some("zookeeper.extendedTypesEnabled");
    }
    USED_KEYS.iter().chain(IGNORED_KEYS.iter()).find(|k| **k == key).copied()
}

/// A known key close to an unknown one (a different case, or at most two edits away).
fn suggest_key(key: &str) -> Option<&'static str> {
    let known = USED_KEYS;
    let candidates = known.iter().chain(IGNORED_KEYS.iter());
    let mut best: Option<(usize, &'static str)> = None;
    for candidate in candidates {
        let distance = if candidate.eq_ignore_ascii_case(key) {
            0
        } else {
            edit_distance(&key.to_ascii_lowercase(), &candidate.to_ascii_lowercase())
        };
        if distance <= 2 && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, k)| k)
}

/// Levenshtein distance, for key suggestions only.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// Parses `peerType` as ZooKeeper does: `observer` or `participant`, in any case.
fn parse_peer_type(value: &str) -> Result<LearnerType, String> {
    match value.to_ascii_lowercase().as_str() {
        "observer" => Ok(LearnerType::Observer),
        "participant" => Ok(LearnerType::Participant),
        _ => Err(format!("expected observer or participant, got \"{value}\"")),
    }
}

/// Parses one `server.N` value.
fn parse_server(id: ServerId, value: &str) -> Result<QuorumServer, String> {
    let form = || format!("expected host:quorumPort:electionPort[:role][;[clientAddr:]clientPort], got \"{value}\"");
    if value.contains('|') {
        return Err(format!("several addresses joined by \"|\" are not supported yet, got \"{value}\""));
    }
    let (server_part, client_part) = match value.split_once(';') {
        Some((server, client)) => (server, Some(client)),
        None => (value, None),
    };
    let (host, ports) = split_host(server_part).ok_or_else(form)?;
    if host.is_empty() || !(ports.len() == 2 || ports.len() == 3) {
        return Err(form());
    }
    let quorum_port = parse_port(ports[0]).map_err(|e| format!("quorumPort: {e}"))?;
    let election_port = parse_port(ports[1]).map_err(|e| format!("electionPort: {e}"))?;
    if quorum_port == election_port {
        return Err(format!("quorumPort and electionPort must differ, both are {quorum_port}"));
    }
    let role = match ports.get(2).map(|r| r.to_ascii_lowercase()) {
        None => LearnerType::Participant,
        Some(r) if r == "participant" => LearnerType::Participant,
        Some(r) if r == "observer" => LearnerType::Observer,
        Some(_) => return Err(format!("role: expected participant or observer, got \"{}\"", ports[2])),
    };
    let (client_address, client_port) = match client_part {
        None => (None, None),
        Some(client) => {
            let (first, rest) = split_host(client).ok_or_else(form)?;
            match rest.as_slice() {
                [] => (None, Some(parse_port(first).map_err(|e| format!("clientPort: {e}"))?)),
                [port] if !first.is_empty() => {
                    (Some(first.to_string()), Some(parse_port(port).map_err(|e| format!("clientPort: {e}"))?))
                }
                _ => return Err(form()),
            }
        }
    };
    Ok(QuorumServer { id, host: host.to_string(), quorum_port, election_port, role, client_address, client_port })
}

/// Splits `host:a:b` or `[v6]:a:b` into the host (without brackets) and the trimmed fields after it.
fn split_host(text: &str) -> Option<(&str, Vec<&str>)> {
    let text = text.trim();
    let (host, rest) = match text.strip_prefix('[') {
        Some(bracketed) => {
            let (host, rest) = bracketed.split_once(']')?;
            if rest.is_empty() {
                return Some((host, Vec::new()));
            }
            (host, rest.strip_prefix(':')?)
        }
        None => match text.split_once(':') {
            Some((host, rest)) => (host, rest),
            None => return Some((text, Vec::new())),
        },
    };
    Some((host.trim(), rest.split(':').map(str::trim).collect()))
}

/// Parses a port in 1..=65535.
fn parse_port(value: &str) -> Result<u16, String> {
    match value.trim().parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(format!("expected a port in 1..=65535, got \"{value}\"")),
    }
}

/// Parses an integer in 1..=max.
fn parse_positive(value: &str, max: u64) -> Result<u64, String> {
    match value.parse::<u64>() {
        Ok(n) if n > 0 && n <= max => Ok(n),
        Ok(n) if n > max => Err(format!("expected a positive integer at most {max}, got \"{value}\"")),
        _ => Err(format!("expected a positive integer, got \"{value}\"")),
    }
}

/// Parses a non-negative 32-bit count; `meaning` explains what 0 means, if anything.
fn parse_count(value: &str, meaning: &str) -> Result<u32, String> {
    match value.parse::<u32>() {
        Ok(n) if n <= i32::MAX as u32 => Ok(n),
        _ if meaning.is_empty() => Err(format!("expected a non-negative integer, got \"{value}\"")),
        _ => Err(format!("expected a non-negative integer {meaning}, got \"{value}\"")),
    }
}

/// Parses a session timeout in ms; -1 means "the default", as in ZooKeeper.
fn parse_session_timeout(value: &str) -> Result<Option<i32>, String> {
    match value.parse::<i32>() {
        Ok(-1) => Ok(None),
        Ok(ms) if ms > 0 => Ok(Some(ms)),
        _ => Err(format!("expected a positive number of ms (or -1 for the default), got \"{value}\"")),
    }
}

/// Parses `true` or `false`, in any case.
fn parse_bool(value: &str) -> Result<bool, String> {
    if value.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(format!("expected true or false, got \"{value}\""))
    }
}

/// Parses `jute.maxbuffer`: a positive byte count, decimal or `0x` hex as Java's `Integer.decode` reads it.
fn parse_buffer_size(value: &str) -> Result<u32, String> {
    let parsed = match value.strip_prefix("0x").or_else(|| value.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => value.parse::<u32>(),
    };
    match parsed {
        Ok(n) if n > 0 && n <= i32::MAX as u32 => Ok(n),
        _ => Err(format!("expected a positive byte count (decimal or 0x hex), got \"{value}\"")),
    }
}

/// Parses a value that must not be empty.
fn parse_non_empty(value: &str, what: &str) -> Result<String, String> {
    if value.is_empty() {
        Err(format!("expected {what}, got nothing"))
    } else {
        Ok(value.to_string())
    }
}

/// Parses `superDigest`: `user:digest`, as `DigestAuthenticationProvider.generateDigest` prints it.
fn parse_super_digest(value: &str) -> Result<String, String> {
    match value.split_once(':') {
        Some((user, digest)) if !user.is_empty() && !digest.is_empty() => Ok(value.to_string()),
        _ => Err(format!("expected user:base64digest, got \"{value}\"")),
    }
}

/// Parses `4lw.commands.whitelist`: words separated by commas or spaces, any case, `*` for all.
fn parse_whitelist(value: &str) -> Result<BTreeSet<String>, String> {
    let mut words = BTreeSet::new();
    for word in value.split(|c: char| c == ',' || c.is_whitespace()).filter(|w| !w.is_empty()) {
        let word = word.to_ascii_lowercase();
        if word == "*" {
            words.extend(FOUR_LETTER_WORDS.iter().map(|w| w.to_string()));
        } else if FOUR_LETTER_WORDS.contains(&word.as_str()) {
            words.insert(word);
        } else {
            return Err(format!(
                "unknown four-letter word \"{word}\"; expected \"*\" or words among: {}",
                FOUR_LETTER_WORDS.join(" ")
            ));
        }
    }
    Ok(words)
}

/// Whether an address means "every address".
fn is_wildcard(address: &str) -> bool {
    matches!(address, "0.0.0.0" | "::" | "[::]")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `text` expecting an error, and checks the message names the line and key.
    fn error_at(text: &str, line: usize, key: &str) -> String {
        let error = parse_zoo_cfg(text).expect_err("expected a configuration error");
        let message = error.to_string();
        assert_eq!(error.line(), Some(line), "{message}");
        assert_eq!(error.key(), Some(key), "{message}");
        assert!(message.contains(&format!("line {line}:")), "{message}");
        assert!(message.contains(key), "{message}");
        message
    }

    /// A scratch directory for one test, removed at the end.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir = std::env::temp_dir().join(format!("ensemble-config-{}-{name}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn defaults_are_zookeepers() {
        // An empty file gives ZooKeeper's defaults, the same as `ServerConfig::default()`.
        let config = parse_zoo_cfg("").unwrap();
        assert_eq!(config, ServerConfig::default());
        assert_eq!(config.client_port, 2181);
        assert_eq!(config.client_port_address, None);
        assert_eq!(config.data_dir, PathBuf::from("./data"));
        assert_eq!(config.data_log_dir, config.data_dir);
        assert_eq!(config.tick_time_ms, 2000);
        assert_eq!((config.init_limit, config.sync_limit), (10, 5));
        assert_eq!((config.min_session_timeout_ms, config.max_session_timeout_ms), (4000, 40000));
        assert_eq!(config.max_client_cnxns, 60);
        assert_eq!(config.four_letter_words, BTreeSet::from(["srvr".to_string()]));
        assert_eq!(config.snap_count, 100_000);
        assert_eq!(config.autopurge_snap_retain_count, 3);
        assert_eq!(config.autopurge_purge_interval_hours, 0);
        assert!(!config.extended_types_enabled);
        assert_eq!(config.jute_max_buffer, 0xfffff);
        assert_eq!(config.global_outstanding_limit, 1000);
        assert!(config.servers.is_empty());
        assert_eq!(config.my_id, None);
        assert_eq!(config.super_digest, None);
        assert!(config.warnings.is_empty());
    }

    #[test]
    fn full_realistic_zoo_cfg() {
        // A production-style zoo.cfg, with comments, both separators and stray whitespace, parses field by field.
        let text = "\
# The number of milliseconds of each tick
tickTime=3000
! a Java-properties comment
initLimit = 20
syncLimit: 10
dataDir=/var/lib/zookeeper
dataLogDir=/ssd/zookeeper-log

clientPort=2281
clientPortAddress=127.0.0.1
maxClientCnxns=0
minSessionTimeout=5000
maxSessionTimeout=120000
4lw.commands.whitelist=srvr, ruok, mntr
snapCount=50000
autopurge.snapRetainCount=5
autopurge.purgeInterval=24
zookeeper.extendedTypesEnabled=true
jute.maxbuffer=0x400000
globalOutstandingLimit=2000
superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=
admin.enableServer=false
electionAlg=3
server.1=zk1.example.com:2888:3888
server.2=zk2.example.com:2888:3888;2281
server.3=zk3.example.com:2888:3888:observer;0.0.0.0:2281
";
        let config = parse_zoo_cfg(text).unwrap();
        assert_eq!(config.tick_time_ms, 3000);
        assert_eq!((config.init_limit, config.sync_limit), (20, 10));
        assert_eq!(config.data_dir, PathBuf::from("/var/lib/zookeeper"));
        assert_eq!(config.data_log_dir, PathBuf::from("/ssd/zookeeper-log"));
        assert_eq!(config.client_port, 2281);
        assert_eq!(config.client_port_address.as_deref(), Some("127.0.0.1"));
        assert_eq!(config.max_client_cnxns, 0);
        assert_eq!((config.min_session_timeout_ms, config.max_session_timeout_ms), (5000, 120_000));
        assert_eq!(config.four_letter_words, BTreeSet::from(["srvr", "ruok", "mntr"].map(String::from)));
        assert_eq!(config.snap_count, 50_000);
        assert_eq!(config.autopurge_snap_retain_count, 5);
        assert_eq!(config.autopurge_purge_interval_hours, 24);
        assert!(config.extended_types_enabled);
        assert_eq!(config.jute_max_buffer, 0x400000);
        assert_eq!(config.global_outstanding_limit, 2000);
        assert_eq!(config.super_digest.as_deref(), Some("super:D/InIHSb7yEEbrWz8b9l71RjZJU="));
        let ids: Vec<u64> = config.servers.iter().map(|s| s.id.0).collect();
        assert_eq!(ids, [1, 2, 3]);
        assert_eq!(config.server(ServerId(3)).unwrap().role, LearnerType::Observer);
        // admin.enableServer leaves a warning naming its line; electionAlg=3 is simply what we do.
        assert_eq!(config.warnings.len(), 1, "{:?}", config.warnings);
        assert!(config.warnings[0].contains("line 22: admin.enableServer"), "{:?}", config.warnings);
        assert_eq!(config.my_id, None);
    }

    #[test]
    fn session_timeout_defaults_follow_tick_time() {
        // Unset session timeouts are 2× and 20× the final tickTime, wherever tickTime appears;
        // -1 also means the default.
        let config = parse_zoo_cfg("maxClientCnxns=10\ntickTime=500\n").unwrap();
        assert_eq!((config.min_session_timeout_ms, config.max_session_timeout_ms), (1000, 10_000));

        let config = parse_zoo_cfg("minSessionTimeout=-1\nmaxSessionTimeout=-1\ntickTime=1500").unwrap();
        assert_eq!((config.min_session_timeout_ms, config.max_session_timeout_ms), (3000, 30_000));

        let config = parse_zoo_cfg("maxSessionTimeout=90000\ntickTime=1000").unwrap();
        assert_eq!((config.min_session_timeout_ms, config.max_session_timeout_ms), (2000, 90_000));
    }

    #[test]
    fn whitelist_parsing() {
        // The whitelist takes commas or spaces, any case, and `*` for every word; an empty value enables none.
        let words = |value: &str| parse_zoo_cfg(&format!("4lw.commands.whitelist={value}")).unwrap().four_letter_words;
        let expected: BTreeSet<String> = ["mntr", "ruok", "stat"].iter().map(|w| w.to_string()).collect();
        assert_eq!(words("ruok, Stat  MNTR,,"), expected);
        assert_eq!(words("*").len(), FOUR_LETTER_WORDS.len());
        assert_eq!(words("srvr,*").len(), FOUR_LETTER_WORDS.len());
        assert!(words("").is_empty());

        let message = error_at("tickTime=2000\n4lw.commands.whitelist=ruok, kill", 2, "4lw.commands.whitelist");
        assert!(message.contains("\"kill\""), "{message}");
    }

    #[test]
    fn server_lines() {
        // Server lines give participants by default, observers on request, and optional client ports and addresses.
        let text = "\
server.3=10.0.0.3:2888:3888:OBSERVER
server.1=zk1:2888:3888
server.2 = zk2 : 2889 : 3889 : participant ; 2182
server.4=[2001:db8::4]:2888:3888;[::1]:2183
server.5=zk5:2888:3888;192.168.0.5:2184
";
        let config = parse_zoo_cfg(text).unwrap();
        let ids: Vec<u64> = config.servers.iter().map(|s| s.id.0).collect();
        assert_eq!(ids, [1, 2, 3, 4, 5], "servers are sorted by id");
        assert_eq!(
            config.servers[0],
            QuorumServer {
                id: ServerId(1),
                host: "zk1".into(),
                quorum_port: 2888,
                election_port: 3888,
                role: LearnerType::Participant,
                client_address: None,
                client_port: None,
            }
        );
        let s2 = &config.servers[1];
        assert_eq!((s2.host.as_str(), s2.quorum_port, s2.election_port), ("zk2", 2889, 3889));
        assert_eq!(
            (s2.role, s2.client_address.as_deref(), s2.client_port),
            (LearnerType::Participant, None, Some(2182))
        );
        let s3 = &config.servers[2];
        assert_eq!((s3.host.as_str(), s3.role), ("10.0.0.3", LearnerType::Observer));
        let s4 = &config.servers[3];
        assert_eq!(
            (s4.host.as_str(), s4.client_address.as_deref(), s4.client_port),
            ("2001:db8::4", Some("::1"), Some(2183))
        );
        let s5 = &config.servers[4];
        assert_eq!((s5.client_address.as_deref(), s5.client_port), (Some("192.168.0.5"), Some(2184)));
    }

    #[test]
    fn unknown_key_names_line_and_suggests() {
        // A misspelt key is refused with its line, and the message suggests the key it was close to.
        let message = error_at("dataDir=/tmp/zk\n\n# comment\ntickTme=2000\n", 4, "tickTme");
        assert_eq!(message, "zoo.cfg line 4: unknown key \"tickTme\" (did you mean \"tickTime\"?)");
        let message = error_at("ticktime=2000", 1, "ticktime");
        assert!(message.contains("\"tickTime\""), "{message}");
        let message = error_at("dynamicConfigFile=/etc/zk/zoo.cfg.dynamic", 1, "dynamicConfigFile");
        assert!(!message.contains("did you mean"), "{message}");
    }

    #[test]
    fn malformed_numbers_name_line_and_key() {
        // Values that are not the expected numbers are refused with their line, key and the value as written.
        let message = error_at("clientPort=2181\ntickTime=abc", 2, "tickTime");
        assert_eq!(message, "zoo.cfg line 2: tickTime: expected a positive integer, got \"abc\"");
        error_at("tickTime=0", 1, "tickTime");
        error_at("initLimit=-3", 1, "initLimit");
        error_at("syncLimit=", 1, "syncLimit");
        error_at("maxClientCnxns=many", 1, "maxClientCnxns");
        error_at("snapCount=1", 1, "snapCount");
        error_at("jute.maxbuffer=0", 1, "jute.maxbuffer");
        error_at("minSessionTimeout=0", 1, "minSessionTimeout");
        error_at("globalOutstandingLimit=0", 1, "globalOutstandingLimit");
        error_at("extendedTypesEnabled=yes", 1, "extendedTypesEnabled");
        error_at("superDigest=nocolon", 1, "superDigest");
        error_at("dataDir=", 1, "dataDir");
        let message = error_at("tickTime=2000\nclientPort=70000", 2, "clientPort");
        assert!(message.contains("1..=65535"), "{message}");
        error_at("clientPort=0", 1, "clientPort");
    }

    #[test]
    fn duplicate_keys_are_refused() {
        // A key given twice is refused at its second line, naming the first; both spellings of
        // extendedTypesEnabled count as one key.
        let message = error_at("tickTime=2000\ninitLimit=5\ntickTime=3000", 3, "tickTime");
        assert!(message.contains("line 1"), "{message}");
        error_at("extendedTypesEnabled=true\nzookeeper.extendedTypesEnabled=true", 2, "zookeeper.extendedTypesEnabled");
    }

    #[test]
    fn min_session_timeout_above_max_is_refused() {
        // minSessionTimeout above maxSessionTimeout, given or defaulted, is refused at the later key that caused it.
        let message = error_at("tickTime=2000\nminSessionTimeout=60000", 2, "minSessionTimeout");
        assert!(message.contains("40000, the default 20 × tickTime"), "{message}");
        error_at("maxSessionTimeout=3000\ntickTime=2000", 1, "maxSessionTimeout");
        error_at("minSessionTimeout=9000\n\nmaxSessionTimeout=8000", 3, "maxSessionTimeout");
        error_at("maxSessionTimeout=8000\nminSessionTimeout=9000", 2, "minSessionTimeout");
    }

    #[test]
    fn malformed_server_lines_are_refused() {
        // Server lines with a bad shape, port, role, id or a repeated id are refused with their line and key.
        let text = "tickTime=2000\n\n\n\n\n\nserver.1=zk1:2888";
        let message = error_at(text, 7, "server.1");
        assert_eq!(
            message,
            "zoo.cfg line 7: server.1: expected host:quorumPort:electionPort[:role][;[clientAddr:]clientPort], got \"zk1:2888\""
        );
        let message = error_at("server.1=zk1:0:3888", 1, "server.1");
        assert!(message.contains("quorumPort"), "{message}");
        let message = error_at("server.1=zk1:2888:65536", 1, "server.1");
        assert!(message.contains("electionPort"), "{message}");
        let message = error_at("server.1=zk1:2888:3888;99999", 1, "server.1");
        assert!(message.contains("clientPort"), "{message}");
        let message = error_at("server.1=zk1:2888:3888:witness", 1, "server.1");
        assert!(message.contains("\"witness\""), "{message}");
        error_at("server.1=zk1:2888:2888", 1, "server.1");
        error_at("server.1=zk1:2888:3888:observer:extra", 1, "server.1");
        error_at("server.1=:2888:3888", 1, "server.1");
        error_at("server.1=zk1:2888:3888;a:b:c", 1, "server.1");
        error_at("server.1=zk1:2888:3888|zk1b:2888:3888", 1, "server.1");
        error_at("server.x=zk1:2888:3888", 1, "server.x");
        error_at("server.256=zk1:2888:3888", 1, "server.256");
        let message = error_at("server.1=zk1:2888:3888\nserver.01=zk2:2888:3888", 2, "server.01");
        assert!(message.contains("line 1"), "{message}");
    }

    #[test]
    fn cross_server_checks() {
        // An ensemble of observers only, or an id of 255 with extended types, is refused at the server line to blame.
        let message = error_at("server.2=zk2:2888:3888:observer\nserver.1=zk1:2888:3888:observer", 2, "server.1");
        assert!(message.contains("participant"), "{message}");
        error_at("server.255=zk1:2888:3888\nextendedTypesEnabled=true", 1, "server.255");
        assert!(parse_zoo_cfg("server.255=zk1:2888:3888").is_ok());
    }

    #[test]
    fn ignored_keys_and_raised_values_leave_warnings() {
        // Ignored keys are accepted with a warning, electionAlg must be 3, and a snapRetainCount
        // under 3 is raised to 3.
        let text = IGNORED_KEYS.iter().map(|k| if *k == "electionAlg" { format!("{k}=3") } else { format!("{k}=x") });
        let config = parse_zoo_cfg(&text.collect::<Vec<_>>().join("\n")).unwrap();
        assert_eq!(config.warnings.len(), IGNORED_KEYS.len() - 1, "{:?}", config.warnings);

        let message = error_at("electionAlg=0", 1, "electionAlg");
        assert!(message.contains("only 3"), "{message}");

        let config = parse_zoo_cfg("autopurge.snapRetainCount=1").unwrap();
        assert_eq!(config.autopurge_snap_retain_count, 3);
        assert!(config.warnings[0].contains("line 1: autopurge.snapRetainCount"), "{:?}", config.warnings);
    }

    #[test]
    fn java_properties_syntax() {
        // Separators '=', ':' and whitespace work as in java.util.Properties; continuation lines
        // are refused, not misread.
        let config = parse_zoo_cfg("\u{feff}  clientPort 2999\r\n\tdataDir : /a b\r\ntickTime=  1000  \r\n").unwrap();
        assert_eq!(config.client_port, 2999);
        assert_eq!(config.data_dir, PathBuf::from("/a b"));
        assert_eq!(config.tick_time_ms, 1000);
        let message = error_at("dataDir=/var/lib/\\\n  zookeeper", 1, "dataDir");
        assert!(message.contains("trailing"), "{message}");
    }

    #[test]
    fn load_reads_myid_and_adopts_client_port() {
        // Loading a file with server lines reads myid from dataDir and takes the client port from
        // this server's own line.
        let scratch = Scratch::new("load");
        let data_dir = scratch.0.join("data");
        fs::create_dir_all(&data_dir).unwrap();
        fs::write(data_dir.join("myid"), "2\n").unwrap();
        let cfg_path = scratch.0.join("zoo.cfg");
        let text = format!(
            "dataDir={}\nclientPortAddress=0.0.0.0\nserver.1=127.0.0.1:2888:3888;2181\nserver.2=127.0.0.1:2889:3889;127.0.0.1:2182\n",
            data_dir.display()
        );
        fs::write(&cfg_path, text).unwrap();
        let config = load_zoo_cfg(&cfg_path).unwrap();
        assert_eq!(config.my_id, Some(ServerId(2)));
        assert_eq!(config.my_server().unwrap().quorum_port, 2889);
        assert_eq!(config.client_port, 2182);
        assert_eq!(config.client_port_address.as_deref(), Some("127.0.0.1"));

        // A clientPort that contradicts this server's line is refused at that line.
        fs::write(&cfg_path, format!("dataDir={}\nclientPort=2181\nserver.2=h:1:2;2182\n", data_dir.display()))
            .unwrap();
        let error = load_zoo_cfg(&cfg_path).unwrap_err();
        assert_eq!((error.line(), error.key()), (Some(3), Some("server.2")), "{error}");
        assert!(error.to_string().starts_with(&format!("{} line 3", cfg_path.display())), "{error}");
    }

    #[test]
    fn peer_type_is_read_and_the_server_line_decides() {
        // peerType takes ZooKeeper's two values in any case; the server's own line decides its
        // role, and a peerType that disagrees with it leaves a warning naming both.
        assert_eq!(parse_zoo_cfg("peerType=Observer").unwrap().peer_type, Some(LearnerType::Observer));
        assert_eq!(parse_zoo_cfg("peerType=participant").unwrap().peer_type, Some(LearnerType::Participant));
        let message = error_at("tickTime=2000\npeerType=watcher", 2, "peerType");
        assert!(message.contains("observer or participant"), "{message}");

        let scratch = Scratch::new("peertype");
        let data_dir = scratch.0.join("data");
        fs::create_dir_all(&data_dir).unwrap();
        fs::write(data_dir.join("myid"), "4\n").unwrap();
        let cfg_path = scratch.0.join("zoo.cfg");
        let servers = "server.1=h1:2888:3888\nserver.2=h2:2888:3888\nserver.3=h3:2888:3888\n";
        let load = |peer_type: &str, role: &str| {
            let text = format!("dataDir={}\npeerType={peer_type}\n{servers}server.4=h4:2888:3888{role}\n", data_dir.display());
            fs::write(&cfg_path, text).unwrap();
            load_zoo_cfg(&cfg_path).unwrap()
        };
        let config = load("observer", ":observer");
        assert_eq!(config.my_server().unwrap().role, LearnerType::Observer);
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
        let config = load("observer", "");
        assert_eq!(config.my_server().unwrap().role, LearnerType::Participant);
        assert!(config.warnings[0].contains("line 2: peerType: observer disagrees with this server's line server.4 (participant)"), "{:?}", config.warnings);
    }

    #[test]
    fn load_without_servers_needs_no_myid() {
        // A standalone zoo.cfg (no server lines) loads without a myid file.
        let scratch = Scratch::new("standalone");
        let cfg_path = scratch.0.join("zoo.cfg");
        fs::write(&cfg_path, format!("dataDir={}\nclientPort=3181\n", scratch.0.join("nothing-here").display()))
            .unwrap();
        let config = load_zoo_cfg(&cfg_path).unwrap();
        assert_eq!((config.client_port, config.my_id), (3181, None));
    }

    #[test]
    fn myid_errors_are_clear() {
        // A missing, malformed or unlisted myid, and a missing zoo.cfg, are refused with the file's path.
        let scratch = Scratch::new("myid");
        let error = read_myid(&scratch.0).unwrap_err();
        let myid_path = scratch.0.join("myid");
        assert!(error.to_string().contains(&myid_path.display().to_string()), "{error}");
        assert!(error.to_string().contains("cannot read"), "{error}");

        fs::write(&myid_path, "one\n").unwrap();
        assert!(read_myid(&scratch.0).unwrap_err().to_string().contains("\"one\""));
        fs::write(&myid_path, "300").unwrap();
        assert!(read_myid(&scratch.0).unwrap_err().to_string().contains("out of range"));

        fs::write(&myid_path, " 7 \n").unwrap();
        assert_eq!(read_myid(&scratch.0).unwrap(), ServerId(7));
        let cfg_path = scratch.0.join("zoo.cfg");
        fs::write(&cfg_path, format!("dataDir={}\nserver.1=h:1:2\nserver.2=h:3:4\n", scratch.0.display())).unwrap();
        let error = load_zoo_cfg(&cfg_path).unwrap_err();
        assert!(matches!(error, ConfigError::MyId { .. }), "{error}");
        assert!(error.to_string().contains("no server.7 line (it lists 1, 2)"), "{error}");

        let error = load_zoo_cfg(&scratch.0.join("absent.cfg")).unwrap_err();
        assert!(matches!(error, ConfigError::Io { .. }) && error.to_string().contains("absent.cfg"), "{error}");
    }
}
