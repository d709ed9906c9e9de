//! The timeline's vertical axis. Runs mix bursts (a message every ms) with long
//! quiet stretches (ticks), so time is not drawn to scale: every instant that
//! has something to show gets a row, rows are spaced by the logarithm of the
//! time between them, and a row is as tall as the most markers one lane stacks
//! at that instant.

use std::collections::BTreeMap;

/// Pixels between two stacked markers of one lane.
pub(super) const STACK_PX: f64 = 15.0;
/// The smallest and largest space between two consecutive rows.
const GAP_MIN_PX: f64 = 16.0;
const GAP_MAX_PX: f64 = 72.0;

/// Maps virtual ms to y.
pub(super) struct Axis {
    /// Each row's time, y and extra height for stacked markers, in time order.
    rows: Vec<(u64, f64, f64)>,
}

impl Axis {
    /// An axis whose rows are the keys of `stacks` (time -> most markers on one lane), starting at `top`.
    pub(super) fn new(stacks: &BTreeMap<u64, usize>, top: f64) -> Axis {
        let mut rows: Vec<(u64, f64, f64)> = Vec::with_capacity(stacks.len());
        for (&t, &stack) in stacks {
            let extra = stack.saturating_sub(1) as f64 * STACK_PX;
            let y = match rows.last() {
                None => top,
                Some(&(prev, y, h)) => y + h + gap_px(t - prev),
            };
            rows.push((t, y, extra));
        }
        Axis { rows }
    }

    /// The y of time `t`: its row's, or interpolated between the rows around it.
    pub(super) fn y(&self, t: u64) -> f64 {
        let i = self.rows.partition_point(|r| r.0 < t);
        match (i.checked_sub(1).map(|p| self.rows[p]), self.rows.get(i)) {
            (_, Some(&(rt, y, _))) if rt == t => y,
            (None, Some(&(_, y, _))) => y,
            (Some((pt, py, ph)), Some(&(nt, ny, _))) => {
                let from = py + ph;
                from + (ny - from) * (t - pt) as f64 / (nt - pt) as f64
            }
            (Some((_, py, ph)), None) => py + ph,
            (None, None) => 0.0,
        }
    }

    /// The rows: time and y.
    pub(super) fn rows(&self) -> impl Iterator<Item = (u64, f64)> + '_ {
        self.rows.iter().map(|&(t, y, _)| (t, y))
    }

    /// The y just below the last row.
    pub(super) fn bottom(&self) -> f64 {
        self.rows.last().map_or(0.0, |&(_, y, h)| y + h + GAP_MIN_PX)
    }
}

/// The space for `dt` ms between rows: logarithmic, bounded both ways.
fn gap_px(dt: u64) -> f64 {
    (GAP_MIN_PX + 9.0 * ((1 + dt) as f64).log2()).clamp(GAP_MIN_PX, GAP_MAX_PX)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Later times are lower on the page, rows stack their markers, and times between rows interpolate.
    #[test]
    fn axis_is_monotonic() {
        let stacks: BTreeMap<u64, usize> = [(0, 1), (5, 3), (2_000, 1)].into_iter().collect();
        let axis = Axis::new(&stacks, 10.0);
        assert_eq!(axis.y(0), 10.0);
        let ys: Vec<f64> = [0, 3, 5, 100, 2_000, 3_000].iter().map(|t| axis.y(*t)).collect();
        assert!(ys.windows(2).all(|w| w[0] <= w[1]), "{ys:?}");
        assert!(axis.y(2_000) - axis.y(5) >= 2.0 * STACK_PX + GAP_MIN_PX);
    }
}
