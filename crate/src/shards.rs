//! Member shards: how an adapter with more members than a cap C is trained, so that no single
//! solve — and so no forget — grows with how crowded one adapter gets.
//!
//! Members per adapter follow the data, not n: many samples of a narrow domain share one
//! ImageNet anchor, so at N = 4,000 Fashion-MNIST encodings one adapter holds 1,087 members and
//! its m×m ridge solve (O(m³)) sets the forget's p95 whatever n is. With a cap, an adapter of m
//! members is trained as S = ⌈m / C⌉ ridge heads, member j going to shard
//! `SHA-256(id) mod S`, and its parameters are their mean (scores of a linear head average
//! linearly, so the adapter stays one `x W + b`: prediction cost and the snapshot's adapter
//! layout are unchanged). A forget re-solves only the shard that held the sample (≈ C members)
//! and re-averages; when S itself changes (m crosses a multiple of C) every shard of that
//! adapter is re-dealt and re-solved, and the report counts it.
//!
//! Exactness: S is a function of the member count, the shard of a member a function of its id,
//! each shard's head a pure function of its members (canonical order), and the mean is summed
//! in shard order — so an adapter is still a pure function of its member set. Under the cap
//! (S = 1) the adapter is the one head on all members, bit for bit what it was without shards.
//! The per-shard solutions are kept between trainings as a cache only (reused when a shard's
//! member ids are exactly the same); `verify` replays without it.
//!
//! The cap applies to ridge heads, whose cost is cubic in the members; a softmax head's cost is
//! linear in them and it is never sharded.

use sha2::{Digest, Sha256};

use crate::Result;
use crate::head::{AdapterParams, Gram, HeadConfig, HeadKind};

/// Smallest member cap accepted: below it a shard has too few samples to fit a head.
pub const MIN_CAP: usize = 16;

/// Number of shards of an adapter with `members` members under `cap`.
pub fn shard_count(members: usize, cap: Option<usize>, head: &HeadConfig) -> usize {
    match cap {
        Some(c) if head.kind == HeadKind::Ridge => members.div_ceil(c).max(1),
        _ => 1,
    }
}

/// The shard of member `id` among `shards`: a fixed hash of the id, independent of the other
/// members, so removing one member moves no other.
pub fn shard_of(id: &str, shards: usize) -> usize {
    if shards == 1 {
        return 0;
    }
    let d = Sha256::new().chain_update(b"legonet-shard-v1").chain_update(id.as_bytes()).finalize();
    (u64::from_le_bytes(d[..8].try_into().expect("8 bytes")) % shards as u64) as usize
}

/// One trained shard, kept between trainings: its member ids, its head and its Gram matrix.
#[derive(Debug, Clone)]
struct Part {
    ids: Vec<String>,
    params: AdapterParams,
    gram: Option<Gram>,
}

/// Per-shard solutions of one adapter (shard index order): a cache, never model state.
#[derive(Debug, Clone, Default)]
pub struct ShardCache(Vec<Option<Part>>);

/// What training one adapter produced.
#[derive(Debug)]
pub struct Trained {
    /// The adapter's parameters (the mean of its shards' heads).
    pub params: AdapterParams,
    /// The shards' solutions, to reuse next time.
    pub cache: ShardCache,
    /// Samples fed to the shard solves that actually ran (a reused shard replays nothing).
    pub replayed: usize,
}

/// Trains one adapter on `members` (canonical order, `ids` parallel) under `cap`: one head when
/// they fit, else the mean of its shards' heads. `cache` (the previous call's, consumed) only
/// skips work: a shard whose member ids equal the cached shard's is reused, and Gram entries of
/// members already seen are copied; the result is bitwise the same without it.
pub fn train(
    head: &HeadConfig,
    members: &[(&[f32], &str)],
    ids: &[&str],
    cap: Option<usize>,
    cache: Option<ShardCache>,
    dim: usize,
    seed: u64,
) -> Result<Trained> {
    let s = shard_count(members.len(), cap, head);
    let mut buckets: Vec<Vec<usize>> = vec![Vec::new(); s];
    for (j, id) in ids.iter().enumerate() {
        buckets[shard_of(id, s)].push(j);
    }
    let mut old = cache.map(|c| c.0).unwrap_or_default();
    let mut parts = Vec::with_capacity(s);
    let mut replayed = 0;
    for (b, bucket) in buckets.iter().enumerate() {
        let cached = old.get_mut(b).and_then(Option::take);
        if bucket.is_empty() {
            parts.push(None);
            continue;
        }
        let part_ids: Vec<&str> = bucket.iter().map(|&j| ids[j]).collect();
        let cached = match cached {
            Some(p) if p.ids.iter().map(String::as_str).eq(part_ids.iter().copied()) => {
                parts.push(Some(p));
                continue;
            }
            other => other,
        };
        let part_members: Vec<(&[f32], &str)> = bucket.iter().map(|&j| members[j]).collect();
        // Shard 0 of an unsharded adapter keeps the adapter's own seed (the head it always was).
        let part_seed = if s == 1 { seed } else { seed ^ (b as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) };
        let (params, gram) =
            head.train_cached(&part_members, &part_ids, cached.as_ref().and_then(|p| p.gram.as_ref()), dim, part_seed)?;
        replayed += bucket.len();
        parts.push(Some(Part { ids: part_ids.iter().map(|s| s.to_string()).collect(), params, gram }));
    }
    let heads: Vec<&AdapterParams> = parts.iter().flatten().map(|p| &p.params).collect();
    let params = if heads.len() == 1 { heads[0].clone() } else { mean(&heads, dim) };
    Ok(Trained { params, cache: ShardCache(parts), replayed })
}

/// The mean of linear heads over the union of their labels (a head lacking a label adds 0 to
/// it), summed in f64 in shard order.
fn mean(heads: &[&AdapterParams], dim: usize) -> AdapterParams {
    let mut labels: Vec<String> = heads.iter().flat_map(|h| h.labels.iter().cloned()).collect();
    labels.sort();
    labels.dedup();
    let c = labels.len();
    let mut weight = vec![0.0f64; dim * c];
    let mut bias = vec![0.0f64; c];
    for h in heads {
        let hc = h.labels.len();
        for (jh, l) in h.labels.iter().enumerate() {
            let j = labels.binary_search(l).expect("label collected above");
            bias[j] += h.bias[jh] as f64;
            for f in 0..dim {
                weight[f * c + j] += h.weight[f * hc + jh] as f64;
            }
        }
    }
    let n = heads.len() as f64;
    AdapterParams {
        dim,
        labels,
        weight: weight.into_iter().map(|v| (v / n) as f32).collect(),
        bias: bias.into_iter().map(|v| (v / n) as f32).collect(),
        softmax: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::head::tests::blobs;

    fn members(n: usize) -> (Vec<(Vec<f32>, String)>, Vec<String>) {
        let data = blobs(n, 16, 3, 7);
        let ids = (0..n).map(|i| format!("m{i:04}")).collect();
        (data, ids)
    }

    fn run(data: &[(Vec<f32>, String)], ids: &[String], cap: Option<usize>, cache: Option<ShardCache>) -> Trained {
        let m: Vec<(&[f32], &str)> = data.iter().map(|(x, l)| (x.as_slice(), l.as_str())).collect();
        let i: Vec<&str> = ids.iter().map(String::as_str).collect();
        train(&HeadConfig::new(), &m, &i, cap, cache, 16, 3).unwrap()
    }

    #[test]
    fn under_the_cap_the_adapter_is_the_one_head() {
        let (data, ids) = members(40);
        let m: Vec<(&[f32], &str)> = data.iter().map(|(x, l)| (x.as_slice(), l.as_str())).collect();
        let one = HeadConfig::new().train(&m, 16, 3).unwrap();
        let capped = run(&data, &ids, Some(40), None);
        assert!(one.bits().eq(capped.params.bits()));
        assert_eq!(capped.replayed, 40);
    }

    #[test]
    fn over_the_cap_shards_are_reused_and_the_result_is_the_fresh_one() {
        let (mut data, mut ids) = members(100);
        let full = run(&data, &ids, Some(30), None);
        assert_eq!(full.replayed, 100);
        assert_ne!(full.params, run(&data, &ids, None, None).params, "4 shards, not one head");
        // Forget one member: only its shard is re-solved, and the bits equal a fresh train.
        let gone = ids.iter().position(|id| id == "m0042").unwrap();
        let shard = shard_of("m0042", 4);
        ids.remove(gone);
        data.remove(gone);
        let again = run(&data, &ids, Some(30), Some(full.cache.clone()));
        let fresh = run(&data, &ids, Some(30), None);
        assert!(again.params.bits().eq(fresh.params.bits()));
        assert_eq!(again.replayed, ids.iter().filter(|id| shard_of(id, 4) == shard).count());
        // Below 3 × 30 + 1 members the adapter has 3 shards: every shard is re-dealt.
        let (data, ids) = (&data[..90], &ids[..90]);
        let three = run(data, ids, Some(30), Some(again.cache));
        assert_eq!(three.replayed, 90);
        assert!(three.params.bits().eq(run(data, ids, Some(30), None).params.bits()));
    }
}
