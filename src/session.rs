//! Sessions: ids, passwords, negotiated timeouts and expiry
//! (ZooKeeper's `SessionTrackerImpl` and `ExpiryQueue`).
//!
//! Deadlines are rounded up to the next tick, as ZooKeeper buckets them, so
//! that expiry is checked once per tick rather than per session.

use crate::zxid::{ServerId, SessionId};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet};

/// The 16-byte password a client must present to resume its session.
pub type Password = [u8; 16];

/// A live session as the tracker sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// Negotiated timeout.
    pub timeout_ms: i32,
    /// When it expires unless touched, rounded up to a tick.
    pub deadline_ms: u64,
    /// Set once a closeSession is on its way, so it is not expired twice.
    pub closing: bool,
}

/// All sessions, their deadlines and the id and password generators.
#[derive(Clone, Debug)]
pub struct SessionTracker {
    sessions: BTreeMap<SessionId, Session>,
    by_deadline: BTreeMap<u64, BTreeSet<SessionId>>,
    tick_time_ms: u64,
    next_id: i64,
    password_seed: u64,
}

impl SessionTracker {
    /// A tracker for `server`, whose ids start from the current time as
    /// ZooKeeper's do (`(serverId << 56) | ((now << 24) >>> 8)`), so that ids
    /// from different servers and restarts do not collide. `password_seed` is
    /// the secret from which passwords derive; the host draws it at startup.
    pub fn new(server: ServerId, now_ms: u64, tick_time_ms: u64, password_seed: u64) -> SessionTracker {
        let base = (((now_ms as i64) << 24) as u64 >> 8) as i64;
        let next_id = ((server.0 as i64) << 56) | base;
        SessionTracker { sessions: BTreeMap::new(), by_deadline: BTreeMap::new(), tick_time_ms: tick_time_ms.max(1), next_id, password_seed }
    }

    /// A fresh session id (not yet tracked: it becomes live when its createSession commits).
    pub fn next_session_id(&mut self) -> SessionId {
        loop {
            let id = SessionId(self.next_id);
            self.next_id = self.next_id.wrapping_add(1);
            if id.0 != 0 && !self.sessions.contains_key(&id) {
                return id;
            }
        }
    }

    /// The password of a session: derived from the secret seed and the id, so
    /// every server holding the seed agrees without storing it.
    pub fn password(&self, session: SessionId) -> Password {
        let mut rng = ChaCha8Rng::seed_from_u64(self.password_seed ^ (session.0 as u64) ^ 0xB341_5C00);
        let mut password = [0u8; 16];
        rng.fill_bytes(&mut password);
        password
    }

    /// Starts tracking a session (its createSession committed, or it was recovered).
    pub fn add(&mut self, session: SessionId, timeout_ms: i32, now_ms: u64) {
        self.remove(session);
        let deadline_ms = self.deadline(now_ms, timeout_ms);
        self.sessions.insert(session, Session { timeout_ms, deadline_ms, closing: false });
        self.by_deadline.entry(deadline_ms).or_default().insert(session);
    }

    /// Stops tracking a session (its closeSession committed).
    pub fn remove(&mut self, session: SessionId) -> Option<Session> {
        let s = self.sessions.remove(&session)?;
        self.unindex(session, s.deadline_ms);
        Some(s)
    }

    /// The session, if live.
    pub fn get(&self, session: SessionId) -> Option<&Session> {
        self.sessions.get(&session)
    }

    /// All live sessions, in id order.
    pub fn iter(&self) -> impl Iterator<Item = (&SessionId, &Session)> {
        self.sessions.iter()
    }

    /// Number of live sessions.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// True when no session is live.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// Pushes a session's deadline out after traffic; false if it is gone or closing.
    pub fn touch(&mut self, session: SessionId, now_ms: u64) -> bool {
        let Some(s) = self.sessions.get(&session) else { return false };
        if s.closing {
            return false;
        }
        let (old, new) = (s.deadline_ms, self.deadline(now_ms, s.timeout_ms));
        if new > old {
            self.unindex(session, old);
            self.by_deadline.entry(new).or_default().insert(session);
            self.sessions.get_mut(&session).expect("present").deadline_ms = new;
        }
        true
    }

    /// Marks a session as closing; false if it was already closing or is unknown.
    pub fn set_closing(&mut self, session: SessionId) -> bool {
        match self.sessions.get_mut(&session) {
            Some(s) if !s.closing => {
                s.closing = true;
                true
            }
            _ => false,
        }
    }

    /// Sessions whose deadline has passed at `now_ms` and that are not already closing, in id order.
    pub fn expired(&self, now_ms: u64) -> Vec<SessionId> {
        let mut out: Vec<SessionId> = self
            .by_deadline
            .range(..=now_ms)
            .flat_map(|(_, ids)| ids.iter().copied())
            .filter(|id| self.sessions.get(id).is_some_and(|s| !s.closing))
            .collect();
        out.sort();
        out
    }

    /// The earliest deadline of a session not yet closing, for `poll_timeout`.
    pub fn next_deadline(&self) -> Option<u64> {
        self.by_deadline.iter().find(|(_, ids)| ids.iter().any(|id| self.sessions.get(id).is_some_and(|s| !s.closing))).map(|(d, _)| *d)
    }

    fn deadline(&self, now_ms: u64, timeout_ms: i32) -> u64 {
        let t = now_ms + timeout_ms.max(0) as u64;
        (t / self.tick_time_ms + 1) * self.tick_time_ms
    }

    fn unindex(&mut self, session: SessionId, deadline_ms: u64) {
        if let Some(ids) = self.by_deadline.get_mut(&deadline_ms) {
            ids.remove(&session);
            if ids.is_empty() {
                self.by_deadline.remove(&deadline_ms);
            }
        }
    }
}

/// Clamps a requested timeout into `[min, max]`, as the server negotiates it.
pub fn negotiate_timeout(requested_ms: i32, min_ms: i32, max_ms: i32) -> i32 {
    requested_ms.clamp(min_ms, max_ms.max(min_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    // A session expires one rounded-up timeout after its last touch, and not before.
    #[test]
    fn expiry_follows_touches() {
        let mut t = SessionTracker::new(ServerId(1), 1_000_000, 2_000, 7);
        let s = t.next_session_id();
        t.add(s, 4_000, 0);
        assert_eq!(t.get(s).unwrap().deadline_ms, 6_000);
        assert!(t.expired(5_999).is_empty());
        assert!(t.touch(s, 5_000));
        assert!(t.expired(6_000).is_empty());
        assert_eq!(t.next_deadline(), Some(10_000));
        assert_eq!(t.expired(10_000), vec![s]);
        assert!(t.set_closing(s));
        assert!(t.expired(10_000).is_empty());
        assert!(!t.touch(s, 10_000));
        t.remove(s);
        assert!(t.is_empty() && t.next_deadline().is_none());
    }

    // Ids carry the server id in the top byte and are unique; passwords are stable per id.
    #[test]
    fn ids_and_passwords() {
        let mut t = SessionTracker::new(ServerId(3), 1_700_000_000_000, 2_000, 99);
        let (a, b) = (t.next_session_id(), t.next_session_id());
        assert_ne!(a, b);
        assert_eq!(a.0 >> 56, 3);
        assert_eq!(t.password(a), t.password(a));
        assert_ne!(t.password(a), t.password(b));
        assert_eq!(negotiate_timeout(1_000, 4_000, 40_000), 4_000);
        assert_eq!(negotiate_timeout(100_000, 4_000, 40_000), 40_000);
    }
}
