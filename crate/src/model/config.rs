//! The LegoNet's hyper-parameters: fixed or capacity-scheduled structure, seed and head.

use burn::config::Config;

use super::LegoNet;
use crate::capacity::{Schedule, validate_structure};
use crate::head::HeadConfig;
use crate::keys::KeySet;
use crate::shards::MIN_CAP;
use crate::{Error, Result};

/// The default member cap (docs/core.md: chosen by `legonet bench` and the wasm forget bench).
pub const DEFAULT_MEMBER_CAP: usize = 300;

/// LegoNet hyper-parameters.
#[derive(Config, Debug, PartialEq)]
pub struct LegoNetConfig {
    /// Expert option: a fixed number of adapters n (with `activated`). `None` (the default): n
    /// follows the number of stored samples through `schedule`.
    #[config(default = "None")]
    pub adapters: Option<usize>,
    /// Expert option: a fixed number of adapters each sample activates (and each prediction
    /// consults), k; set with `adapters` or not at all.
    #[config(default = "None")]
    pub activated: Option<usize>,
    /// (n, k) by stored-sample count, used when `adapters` and `activated` are `None`.
    #[config(default = "Schedule::default()")]
    pub schedule: Schedule,
    /// Most members one ridge solve takes: an adapter holding more is trained as the mean of
    /// ⌈m / cap⌉ heads on members sharded by a hash of their id ([`crate::shards`]), which
    /// bounds the cost of any forget however crowded one adapter gets. `None`: never sharded.
    #[config(default = "Some(DEFAULT_MEMBER_CAP)")]
    pub member_cap: Option<usize>,
    /// Model seed (anchor deal and per-adapter seeds).
    #[config(default = 0)]
    pub seed: u64,
    /// The adapter head.
    #[config(default = "HeadConfig::new()")]
    pub head: HeadConfig,
}

impl LegoNetConfig {
    /// A fixed structure of `n` adapters, `k` activated per sample (expert option).
    pub fn fixed(self, n: usize, k: usize) -> Self {
        self.with_adapters(Some(n)).with_activated(Some(k))
    }

    /// Checks ranges; `max_adapters` is the number of anchors of the keys.
    pub fn validate(&self, max_adapters: usize) -> Result<()> {
        match (self.adapters, self.activated) {
            (Some(n), Some(k)) => validate_structure(n, k, max_adapters, "the fixed structure")?,
            (None, None) => self.schedule.validate(max_adapters)?,
            _ => return Err(Error::InvalidConfig("set both adapters and activated, or neither".into())),
        }
        if let Some(c) = self.member_cap
            && c < MIN_CAP
        {
            return Err(Error::InvalidConfig(format!("member_cap must be at least {MIN_CAP} (got {c})")));
        }
        self.head.validate()
    }

    /// Whether the structure follows the data (no fixed n, k).
    pub fn is_adaptive(&self) -> bool {
        self.adapters.is_none()
    }

    /// (n, k) for a model holding `samples` samples: fixed, or from the schedule.
    pub fn structure(&self, samples: usize) -> (usize, usize) {
        match (self.adapters, self.activated) {
            (Some(n), Some(k)) => (n, k),
            _ => self.schedule.at(samples),
        }
    }

    /// Whether a model of this configuration can ever have structure (n, k): the fixed one, or a
    /// level of the schedule (a model keeps the structure of its last train until the next).
    pub fn reaches(&self, n: usize, k: usize) -> bool {
        match (self.adapters, self.activated) {
            (Some(a), Some(b)) => (a, b) == (n, k),
            _ => self.schedule.0.iter().any(|l| (l.adapters, l.activated) == (n, k)),
        }
    }

    /// An empty LegoNet over the anchors of `keys` (derived from the encoder by
    /// [`KeySet::derive`]), dealt to the adapters of the empty model's structure.
    pub fn init(&self, keys: KeySet) -> Result<LegoNet> {
        self.validate(keys.num_anchors())?;
        // A snapshot stores the seed, not the keys' deal: keys dealt with another seed would give
        // a model that cannot be imported again.
        if keys.seed() != self.seed {
            return Err(Error::InvalidConfig(format!(
                "the keys were dealt with seed {}, the configuration's seed is {}",
                keys.seed(),
                self.seed
            )));
        }
        let (n, k) = self.structure(0);
        let keys = if keys.len() == n { keys } else { keys.with_adapters(n)? };
        Ok(LegoNet::new(self.clone(), keys, k))
    }
}
