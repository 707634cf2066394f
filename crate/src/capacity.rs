//! How many adapters a model has, and how many each sample activates, as a pure function of the
//! number of stored samples.
//!
//! A fixed (n, k) is right at one size only: with a few dozen photos every adapter sees a handful
//! of them and the ensemble gives up 8–20 points to one head trained on all of them, while at
//! thousands one head is exact but its forget re-solves an N×N system. So the default model
//! picks (n, k) from a [`Schedule`] of size levels. Exactness needs the structure to be a pure
//! function of the current sample set, never of the order samples came and went: the level is
//! looked up from the sample count alone, with no hysteresis, and `train` (or a `forget`)
//! rebuilds the keys and re-routes every sample when the level changes. That rebuild retrains
//! every adapter and is reported as such; it happens only when N crosses a level boundary.
//!
//! The default levels were chosen by `legonet bench` (docs/core.md): below 300 samples one
//! adapter, which *is* the Retrain model (same accuracy, a forget re-solves at most a 299×299
//! system); from 300, 8 adapters with k = 3, 16 from 800 and 32 from 1,600 — at each size the
//! structure closest to Retrain's accuracy among those whose forget stays well below Retrain's.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Most adapters one sample may activate. Each activation is a copy of the sample in an
/// adapter's member set, so k bounds what an imported snapshot can make a replay cost (with no
/// member cap, k adapters may each hold every sample); the documented structures use k ≤ 3.
pub const MAX_ACTIVATED: usize = 8;

/// Most levels a schedule may have (every receipt carries the whole schedule).
pub const MAX_LEVELS: usize = 64;

/// One size level: from `from` stored samples on, `adapters` adapters with `activated` each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Level {
    /// Smallest sample count of this level.
    pub from: usize,
    /// Number of adapters n.
    pub adapters: usize,
    /// Adapters each sample activates, k.
    pub activated: usize,
}

/// Checks one structure: 1 <= n <= `max_adapters` (the anchors there are to deal) and
/// 1 <= k <= min(n, [`MAX_ACTIVATED`]). The message says which `what` (a level, the fixed config).
pub fn validate_structure(n: usize, k: usize, max_adapters: usize, what: &str) -> Result<()> {
    if n == 0 || n > max_adapters {
        return Err(Error::InvalidConfig(format!("{what}: adapters must be in 1..={max_adapters} (got {n})")));
    }
    let most = n.min(MAX_ACTIVATED);
    if k == 0 || k > most {
        return Err(Error::InvalidConfig(format!("{what}: activated must be in 1..={most} (got {k})")));
    }
    Ok(())
}

/// Size levels, ascending by `from`; the first starts at 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule(pub Vec<Level>);

impl Default for Schedule {
    fn default() -> Self {
        let l = |from, adapters, activated| Level { from, adapters, activated };
        Schedule(vec![l(0, 1, 1), l(300, 8, 3), l(800, 16, 3), l(1_600, 32, 3)])
    }
}

impl Schedule {
    /// Checks the levels: 1 to [`MAX_LEVELS`] of them, the first from 0, strictly ascending,
    /// 1 <= k <= min(n, [`MAX_ACTIVATED`]) and n <= `max_adapters`.
    pub fn validate(&self, max_adapters: usize) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidConfig(m));
        match self.0.first() {
            None => return bad("the capacity schedule needs at least one level".into()),
            Some(l) if l.from != 0 => return bad("the first capacity level must start at 0 samples".into()),
            _ => {}
        }
        if self.0.len() > MAX_LEVELS {
            return bad(format!("a capacity schedule has at most {MAX_LEVELS} levels (got {})", self.0.len()));
        }
        if self.0.windows(2).any(|w| w[1].from <= w[0].from) {
            return bad("capacity levels must be strictly ascending by sample count".into());
        }
        for l in &self.0 {
            validate_structure(l.adapters, l.activated, max_adapters, &format!("the capacity level from {}", l.from))?;
        }
        Ok(())
    }

    /// (n, k) for `samples` stored samples.
    pub fn at(&self, samples: usize) -> (usize, usize) {
        let l = self.0.iter().rev().find(|l| l.from <= samples).unwrap_or(&self.0[0]);
        (l.adapters, l.activated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_looked_up_by_count_alone() {
        let s = Schedule::default();
        s.validate(1000).unwrap();
        assert_eq!(s.at(0), (1, 1));
        assert_eq!(s.at(299), (1, 1));
        assert_eq!(s.at(300), (8, 3));
        assert_eq!(s.at(100_000), (32, 3));
    }

    #[test]
    fn bad_schedules_are_rejected() {
        let l = |from, adapters, activated| Level { from, adapters, activated };
        for s in [
            vec![],
            vec![l(1, 1, 1)],
            vec![l(0, 1, 1), l(0, 2, 1)],
            vec![l(0, 2, 3)],
            vec![l(0, 0, 0)],
            vec![l(0, 2000, 1)],
            vec![l(0, 16, 9)],
            (0..65).map(|i| l(i, 1, 1)).collect(),
        ] {
            assert!(matches!(Schedule(s).validate(1000), Err(Error::InvalidConfig(_))));
        }
    }
}
