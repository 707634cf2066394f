//! `legonet bench --audit`: a membership-inference audit of forgetting.
//!
//! The attack is the per-example threshold attack: an example scores the model's confidence in
//! its true label (the ensemble score; for a softmax head its probability), and the attacker
//! calls "member" above a threshold. Its power over every threshold is the AUC of members'
//! scores against non-members' (Mann–Whitney; a loss `−ln p` ranks the same examples in the
//! reverse order, so the loss attack has the same AUC). 0.5 is chance.
//!
//! On the default LegoNet, the training pool D is trained on, a random set F of it is forgotten
//! (in batches of 10), and F is compared with never-seen examples U: after an exact forget the
//! model is the model trained from scratch on D \ F (checked here, model hash for model hash), so
//! its AUC is the scratch model's — the attacker learns about F exactly what it learns about U.
//! For scale: the same attack on F before the forget, and on retained members R.
//!
//! Beside it, approximate unlearning on a softmax head (a linear layer over all of D, plain SGD
//! in f64, fixed seeds): fine-tuning on D \ F for a few epochs, and a few steps of gradient ascent
//! on F's loss, against retraining that head from scratch on D \ F.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use legonet::shuffle::shuffle;
use legonet::{KeySet, LegoNetConfig, Unlearner};

use crate::error::{CliError, Result};

/// One labelled encoding: (encoding, class index).
pub type Item<'a> = (&'a [f32], usize);

/// One AUC of the audit.
#[derive(serde::Serialize, Clone)]
pub struct AuditRow {
    set: String,
    /// `legonet` (the default) or `softmax` (the approximate baseline's head).
    model: String,
    /// What was done to the model before the attack.
    state: String,
    /// The members attacked: `forgotten` (F) or `retained` (R).
    members: String,
    n_members: usize,
    n_unseen: usize,
    auc: f64,
    /// Hanley–McNeil standard error of the AUC.
    auc_se: f64,
}

/// P(member score > unseen score) + ½ P(tie), by ranks.
pub fn auc(members: &[f64], unseen: &[f64]) -> f64 {
    let mut all: Vec<(f64, bool)> =
        members.iter().map(|&s| (s, true)).chain(unseen.iter().map(|&s| (s, false))).collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j < all.len() && all[j].0 == all[i].0 {
            j += 1;
        }
        let mid = (i + j + 1) as f64 / 2.0; // 1-based average rank of the tie block
        rank_sum += mid * all[i..j].iter().filter(|x| x.1).count() as f64;
        i = j;
    }
    let (m, u) = (members.len() as f64, unseen.len() as f64);
    (rank_sum - m * (m + 1.0) / 2.0) / (m * u)
}

fn auc_se(a: f64, m: usize, u: usize) -> f64 {
    let (m, u) = (m as f64, u as f64);
    let (q1, q2) = (a / (2.0 - a), 2.0 * a * a / (1.0 + a));
    ((a * (1.0 - a) + (m - 1.0) * (q1 - a * a) + (u - 1.0) * (q2 - a * a)) / (m * u)).sqrt()
}

/// A linear softmax classifier trained by plain minibatch SGD in f64 (the approximate
/// baseline: it has a warm start to fine-tune from, which LegoNet's heads do not need).
#[derive(Clone)]
struct Softmax {
    classes: usize,
    w: Vec<f64>,
    b: Vec<f64>,
}

const SGD_LR: f64 = 0.05;
const SGD_BATCH: usize = 32;
const SGD_DECAY: f64 = 1e-4;

impl Softmax {
    fn new(dim: usize, classes: usize) -> Softmax {
        Softmax { classes, w: vec![0.0; dim * classes], b: vec![0.0; classes] }
    }

    fn probs(&self, x: &[f32]) -> Vec<f64> {
        let mut z = self.b.clone();
        for (j, &xj) in x.iter().enumerate() {
            let row = &self.w[j * self.classes..(j + 1) * self.classes];
            for (zc, &w) in z.iter_mut().zip(row) {
                *zc += xj as f64 * w;
            }
        }
        let max = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = z.iter().map(|v| (v - max).exp()).collect();
        let s: f64 = e.iter().sum();
        e.into_iter().map(|v| v / s).collect()
    }

    /// `epochs` of minibatch SGD on `data` (`ascent`: climb the loss instead, as in
    /// gradient-ascent unlearning), in a seeded order.
    fn sgd(&mut self, data: &[Item], epochs: usize, lr: f64, ascent: bool, seed: u64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut order: Vec<usize> = (0..data.len()).collect();
        let sign = if ascent { -1.0 } else { 1.0 };
        for _ in 0..epochs {
            shuffle(&mut order, &mut rng);
            for batch in order.chunks(SGD_BATCH) {
                let mut gw = vec![0.0; self.w.len()];
                let mut gb = vec![0.0; self.classes];
                for &i in batch {
                    let (x, y) = data[i];
                    let mut g = self.probs(x);
                    g[y] -= 1.0;
                    for (j, &xj) in x.iter().enumerate() {
                        if xj != 0.0 {
                            let row = &mut gw[j * self.classes..(j + 1) * self.classes];
                            for (r, &gc) in row.iter_mut().zip(&g) {
                                *r += xj as f64 * gc;
                            }
                        }
                    }
                    gb.iter_mut().zip(&g).for_each(|(a, &v)| *a += v);
                }
                let step = lr / batch.len() as f64;
                for (w, g) in self.w.iter_mut().zip(&gw) {
                    *w -= sign * step * g + lr * SGD_DECAY * *w;
                }
                self.b.iter_mut().zip(&gb).for_each(|(b, g)| *b -= sign * step * g);
            }
        }
    }

    fn confidence(&self, items: &[Item]) -> Vec<f64> {
        items.iter().map(|&(x, y)| self.probs(x)[y]).collect()
    }

    fn accuracy(&self, items: &[Item]) -> f64 {
        let ok = items
            .iter()
            .filter(|&&(x, y)| {
                let p = self.probs(x);
                (0..self.classes).max_by(|&a, &b| p[a].total_cmp(&p[b])) == Some(y)
            })
            .count();
        ok as f64 / items.len().max(1) as f64
    }
}

/// The split of one set: training pool, forgotten part of it, never-seen examples.
pub struct Plan<'a> {
    pub set: String,
    pub classes: &'a [String],
    pub pool: Vec<Item<'a>>,
    pub unseen: Vec<Item<'a>>,
    /// Examples of the pool to forget.
    pub forget: usize,
}

/// Runs the audit on one set; returns its rows.
pub fn run(plan: &Plan, keys: &dyn Fn(usize) -> Result<KeySet>, seed: u64) -> Result<Vec<AuditRow>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xA0D1);
    let mut order: Vec<usize> = (0..plan.pool.len()).collect();
    shuffle(&mut order, &mut rng);
    let forget_idx: Vec<usize> = order[..plan.forget].to_vec();
    let keep_idx: Vec<usize> = order[plan.forget..].to_vec();
    let f: Vec<Item> = forget_idx.iter().map(|&i| plan.pool[i]).collect();
    let kept: Vec<Item> = keep_idx.iter().map(|&i| plan.pool[i]).collect();
    // Retained members attacked: as many as forgotten ones, drawn from the kept part.
    let r: Vec<Item> = kept.iter().take(plan.forget).copied().collect();
    let u = &plan.unseen;
    let id = |i: usize| format!("s{i:05}");
    let label = |c: usize| plan.classes[c].as_str();
    let mut rows = Vec::new();
    let mut push = |model: &str, state: &str, members: &str, m: &[f64], un: &[f64]| {
        let a = auc(m, un);
        eprintln!("audit {} {model} {state} {members}: AUC {a:.4} (n {} vs {})", plan.set, m.len(), un.len());
        rows.push(AuditRow {
            set: plan.set.clone(),
            model: model.into(),
            state: state.into(),
            members: members.into(),
            n_members: m.len(),
            n_unseen: un.len(),
            auc: a,
            auc_se: auc_se(a, m.len(), un.len()),
        });
    };

    // LegoNet, the default: train on the pool, forget F, against scratch on the pool less F.
    let build = || -> Result<legonet::LegoNet> {
        let cfg = LegoNetConfig::new().with_seed(seed);
        let mut m = cfg.init(keys(cfg.structure(0).0)?)?;
        for c in plan.classes {
            m.add_class(c)?;
        }
        Ok(m)
    };
    let score = |m: &legonet::LegoNet, items: &[Item]| -> Result<Vec<f64>> {
        items
            .iter()
            .map(|&(x, y)| {
                let p = m.predict(x)?;
                Ok(p.scores.iter().find(|(l, _)| l == label(y)).map(|(_, s)| *s as f64).unwrap_or(0.0))
            })
            .collect()
    };
    let mut model = build()?;
    let items: Vec<(String, &[f32], &str)> =
        plan.pool.iter().enumerate().map(|(i, &(x, y))| (id(i), x, label(y))).collect();
    let refs: Vec<(&str, &[f32], &str)> = items.iter().map(|(i, x, l)| (i.as_str(), *x, *l)).collect();
    model.add_many(&refs)?;
    model.train()?;
    let unseen_before = score(&model, u)?;
    push("legonet", "trained on the pool", "forgotten", &score(&model, &f)?, &unseen_before);
    let forget_ids: Vec<String> = forget_idx.iter().map(|&i| id(i)).collect();
    for batch in forget_ids.chunks(10) {
        let b: Vec<&str> = batch.iter().map(String::as_str).collect();
        model.forget(&b)?;
    }
    let mut scratch = build()?;
    let kept_refs: Vec<(&str, &[f32], &str)> = keep_idx.iter().map(|&i| refs[i]).collect();
    scratch.add_many(&kept_refs)?;
    scratch.train()?;
    if model.model_hash() != scratch.model_hash() {
        return Err(CliError::Usage("forgotten model differs from the scratch model (a bug)".into()));
    }
    let unseen_after = score(&model, u)?;
    push("legonet", "after exact forget", "forgotten", &score(&model, &f)?, &unseen_after);
    push("legonet", "retrained from scratch without F", "forgotten", &score(&scratch, &f)?, &score(&scratch, u)?);
    push("legonet", "after exact forget", "retained", &score(&model, &r)?, &unseen_after);

    // The approximate baseline: a softmax head over the whole pool.
    let dim = plan.pool[0].0.len();
    let mut original = Softmax::new(dim, plan.classes.len());
    original.sgd(&plan.pool, 30, SGD_LR, false, seed);
    eprintln!(
        "softmax head: pool accuracy {:.3}, unseen accuracy {:.3}",
        original.accuracy(&plan.pool),
        original.accuracy(u)
    );
    // Each softmax row: the members attacked (F, or R for the retained rows) against the unseen.
    let mut softmax_row = |what: &str, state: &str, m: &Softmax, attacked: &[Item]| {
        push("softmax", what, state, &m.confidence(attacked), &m.confidence(u));
    };
    softmax_row("trained on the pool", "forgotten", &original, &f);
    let mut tuned = original.clone();
    tuned.sgd(&kept, 2, SGD_LR, false, seed + 1);
    softmax_row("fine-tuned 2 epochs without F (approximate)", "forgotten", &tuned, &f);
    let mut ascended = original.clone();
    ascended.sgd(&f, 1, SGD_LR * 0.1, true, seed + 2);
    softmax_row("1 epoch of gradient ascent on F (approximate)", "forgotten", &ascended, &f);
    let mut retrained = Softmax::new(dim, plan.classes.len());
    retrained.sgd(&kept, 30, SGD_LR, false, seed);
    softmax_row("retrained from scratch without F", "forgotten", &retrained, &f);
    softmax_row("fine-tuned 2 epochs without F (approximate)", "retained", &tuned, &r);
    Ok(rows)
}

/// Markdown table of the rows.
pub fn print_table(rows: &[AuditRow]) {
    println!("| set | model | state | members attacked | members / unseen | AUC ± SE |");
    println!("|---|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} / {} | {:.3} ± {:.3} |",
            r.set, r.model, r.state, r.members, r.n_members, r.n_unseen, r.auc, r.auc_se
        );
    }
}

/// Horizontal bars of AUC (with ±SE whiskers) per row, grouped by set, a line at 0.5.
pub fn plot(rows: &[AuditRow]) -> String {
    let (label_w, bar_w, row_h, top) = (430.0, 360.0, 18.0, 40.0);
    let h = top + row_h * rows.len() as f64 + 40.0;
    let x = |a: f64| label_w + a.clamp(0.0, 1.0) * bar_w;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"11\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"10\" y=\"18\" font-size=\"13\">Membership inference (threshold attack on confidence): AUC of members vs never-seen examples</text>\n",
        label_w + bar_w + 30.0
    );
    for (i, r) in rows.iter().enumerate() {
        let y = top + row_h * i as f64;
        let colour = match (r.model.as_str(), r.state.contains("approximate"), r.members.as_str()) {
            (_, _, "retained") => "#999999",
            ("legonet", _, _) => "#1f77b4",
            (_, true, _) => "#d62728",
            _ => "#ff7f0e",
        };
        s += &format!(
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{} · {} · {} · {}</text>\n",
            label_w - 6.0,
            y + 12.0,
            r.set,
            r.model,
            r.state,
            r.members
        );
        s += &format!(
            "<rect x=\"{label_w}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{}\" fill=\"{colour}\"/>\n",
            x(r.auc) - label_w,
            row_h - 4.0
        );
        s += &format!(
            "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"black\"/>\n<text x=\"{:.1}\" y=\"{:.1}\">{:.3}</text>\n",
            x(r.auc - r.auc_se),
            y + 7.0,
            x(r.auc + r.auc_se),
            y + 7.0,
            x(r.auc + r.auc_se) + 4.0,
            y + 12.0,
            r.auc
        );
    }
    let bottom = top + row_h * rows.len() as f64;
    for t in [0.0, 0.25, 0.5, 0.75, 1.0] {
        s += &format!(
            "<line x1=\"{0:.1}\" y1=\"{top}\" x2=\"{0:.1}\" y2=\"{1:.1}\" stroke=\"{2}\" stroke-dasharray=\"{3}\"/>\n<text x=\"{0:.1}\" y=\"{4:.1}\" text-anchor=\"middle\">{t}</text>\n",
            x(t),
            bottom,
            if t == 0.5 { "black" } else { "#cccccc" },
            if t == 0.5 { "4,3" } else { "2,2" },
            bottom + 14.0
        );
    }
    s + "</svg>\n"
}

#[cfg(test)]
mod tests {
    use super::auc;

    #[test]
    fn auc_counts_ranks_and_ties() {
        assert_eq!(auc(&[3.0, 4.0], &[1.0, 2.0]), 1.0);
        assert_eq!(auc(&[1.0, 2.0], &[3.0, 4.0]), 0.0);
        assert_eq!(auc(&[1.0, 1.0], &[1.0, 1.0]), 0.5);
        assert_eq!(auc(&[2.0, 0.0], &[1.0, 3.0]), 0.25);
    }
}
