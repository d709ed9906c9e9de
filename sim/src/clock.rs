//! A node's own clock: the virtual clock with a fixed skew and a steady drift,
//! so that session timeouts, pings and election timers run at slightly
//! different rates on different servers, as they do on real machines.
//!
//! The peer's `now` is `origin + skew + elapsed * (1 + drift)`, where
//! `elapsed` is virtual time since the run began. With |drift| < 100 % it never
//! goes backwards. `poll_timeout()` answers in the peer's clock, so the world
//! maps deadlines back with [`Clock::virtual_ms`] to schedule ticks.

use serde::{Deserialize, Serialize};

/// Parts per million in one.
const PPM: i128 = 1_000_000;

/// One node's clock error.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Clock {
    /// The node it belongs to.
    pub node: u64,
    /// Offset from virtual time at the start of the run, ms (may be negative).
    #[serde(default)]
    pub skew_ms: i64,
    /// Rate error in parts per million: 10_000 runs 1 % fast, -10_000 runs 1 % slow.
    #[serde(default)]
    pub drift_ppm: i64,
}

impl Clock {
    /// Whether this clock reads the virtual time exactly (no skew, no drift).
    pub fn is_exact(&self) -> bool {
        self.skew_ms == 0 && self.drift_ppm == 0
    }

    /// The peer's reading at virtual time `virtual_ms`; `origin` is the virtual time the run began.
    pub fn peer_ms(&self, virtual_ms: u64, origin: u64) -> u64 {
        // Most nodes keep the virtual clock; spare them the 128-bit arithmetic.
        if self.is_exact() {
            return virtual_ms;
        }
        assert!(self.drift_ppm.unsigned_abs() < PPM as u64 / 2, "drift {} ppm would let a clock stall", self.drift_ppm);
        let elapsed = virtual_ms as i128 - origin as i128;
        let reading = origin as i128 + self.skew_ms as i128 + elapsed + (elapsed * self.drift_ppm as i128).div_euclid(PPM);
        reading.max(0) as u64
    }

    /// The first virtual time at which the peer's clock reads at least `peer_ms`.
    pub fn virtual_ms(&self, peer_ms: u64, origin: u64) -> u64 {
        if self.is_exact() {
            return peer_ms;
        }
        let want = peer_ms as i128 - origin as i128 - self.skew_ms as i128;
        // An estimate within a millisecond or two; the loops below make it exact.
        let mut v = (origin as i128 + (want * PPM).div_euclid(PPM + self.drift_ppm as i128)).max(0) as u64;
        while self.peer_ms(v, origin) < peer_ms {
            v += 1;
        }
        while v > 0 && self.peer_ms(v - 1, origin) >= peer_ms {
            v -= 1;
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A skewed, drifting clock never goes backwards, and mapping a deadline back gives the first virtual time that reaches it.
    #[test]
    fn deadlines_map_back_exactly() {
        for clock in [Clock { node: 1, skew_ms: -2_500, drift_ppm: -9_000 }, Clock { node: 2, skew_ms: 1_700, drift_ppm: 10_000 }, Clock::default()] {
            let origin = 1_000_000;
            let mut last = 0;
            for v in (origin..origin + 50_000).step_by(7) {
                let p = clock.peer_ms(v, origin);
                assert!(p >= last, "{clock:?} went backwards at {v}");
                last = p;
                let back = clock.virtual_ms(p + 3, origin);
                assert!(clock.peer_ms(back, origin) >= p + 3 && clock.peer_ms(back - 1, origin) < p + 3, "{clock:?} at {v}");
            }
        }
    }
}
