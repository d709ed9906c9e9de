//! Shared harness for the black-box tests: starts an `ensemble` server or a real
//! Apache ZooKeeper 3.8 on a free loopback port with its own temporary data
//! directory, waits (bounded) until it answers `ruok` with `imok`, and kills it
//! by process id when dropped. Servers can be killed with SIGKILL and restarted
//! on the same port and data directory, for durability tests.
//!
//! It also runs client programs (kazoo scripts, `zkCli.sh`, `cli_mt`) with a
//! time limit, in their own process group so that a timeout stops every process
//! they started, and never kills anything by name.

// Each test binary uses a different subset of this module.
#![allow(dead_code)]

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The jars a standalone ZooKeeper 3.8 needs, as Debian's `zookeeper` package installs them.
const ZOOKEEPER_JARS: &[&str] = &[
    "zookeeper.jar",
    "zookeeper-jute.jar",
    "netty-codec.jar",
    "netty-resolver.jar",
    "netty-transport-native-unix-common.jar",
    "netty-common.jar",
    "netty-buffer.jar",
    "netty-transport.jar",
    "netty-handler.jar",
    "slf4j-api.jar",
    "slf4j-log4j12.jar",
    "log4j-1.2.jar",
];

/// Where Debian puts the jars; `ENSEMBLE_ZK_JAR_DIR` overrides it.
const DEFAULT_ZOOKEEPER_JAR_DIR: &str = "/usr/share/java";

/// Apache's Java command-line client, from Debian's `zookeeper` package.
pub const ZKCLI: &str = "/usr/share/zookeeper/bin/zkCli.sh";

/// Apache's multi-threaded C command-line client, from Debian's `zookeeper-bin` package.
pub const CLI_MT: &str = "/usr/lib/zookeeper/bin/cli_mt";

/// `superDigest` for the user `super` with password `secret`:
/// base64(SHA1("super:secret")), the form `DigestAuthenticationProvider` expects.
pub const SUPER_DIGEST_SECRET: &str = "super:lK75jTNcA+U9vtVEw5vB51mj/w4=";

/// How long a server may take to answer `imok` after it was spawned.
const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(20);

/// Which server implementation a test runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerKind {
    /// This crate's `ensemble serve`.
    Ensemble,
    /// Apache ZooKeeper 3.8 from Debian's packages, the reference.
    ZooKeeper,
}

impl ServerKind {
    /// A short name for messages and directory names.
    pub fn name(self) -> &'static str {
        match self {
            ServerKind::Ensemble => "ensemble",
            ServerKind::ZooKeeper => "zookeeper",
        }
    }
}

/// Settings for a test server; `Default` suits most tests.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// `tickTime`: sessions may last between 2 and 20 ticks.
    pub tick_time_ms: u64,
    /// `znode.container.checkIntervalMs`: how often empty containers and expired TTL nodes go.
    pub container_check_interval_ms: u64,
    /// `superDigest` as `user:base64(sha1(user:password))`, e.g. [`SUPER_DIGEST_SECRET`].
    pub super_digest: Option<String>,
    /// `maxClientCnxns`; `None` keeps the server's default.
    pub max_client_cnxns: Option<u32>,
    /// More `key=value` lines for zoo.cfg.
    pub extra_config: Vec<(String, String)>,
    /// The bound on waiting for `imok` after a (re)start.
    pub start_timeout: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            tick_time_ms: 2000,
            container_check_interval_ms: 1000,
            super_digest: None,
            max_client_cnxns: None,
            extra_config: Vec::new(),
            start_timeout: DEFAULT_START_TIMEOUT,
        }
    }
}

/// A running server process with its own port and temporary directory.
///
/// Dropping it kills the process (by its id) and removes the directory.
pub struct Server {
    kind: ServerKind,
    opts: ServerOptions,
    port: u16,
    dir: TempDir,
    child: Option<Child>,
}

impl Server {
    /// Starts `ensemble serve` and waits until it answers `imok`.
    pub fn ensemble(opts: ServerOptions) -> Server {
        Server::start(ServerKind::Ensemble, opts)
    }

    /// Starts a real ZooKeeper 3.8 and waits until it answers `imok` and serves.
    pub fn zookeeper(opts: ServerOptions) -> Server {
        Server::start(ServerKind::ZooKeeper, opts)
    }

    /// Starts a server of the given kind on a free loopback port; panics with the
    /// server's log if it is not ready within `opts.start_timeout`.
    pub fn start(kind: ServerKind, opts: ServerOptions) -> Server {
        let dir = TempDir::new(kind.name());
        fs::create_dir_all(dir.path().join("data")).expect("create the data directory");
        let mut server = Server {
            kind,
            opts,
            port: 0,
            dir,
            child: None,
        };
        // Another process may grab the free port between our probe and the
        // server's bind, so a server that dies at start gets a new port.
        let mut last_error = String::new();
        for _attempt in 0..3 {
            server.port = free_port();
            match server.spawn_and_wait() {
                Ok(()) => return server,
                Err(e) => last_error = e,
            }
        }
        panic!("{} did not start: {last_error}", kind.name());
    }

    /// Which implementation this is.
    pub fn kind(&self) -> ServerKind {
        self.kind
    }

    /// The client port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT`, as clients take it.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The server's data directory, which survives [`Server::restart`].
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The temporary directory holding zoo.cfg, the data directory and server.log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process is still alive.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Kills the server with SIGKILL (a crash: nothing gets flushed) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the server abruptly, like [`Server::kill`]; [`Server::restart`] brings it back.
    pub fn stop(&mut self) {
        self.kill();
    }

    /// Sends SIGTERM and waits up to `grace` for a clean exit, then SIGKILL.
    pub fn terminate(&mut self, grace: Duration) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        child.wait().ok()
    }

    /// Kills the server if it runs, then starts it again on the same port and
    /// data directory and waits until it is ready.
    pub fn restart(&mut self) {
        self.kill();
        // The old listening socket may linger for a moment after the kill.
        let mut last_error = String::new();
        for _attempt in 0..5 {
            match self.spawn_and_wait() {
                Ok(()) => return,
                Err(e) => last_error = e,
            }
            thread::sleep(Duration::from_millis(500));
        }
        panic!(
            "{} did not restart on port {}: {last_error}",
            self.kind.name(),
            self.port
        );
    }

    /// The last `lines` lines of the server's combined stdout and stderr.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    fn spawn_and_wait(&mut self) -> Result<(), String> {
        self.write_config();
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.dir.path().join("server.log"))
            .map_err(|e| format!("open server.log: {e}"))?;
        let mut cmd = match self.kind {
            ServerKind::Ensemble => self.ensemble_command()?,
            ServerKind::ZooKeeper => self.zookeeper_command()?,
        };
        cmd.current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log);
        let child = cmd
            .spawn()
            .map_err(|e| format!("spawn {:?}: {e}", cmd.get_program()))?;
        self.child = Some(child);
        match self.wait_ready() {
            Ok(()) => Ok(()),
            Err(e) => {
                let tail = self.log_tail(40);
                self.kill();
                Err(format!(
                    "{e}\n--- last lines of {}/server.log ---\n{tail}",
                    self.dir.path().display()
                ))
            }
        }
    }

    fn write_config(&self) {
        let mut cfg = String::new();
        cfg += &format!("tickTime={}\n", self.opts.tick_time_ms);
        cfg += &format!("dataDir={}\n", self.data_dir().display());
        cfg += &format!("clientPort={}\n", self.port);
        cfg += "clientPortAddress=127.0.0.1\n";
        cfg += "4lw.commands.whitelist=*\n";
        cfg += "admin.enableServer=false\n";
        cfg += "extendedTypesEnabled=true\n";
        cfg += &format!(
            "znode.container.checkIntervalMs={}\n",
            self.opts.container_check_interval_ms
        );
        if let Some(digest) = &self.opts.super_digest {
            cfg += &format!("superDigest={digest}\n");
        }
        if let Some(max) = self.opts.max_client_cnxns {
            cfg += &format!("maxClientCnxns={max}\n");
        }
        for (key, value) in &self.opts.extra_config {
            cfg += &format!("{key}={value}\n");
        }
        fs::write(self.dir.path().join("zoo.cfg"), cfg).expect("write zoo.cfg");
    }

    fn ensemble_command(&self) -> Result<Command, String> {
        let bin = option_env!("CARGO_BIN_EXE_ensemble")
            .ok_or("the ensemble binary was not built (is the `runtime` feature on?)")?;
        let mut cmd = Command::new(bin);
        cmd.arg("serve")
            .arg("--port")
            .arg(self.port.to_string())
            .arg("--data-dir")
            .arg(self.data_dir())
            .arg("--tick-time-ms")
            .arg(self.opts.tick_time_ms.to_string())
            .arg("--config")
            .arg(self.dir.path().join("zoo.cfg"));
        Ok(cmd)
    }

    fn zookeeper_command(&self) -> Result<Command, String> {
        let jar_dir = std::env::var("ENSEMBLE_ZK_JAR_DIR")
            .unwrap_or_else(|_| DEFAULT_ZOOKEEPER_JAR_DIR.into());
        let conf_dir = self.dir.path().join("conf");
        fs::create_dir_all(&conf_dir).map_err(|e| e.to_string())?;
        fs::write(conf_dir.join("log4j.properties"), LOG4J_PROPERTIES)
            .map_err(|e| e.to_string())?;
        let mut classpath = vec![conf_dir.display().to_string()];
        for jar in ZOOKEEPER_JARS {
            let path = Path::new(&jar_dir).join(jar);
            if !path.exists() {
                return Err(format!(
                    "{} is missing: run .ci/install-deps",
                    path.display()
                ));
            }
            classpath.push(path.display().to_string());
        }
        let mut cmd = Command::new("java");
        // A small heap, the serial collector and the C1 compiler keep a test
        // server light on a two-core machine.
        cmd.args(["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"])
            .arg("-cp")
            .arg(classpath.join(":"))
            .arg("-Dzookeeper.extendedTypesEnabled=true")
            .arg("-Dzookeeper.admin.enableServer=false")
            .arg(format!(
                "-Dznode.container.checkIntervalMs={}",
                self.opts.container_check_interval_ms
            ));
        if let Some(digest) = &self.opts.super_digest {
            cmd.arg(format!(
                "-Dzookeeper.DigestAuthenticationProvider.superDigest={digest}"
            ));
        }
        cmd.arg("org.apache.zookeeper.server.quorum.QuorumPeerMain")
            .arg(self.dir.path().join("zoo.cfg"));
        Ok(cmd)
    }

    /// Polls `ruok` until `imok`, then (ZooKeeper answers `imok` before its
    /// request pipeline runs) until `srvr` stops saying it is not serving.
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + self.opts.start_timeout;
        let mut said_imok = false;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!("the server exited during start-up with {status}"));
                }
            }
            if !said_imok {
                said_imok = matches!(four_letter(self.port, "ruok").as_deref(), Ok("imok"));
            } else {
                match four_letter(self.port, "srvr") {
                    Ok(text) if text.contains("not currently serving") => {}
                    _ => return Ok(()),
                }
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "no `imok` on port {} within {:?}",
                    self.port, self.opts.start_timeout
                ));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// log4j 1.2 configuration for the ZooKeeper reference: INFO to stdout, which
/// the harness sends to `server.log`.
const LOG4J_PROPERTIES: &str = "\
log4j.rootLogger=INFO, CONSOLE
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} - %-5p [%t:%C{1}@%L] - %m%n
";

/// Sends a four-letter word to 127.0.0.1:`port` and reads until the server
/// closes the connection (at most 5 s).
pub fn four_letter(port: u16, word: &str) -> io::Result<String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(word.as_bytes())?;
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply)?;
    Ok(String::from_utf8_lossy(&reply).into_owned())
}

/// A loopback port that was free a moment ago: bind port 0, read it, drop the socket.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// Serializes the heavy tests of one test binary (servers, JVM clients,
/// timing checks) so that they do not starve each other on a small machine.
pub fn serial_guard() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What a bounded client run produced.
#[derive(Debug)]
pub struct RunOutput {
    /// The exit status, or `None` if the run was killed at its time limit.
    pub status: Option<ExitStatus>,
    /// Standard output and standard error, interleaved as written.
    pub output: String,
    /// How long the run took.
    pub elapsed: Duration,
}

impl RunOutput {
    /// Whether the program exited by itself with status 0.
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }
}

/// Runs `cmd` with `stdin` as its standard input, stdout and stderr sent to
/// one file (so their interleaving is kept), for at most `timeout`. The
/// command gets its own process group; at the time limit the whole group is
/// killed by its id (while its leader still lives, so the id cannot have been
/// reused).
pub fn run_bounded(mut cmd: Command, stdin: &[u8], timeout: Duration) -> io::Result<RunOutput> {
    let dir = TempDir::new("run");
    let out_path = dir.path().join("output");
    let out = File::create(&out_path)?;
    cmd.stdin(Stdio::piped())
        .stdout(out.try_clone()?)
        .stderr(out)
        .process_group(0);
    let started = Instant::now();
    let mut child = cmd.spawn()?;
    let mut child_stdin = child.stdin.take().expect("piped stdin");
    let input = stdin.to_vec();
    // A writer thread, so that a child that does not read cannot block us.
    let writer = thread::spawn(move || {
        let _ = child_stdin.write_all(&input);
    });
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if started.elapsed() >= timeout {
            kill_group(&mut child);
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    let _ = writer.join();
    let output = String::from_utf8_lossy(&fs::read(&out_path)?).into_owned();
    Ok(RunOutput {
        status,
        output,
        elapsed: started.elapsed(),
    })
}

/// An interactive child process: lines go to its stdin, and its stdout and
/// stderr lines come back through one channel, each waited for with a bound.
pub struct Interactive {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    /// Every line received so far, for failure messages.
    pub transcript: Vec<String>,
}

impl Interactive {
    /// Spawns `cmd` in its own process group with piped stdin, stdout and stderr.
    pub fn spawn(mut cmd: Command) -> io::Result<Interactive> {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = cmd.spawn()?;
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let tx_err = tx.clone();
        thread::spawn(move || forward_lines(stdout, tx));
        thread::spawn(move || forward_lines(stderr, tx_err));
        let stdin = child.stdin.take();
        Ok(Interactive {
            child,
            stdin,
            lines: rx,
            transcript: Vec::new(),
        })
    }

    /// Writes one line (a newline is appended) to the child's stdin.
    pub fn send_line(&mut self, line: &str) -> io::Result<()> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| io::Error::other("stdin is closed"))?;
        stdin.write_all(line.as_bytes())?;
        stdin.write_all(b"\n")?;
        stdin.flush()
    }

    /// Closes the child's stdin (end of input).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Collects lines until one satisfies `done` (that line included), waiting
    /// at most `timeout` in all; on timeout returns the lines seen so far in the error.
    pub fn read_until(
        &mut self,
        timeout: Duration,
        mut done: impl FnMut(&str) -> bool,
    ) -> Result<Vec<String>, String> {
        let deadline = Instant::now() + timeout;
        let mut block = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.transcript.push(line.clone());
                    let finished = done(&line);
                    block.push(line);
                    if finished {
                        return Ok(block);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!(
                        "timed out after {timeout:?}; lines so far: {block:#?}"
                    ))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(format!(
                        "the program closed its output; lines so far: {block:#?}"
                    ))
                }
            }
        }
    }

    /// Closes stdin and waits up to `timeout` for the child to exit, then kills its group.
    pub fn finish(mut self, timeout: Duration) -> Option<ExitStatus> {
        self.close_stdin();
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                break Some(status);
            }
            if Instant::now() >= deadline {
                break None;
            }
            thread::sleep(Duration::from_millis(20));
        };
        kill_group(&mut self.child);
        status
    }
}

impl Drop for Interactive {
    fn drop(&mut self) {
        kill_group(&mut self.child);
    }
}

fn forward_lines(stream: impl Read, tx: mpsc::Sender<String>) {
    for line in BufReader::new(stream).lines() {
        match line {
            Ok(line) => {
                if tx.send(line).is_err() {
                    return;
                }
            }
            Err(_) => return,
        }
    }
}

/// Kills the process group led by `child` (it was spawned with
/// `process_group(0)`, so the group id is its pid), then reaps the child.
fn kill_group(child: &mut Child) {
    if matches!(child.try_wait(), Ok(None)) {
        kill_group_by_id(child.id());
        let _ = child.kill();
    }
    let _ = child.wait();
}

/// SIGKILL to the process group `pgid`, a group this harness created.
fn kill_group_by_id(pgid: u32) {
    let _ = Command::new("kill")
        .arg("-KILL")
        .arg("--")
        .arg(format!("-{pgid}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// A directory under the system temp dir, removed on drop unless
/// `ENSEMBLE_KEEP_TEST_DIRS` is set (handy to read a failed server's log).
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates a fresh, uniquely named directory.
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "ensemble-test-{tag}-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&path).expect("create a temporary directory");
        TempDir { path }
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("ENSEMBLE_KEEP_TEST_DIRS").is_none() {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// The path of a file in this crate's `tests/clients/` folder.
pub fn clients_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("clients")
        .join(name)
}

/// A line diff of `expected` against `actual` ("-" expected only, "+" actual
/// only, with 3 lines of context, numbered by `expected`'s lines), for failure
/// messages; `None` when they are equal.
pub fn line_diff(expected: &str, actual: &str) -> Option<String> {
    if expected == actual {
        return None;
    }
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    // Longest common subsequence table, from the ends.
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    // (tag, line number in `expected`, text)
    let mut ops: Vec<(char, usize, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', i + 1, a[i]));
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            ops.push(('+', i + 1, b[j]));
            j += 1;
        } else {
            ops.push(('-', i + 1, a[i]));
            i += 1;
        }
    }
    const CONTEXT: usize = 3;
    let changed: Vec<usize> = (0..ops.len()).filter(|&k| ops[k].0 != ' ').collect();
    let near = |k: usize| changed.iter().any(|&c| c.abs_diff(k) <= CONTEXT);
    let mut out = String::new();
    let mut skipped = false;
    for (k, (tag, line, text)) in ops.iter().enumerate() {
        if near(k) {
            if skipped {
                out += "  ...\n";
                skipped = false;
            }
            out += &format!("{tag} {line:>4} | {text}\n");
        } else {
            skipped = true;
        }
    }
    if skipped {
        out += "  ...\n";
    }
    Some(out)
}
