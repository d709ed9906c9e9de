//! A seeded client workload: a stream of write requests from several sessions
//! over a small namespace, so that conflicts, version races, ephemerals,
//! multis and ACL denials are frequent.

use ensemble::acl::{self, perms, Acl, Id};
use ensemble::{CreateMode, SessionId, WriteOp};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A deterministic generator of client requests.
pub struct Workload {
    rng: ChaCha8Rng,
    sessions: Vec<SessionId>,
}

/// One generated request: who sends it, as whom, and what.
pub struct Step {
    /// The sending session.
    pub session: SessionId,
    /// The ids the session authenticated as.
    pub auth: Vec<Id>,
    /// The request.
    pub op: WriteOp,
}

const NAMES: [&str; 4] = ["a", "b", "c", "q"];

impl Workload {
    /// A workload drawn from `seed`, with `sessions` client sessions.
    pub fn new(seed: u64, sessions: usize) -> Workload {
        let sessions = (1..=sessions as i64).map(SessionId).collect();
        Workload { rng: ChaCha8Rng::seed_from_u64(seed), sessions }
    }

    /// The sessions the workload speaks for.
    pub fn sessions(&self) -> &[SessionId] {
        &self.sessions
    }

    /// The next request.
    pub fn next_step(&mut self) -> Step {
        let session = *self.sessions.choose(&mut self.rng).expect("at least one session");
        let auth = if self.rng.gen_bool(0.5) { vec![Id::new("digest", &acl::digest_id("u:p"))] } else { Vec::new() };
        let op = if self.rng.gen_ratio(1, 40) {
            if self.rng.gen_bool(0.5) {
                WriteOp::CloseSession
            } else {
                WriteOp::CreateSession { timeout_ms: 10_000 }
            }
        } else if self.rng.gen_ratio(1, 8) {
            let n = self.rng.gen_range(0..4);
            WriteOp::Multi((0..n).map(|_| self.single_op()).collect())
        } else {
            self.single_op()
        };
        Step { session, auth, op }
    }

    fn path(&mut self) -> String {
        let depth = self.rng.gen_range(1..=3);
        let mut p = String::new();
        for _ in 0..depth {
            p.push('/');
            p.push_str(NAMES.choose(&mut self.rng).expect("names"));
        }
        p
    }

    fn acl(&mut self) -> Vec<Acl> {
        match self.rng.gen_range(0..10) {
            0 => vec![Acl::new(perms::ALL, "digest", &acl::digest_id("u:p"))],
            1 => vec![Acl::new(perms::READ | perms::CREATE, "world", "anyone")],
            2 => vec![Acl::new(perms::ALL, "auth", "")],
            3 => Vec::new(),
            _ => acl::open_acl_unsafe(),
        }
    }

    fn version(&mut self) -> i32 {
        if self.rng.gen_bool(0.5) {
            -1
        } else {
            self.rng.gen_range(0..3)
        }
    }

    fn single_op(&mut self) -> WriteOp {
        let path = self.path();
        match self.rng.gen_range(0..10) {
            0..=3 => {
                let mode = *CreateMode::ALL.choose(&mut self.rng).expect("modes");
                let ttl_ms = if mode.is_ttl() { Some(self.rng.gen_range(1..5_000)) } else { None };
                let data: Vec<u8> = (0..self.rng.gen_range(0..16)).map(|_| self.rng.gen()).collect();
                WriteOp::Create { path, data: data.into(), acl: self.acl(), mode, ttl_ms }
            }
            4 | 5 => WriteOp::Delete { path, version: self.version() },
            6 | 7 => {
                let data: Vec<u8> = (0..self.rng.gen_range(0..16)).map(|_| self.rng.gen()).collect();
                WriteOp::SetData { path, data: data.into(), version: self.version() }
            }
            8 => WriteOp::SetAcl { acl: self.acl(), path, version: self.version() },
            _ => WriteOp::Check { path, version: self.version() },
        }
    }
}
