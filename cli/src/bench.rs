//! `legonet bench`: LegoNet at several (n, k) against Retrain, FixSISA, KNN and NCM on real images.
//!
//! Images are encoded once through the frozen encoder and cached under
//! `$LEGONET_CACHE/encodings/<set>-<encoder id>.bin`; every run after that trains from the
//! cache. Prints a markdown table and writes `--out FILE.json` plus `FILE.svg` (accuracy and
//! single-sample forget p95 against the training-set size, one line per method).

use std::path::{Path, PathBuf};

use clap::Args;
use legonet::preprocess::rgb_to_input;
use legonet::shuffle::shuffle;
use legonet::{
    ENCODING_DIM, Encoder, HeadConfig, HeadKind, KeySet, Knn, LegoNetConfig, Ncm, Sharded, Unlearner, WeightFile,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::encode::read_weights;
use crate::error::{CliError, Result};
use crate::stats::quantile;

#[derive(Args)]
pub struct BenchArgs {
    /// A prepared set under --datasets: fashion-mnist-5k, or a photo set with an `images/`
    /// folder of class sub-folders (gcompris-photos, tuxpaint-photos).
    #[arg(long, conflicts_with = "images")]
    set: Option<String>,
    /// Any folder of class sub-folders of photos (evaluated like gcompris-photos, k-fold).
    #[arg(long, value_name = "DIR")]
    images: Option<PathBuf>,
    /// Where build_benchmark_set.py wrote the sets.
    #[arg(long, value_name = "DIR")]
    datasets: Option<PathBuf>,
    /// Write the rows here (and the SVG plot next to it, same stem).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Training-set sizes for fashion-mnist-5k (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "500,1000,2000,4000")]
    sizes: Vec<usize>,
    /// Folds for photo folders (stratified), used by `--shots all`.
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Photo folders: training photos per class (seeded stratified draw, the rest tested), or
    /// `all` for the k-fold (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "all")]
    shots: Vec<String>,
    /// Draws per size / shots value (fashion sizes and photo shots); rows average them.
    #[arg(long, default_value_t = 1)]
    repeats: usize,
    /// Random single-sample deletions timed per configuration (and per fold).
    #[arg(long, default_value_t = 50)]
    forgets: usize,
    /// LegoNet structures, comma-separated: `auto` (the library's default: capacity levels by
    /// sample count) or a fixed `n:k`, either with an optional `/C` member cap instead of the
    /// default one (`/0`: no cap).
    #[arg(long, value_delimiter = ',', default_value = "auto,32:3,16:3,4:2")]
    configs: Vec<String>,
    /// Also run every method with the burn-autodiff softmax head (slower).
    #[arg(long)]
    softmax: bool,
    /// Ridge penalty of the adapter heads (all methods).
    #[arg(long)]
    ridge_lambda: Option<f64>,
    /// Skip Retrain, FixSISA, KNN and NCM (for LegoNet parameter sweeps).
    #[arg(long)]
    no_baselines: bool,
    /// FixSISA shard count.
    #[arg(long, default_value_t = 8)]
    shards: usize,
    /// KNN neighbours.
    #[arg(long, default_value_t = 5)]
    knn_k: usize,
    /// Converted encoder weights (default: where set-up put them).
    #[arg(long, value_name = "FILE")]
    weights: Option<PathBuf>,
    /// Seed for sampling, deletion order and the models.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Run the forgetting audit instead (membership inference on forgotten vs never-seen
    /// examples, exact forget against approximate unlearning; see `membership.rs`).
    #[arg(long)]
    audit: bool,
    /// --audit: training pool size on a set with a test split (fashion-mnist-5k); photo folders
    /// use 70 % of their photos, the rest never seen.
    #[arg(long, default_value_t = 2000)]
    audit_pool: usize,
    /// --audit: share of the pool forgotten.
    #[arg(long, default_value_t = 0.1)]
    audit_forget: f64,
}

/// Encoded data: class names and (encoding, class index, is_test) rows.
struct Encoded {
    classes: Vec<String>,
    rows: Vec<(Vec<f32>, u32, bool)>,
}

/// `$LEGONET_CACHE`, else `~/.cache/legonet` (what ./dev uses).
fn cache_dir() -> PathBuf {
    if let Some(c) = std::env::var_os("LEGONET_CACHE") {
        return PathBuf::from(c);
    }
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(".")).join(".cache/legonet")
}

fn io(path: &Path, e: impl std::fmt::Display) -> CliError {
    CliError::Usage(format!("{}: {e}", path.display()))
}

/// Images to encode: (RGB image, class index, is_test). Test split is only known for
/// fashion-mnist; photo folders are split later by k-fold.
type Source = (Vec<String>, Vec<(image::RgbImage, u32, bool)>);

fn fashion(dir: &Path) -> Result<Source> {
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).map_err(|e| io(dir, e))?)
            .map_err(|e| io(dir, e))?;
    let classes: Vec<String> = manifest["classes"]
        .as_array()
        .ok_or_else(|| io(dir, "manifest has no classes"))?
        .iter()
        .filter_map(|c| c.as_str().map(String::from))
        .collect();
    let mut out = Vec::new();
    for (split, test) in [("train", false), ("test", true)] {
        let img = dir.join(format!("{split}_images.u8"));
        let lab = dir.join(format!("{split}_labels.u8"));
        let pixels = std::fs::read(&img).map_err(|e| io(&img, e))?;
        let labels = std::fs::read(&lab).map_err(|e| io(&lab, e))?;
        if pixels.len() != labels.len() * 28 * 28 {
            return Err(io(&img, "image and label counts disagree"));
        }
        for (i, &l) in labels.iter().enumerate() {
            // Grayscale replicated to 3 channels, as the dataset README says.
            let g = &pixels[i * 784..(i + 1) * 784];
            let rgb = image::RgbImage::from_fn(28, 28, |x, y| {
                let v = g[(y * 28 + x) as usize];
                image::Rgb([v, v, v])
            });
            out.push((rgb, l as u32, test));
        }
    }
    Ok((classes, out))
}

/// Class sub-folders of photos, each resized to a shorter side of 320 px first so that the
/// source resolution (which differs by class in gcompris) cannot leak the label.
fn photo_folder(dir: &Path) -> Result<Source> {
    let mut classes: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| io(dir, e))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    classes.sort();
    let mut out = Vec::new();
    for (c, name) in classes.iter().enumerate() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join(name))
            .map_err(|e| io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        for f in files {
            let Ok(img) = image::open(&f) else {
                eprintln!("skipping unreadable {}", f.display());
                continue;
            };
            let rgb = img.to_rgb8();
            let (w, h) = rgb.dimensions();
            let s = 320.0 / w.min(h) as f64;
            let (nw, nh) = (((w as f64 * s).round() as u32).max(1), ((h as f64 * s).round() as u32).max(1));
            let rgb = image::imageops::resize(&rgb, nw, nh, image::imageops::FilterType::Triangle);
            out.push((rgb, c as u32, false));
        }
    }
    if classes.len() < 2 || out.is_empty() {
        return Err(io(dir, "need at least two class sub-folders of photos"));
    }
    Ok((classes, out))
}

/// Encodes through the frozen encoder, or reads the cache written by an earlier run.
fn encoded(name: &str, source: impl FnOnce() -> Result<Source>, weights: &WeightFile) -> Result<Encoded> {
    let dir = cache_dir().join("encodings");
    let cache = dir.join(format!("{name}-{}.bin", weights.encoder_id()));
    if let Ok(bytes) = std::fs::read(&cache)
        && let Some(e) = read_cache(&bytes)
    {
        eprintln!("encodings: cached {}", cache.display());
        return Ok(e);
    }
    let (classes, images) = source()?;
    let encoder = Encoder::cpu(weights)?;
    let start = std::time::Instant::now();
    let mut rows = Vec::with_capacity(images.len());
    for (i, chunk) in images.chunks(8).enumerate() {
        let input: Vec<f32> = chunk.iter().flat_map(|(img, _, _)| rgb_to_input(img)).collect();
        let out = encoder.encode_blocking(&input)?;
        for (j, (_, label, test)) in chunk.iter().enumerate() {
            rows.push((out.encoding(j).to_vec(), *label, *test));
        }
        if i % 25 == 0 {
            eprintln!("encoding {}/{} ({:.0} s)", rows.len(), images.len(), start.elapsed().as_secs_f64());
        }
    }
    let e = Encoded { classes, rows };
    std::fs::create_dir_all(&dir)?;
    std::fs::write(&cache, write_cache(&e))?;
    eprintln!("encodings: wrote {}", cache.display());
    Ok(e)
}

/// Cache layout: "LNENC1\0\0", u32 classes, (u32 len + UTF-8) each, u64 rows,
/// per row u32 class, u8 is_test, 1280 f32 (all little-endian).
fn write_cache(e: &Encoded) -> Vec<u8> {
    let mut b = b"LNENC1\0\0".to_vec();
    b.extend((e.classes.len() as u32).to_le_bytes());
    for c in &e.classes {
        b.extend((c.len() as u32).to_le_bytes());
        b.extend(c.as_bytes());
    }
    b.extend((e.rows.len() as u64).to_le_bytes());
    for (x, l, t) in &e.rows {
        b.extend(l.to_le_bytes());
        b.push(*t as u8);
        for v in x {
            b.extend(v.to_le_bytes());
        }
    }
    b
}

fn read_cache(b: &[u8]) -> Option<Encoded> {
    let mut p = 0;
    let mut take = |n: usize| {
        let s = b.get(p..p + n)?;
        p += n;
        Some(s)
    };
    if take(8)? != b"LNENC1\0\0" {
        return None;
    }
    let nc = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
    let mut classes = Vec::new();
    for _ in 0..nc {
        let l = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
        classes.push(String::from_utf8(take(l)?.to_vec()).ok()?);
    }
    let n = u64::from_le_bytes(take(8)?.try_into().ok()?) as usize;
    // Reserved only as far as the bytes left can hold rows: the count is the file's word.
    let mut rows = Vec::with_capacity(n.min(b.len() / (5 + ENCODING_DIM * 4)));
    for _ in 0..n {
        let l = u32::from_le_bytes(take(4)?.try_into().ok()?);
        let t = take(1)?[0] == 1;
        let x = legonet::le::f32s(take(ENCODING_DIM * 4)?);
        rows.push((x, l, t));
    }
    Some(Encoded { classes, rows })
}

/// One benchmark row (the JSON fields the issue lists, plus head and set).
#[derive(serde::Serialize, Clone)]
struct Row {
    set: String,
    /// Training photos per class (`all`: the k-fold); `None` for fashion-mnist sizes.
    shots: Option<String>,
    method: String,
    head: String,
    n: usize,
    k: usize,
    default: bool,
    n_train: usize,
    accuracy: f64,
    train_ms: f64,
    forget_ms_median: f64,
    forget_ms_p95: f64,
    forget10_ms_median: f64,
    samples_retrained_per_forget: f64,
    params_retrained_per_forget: f64,
    members_min: usize,
    members_median: usize,
    members_max: usize,
    /// LegoNet's member cap (`None`: no cap, or not LegoNet).
    member_cap: Option<usize>,
}

/// A method to build fresh for each run.
#[derive(Clone)]
enum Method {
    /// Fixed (n, k) (`None`: the capacity levels) and a member cap other than the default
    /// (`Some(None)`: no cap).
    LegoNet(Option<(usize, usize)>, Option<Option<usize>>),
    Retrain,
    FixSisa(usize),
    Knn(usize),
    Ncm,
}

struct Split<'a> {
    train: Vec<(String, &'a [f32], &'a str)>,
    test: Vec<(&'a [f32], &'a str)>,
}

struct Measured {
    accuracy: f64,
    train_ms: f64,
    forgets: Vec<f64>,
    forgets10: Vec<f64>,
    samples: Vec<f64>,
    params: Vec<f64>,
    members: Vec<usize>,
    structure: (usize, usize),
}

fn build(
    method: &Method,
    head: &HeadConfig,
    keys: &dyn Fn(usize) -> Result<KeySet>,
    seed: u64,
    classes: &[String],
) -> Result<Box<dyn Unlearner>> {
    Ok(match method {
        Method::LegoNet(fixed, cap) => {
            let mut cfg = LegoNetConfig::new().with_seed(seed).with_head(head.clone());
            if let Some((n, k)) = fixed {
                cfg = cfg.fixed(*n, *k);
            }
            if let Some(cap) = cap {
                cfg = cfg.with_member_cap(*cap);
            }
            let mut m = cfg.init(keys(cfg.structure(0).0)?)?;
            for c in classes {
                m.add_class(c)?;
            }
            Box::new(m)
        }
        Method::Retrain => Box::new(Sharded::retrain(head.clone(), ENCODING_DIM, seed)?),
        Method::FixSisa(s) => Box::new(Sharded::fixsisa(head.clone(), ENCODING_DIM, *s, seed)?),
        Method::Knn(k) => Box::new(Knn::new(*k, ENCODING_DIM)?),
        Method::Ncm => Box::new(Ncm::new(ENCODING_DIM)),
    })
}

fn measure(model: &mut dyn Unlearner, split: &Split, forgets: usize, rng: &mut ChaCha8Rng) -> Result<Measured> {
    for (id, x, l) in &split.train {
        model.add(id, x, l)?;
    }
    let t = std::time::Instant::now();
    model.train()?;
    let train_ms = t.elapsed().as_secs_f64() * 1e3;
    let members = model.members_per_adapter();
    let structure = model.structure();
    let ok = split.test.iter().filter(|(x, l)| model.predict(x).map(|p| p.label == *l).unwrap_or(false)).count();
    let accuracy = ok as f64 / split.test.len().max(1) as f64;
    // Random deletion order over the training ids; single deletions first, then 10-batches.
    let mut ids: Vec<&str> = split.train.iter().map(|t| t.0.as_str()).collect();
    shuffle(&mut ids, rng);
    let singles = forgets.min(ids.len().saturating_sub(1));
    let (mut f1, mut samples, mut params, mut f10) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for id in &ids[..singles] {
        let t = std::time::Instant::now();
        let r = model.forget(&[id])?;
        f1.push(t.elapsed().as_secs_f64() * 1e3);
        samples.push(r.samples_replayed as f64);
        params.push(r.params_retrained as f64);
    }
    for batch in ids[singles..].chunks(10).filter(|b| b.len() == 10).take(5) {
        let t = std::time::Instant::now();
        model.forget(batch)?;
        f10.push(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok(Measured { accuracy, train_ms, forgets: f1, forgets10: f10, samples, params, members, structure })
}

fn row(set: &str, shots: Option<String>, method: &Method, head: &str, n_train: usize, runs: Vec<Measured>) -> Row {
    let (n, k) = runs[0].structure;
    let (name, default) = match method {
        Method::LegoNet(fixed, cap) => ("legonet", fixed.is_none() && cap.is_none()),
        Method::Retrain => ("retrain", false),
        Method::FixSisa(_) => ("fixsisa", false),
        Method::Knn(_) => ("knn", false),
        Method::Ncm => ("ncm", false),
    };
    let r = runs.len() as f64;
    let mean = |f: &dyn Fn(&Measured) -> f64| runs.iter().map(f).sum::<f64>() / r;
    let mut f1: Vec<f64> = runs.iter().flat_map(|m| m.forgets.clone()).collect();
    let mut f10: Vec<f64> = runs.iter().flat_map(|m| m.forgets10.clone()).collect();
    let avg = |v: Vec<f64>| if v.is_empty() { 0.0 } else { v.iter().sum::<f64>() / v.len() as f64 };
    let mut members: Vec<usize> = runs[0].members.clone();
    members.sort_unstable();
    Row {
        set: set.into(),
        shots,
        method: name.into(),
        head: head.into(),
        n,
        k,
        default,
        n_train,
        accuracy: mean(&|m| m.accuracy),
        train_ms: mean(&|m| m.train_ms),
        forget_ms_median: quantile(&mut f1, 0.5),
        forget_ms_p95: quantile(&mut f1, 0.95),
        forget10_ms_median: quantile(&mut f10, 0.5),
        samples_retrained_per_forget: avg(runs.iter().flat_map(|m| m.samples.clone()).collect()),
        params_retrained_per_forget: avg(runs.iter().flat_map(|m| m.params.clone()).collect()),
        members_min: members.first().copied().unwrap_or(0),
        members_median: members.get(members.len().saturating_sub(1) / 2).copied().unwrap_or(0),
        members_max: members.last().copied().unwrap_or(0),
        member_cap: match method {
            Method::LegoNet(_, cap) => cap.unwrap_or(LegoNetConfig::new().member_cap),
            _ => None,
        },
    }
}

pub fn run(args: BenchArgs) -> Result<()> {
    let datasets = args.datasets.clone().unwrap_or_else(|| cache_dir().join("datasets"));
    let weights = read_weights(args.weights.as_deref())?;
    let encoder_id = weights.encoder_id().to_string();
    let (set, data) = match (&args.set, &args.images) {
        (Some(s), None) if s == "fashion-mnist-5k" => (s.clone(), encoded(s, || fashion(&datasets.join(s)), &weights)?),
        (Some(s), None) => (s.clone(), encoded(s, || photo_folder(&datasets.join(s).join("images")), &weights)?),
        (None, Some(dir)) => {
            let name =
                format!("images-{}", dir.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default());
            (name.clone(), encoded(&name, || photo_folder(dir), &weights)?)
        }
        _ => return Err(CliError::Usage("give --set NAME or --images DIR".into())),
    };
    let keys = |n: usize| Ok(weights.key_set(n, args.seed)?);
    if args.audit {
        return audit(&args, &set, &data, &keys);
    }
    let mut methods = Vec::new();
    for c in &args.configs {
        let usage = || CliError::Usage(format!("--configs entry {c:?} is not auto or n:k, with or without /C"));
        let (structure, cap) = match c.split_once('/') {
            Some((s, cap)) => {
                let cap: usize = cap.parse().map_err(|_| usage())?;
                (s, Some((cap != 0).then_some(cap)))
            }
            None => (c.as_str(), None),
        };
        let fixed = match structure {
            "auto" => None,
            s => Some(s.split_once(':').and_then(|(n, k)| Some((n.parse().ok()?, k.parse().ok()?))).ok_or_else(usage)?),
        };
        methods.push(Method::LegoNet(fixed, cap));
    }
    if !args.no_baselines {
        methods.extend([Method::Retrain, Method::FixSisa(args.shards), Method::Knn(args.knn_k), Method::Ncm]);
    }
    let mut ridge = HeadConfig::new();
    if let Some(l) = args.ridge_lambda {
        ridge = ridge.with_ridge_lambda(l);
    }
    let mut heads = vec![("ridge", ridge)];
    if args.softmax {
        heads.push(("softmax", HeadConfig::new().with_kind(HeadKind::Softmax)));
    }
    let label = |i: u32| data.classes[i as usize].as_str();
    let row_of = |i: usize| (format!("s{i:05}"), data.rows[i].0.as_slice(), label(data.rows[i].1));
    let shuffled = |mut v: Vec<usize>, seed: u64| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        shuffle(&mut v, &mut rng);
        v
    };
    let repeats = args.repeats.max(1) as u64;
    // Evaluation splits: fashion = first N of a seeded shuffle (one per repeat) vs the fixed test
    // set; photo folders = `shots` photos per class drawn per repeat (the rest tested), or the
    // stratified k-fold for `all`.
    let mut plans: Vec<(usize, Option<String>, Vec<Split>)> = Vec::new();
    if data.rows.iter().any(|r| r.2) {
        let train: Vec<usize> = (0..data.rows.len()).filter(|&i| !data.rows[i].2).collect();
        let test: Vec<_> = data.rows.iter().filter(|r| r.2).map(|r| (r.0.as_slice(), label(r.1))).collect();
        for &n in &args.sizes {
            let n = n.min(train.len());
            let splits = (0..repeats)
                .map(|r| {
                    let order = shuffled(train.clone(), args.seed + r);
                    Split { train: order[..n].iter().map(|&i| row_of(i)).collect(), test: test.clone() }
                })
                .collect();
            plans.push((n, None, splits));
        }
    } else {
        let by_class: Vec<Vec<usize>> = (0..data.classes.len() as u32)
            .map(|c| (0..data.rows.len()).filter(|&i| data.rows[i].1 == c).collect())
            .collect();
        for shots in &args.shots {
            let splits: Vec<Split> = if shots == "all" {
                let folds = args.folds.max(2);
                let mut fold_of = vec![0usize; data.rows.len()];
                for (c, idx) in by_class.iter().enumerate() {
                    for (j, &i) in shuffled(idx.clone(), args.seed ^ (c as u64) << 32).iter().enumerate() {
                        fold_of[i] = j % folds;
                    }
                }
                (0..folds)
                    .map(|f| Split {
                        train: (0..data.rows.len()).filter(|&i| fold_of[i] != f).map(row_of).collect(),
                        test: (0..data.rows.len())
                            .filter(|&i| fold_of[i] == f)
                            .map(|i| (data.rows[i].0.as_slice(), label(data.rows[i].1)))
                            .collect(),
                    })
                    .collect()
            } else {
                let k: usize = shots
                    .parse()
                    .map_err(|_| CliError::Usage(format!("--shots entry {shots:?} is not a number or all")))?;
                (0..repeats)
                    .map(|r| {
                        let mut split = Split { train: Vec::new(), test: Vec::new() };
                        for (c, idx) in by_class.iter().enumerate() {
                            let order = shuffled(idx.clone(), (args.seed + r) ^ (c as u64) << 32);
                            let k = k.min(order.len().saturating_sub(1));
                            split.train.extend(order[..k].iter().map(|&i| row_of(i)));
                            split
                                .test
                                .extend(order[k..].iter().map(|&i| (data.rows[i].0.as_slice(), label(data.rows[i].1))));
                        }
                        split
                    })
                    .collect()
            };
            let n = splits[0].train.len();
            plans.push((n, Some(shots.clone()), splits));
        }
    }
    let mut rows = Vec::new();
    for (n_train, shots, splits) in &plans {
        for (head_name, head) in &heads {
            for method in &methods {
                if matches!(method, Method::Knn(_) | Method::Ncm) && *head_name != "ridge" {
                    continue; // no head
                }
                let mut runs = Vec::new();
                for (f, split) in splits.iter().enumerate() {
                    let mut model = build(method, head, &keys, args.seed, &data.classes)?;
                    let mut rng = ChaCha8Rng::seed_from_u64(args.seed ^ (f as u64 + 1));
                    runs.push(measure(model.as_mut(), split, args.forgets, &mut rng)?);
                }
                let head_name = if matches!(method, Method::Knn(_) | Method::Ncm) { "-" } else { head_name };
                let r = row(&set, shots.clone(), method, head_name, *n_train, runs);
                eprintln!(
                    "{} n_train={} {}({},{}){} acc={:.4} train={:.1}ms forget={:.2}/{:.2}ms",
                    r.head,
                    r.n_train,
                    r.method,
                    r.n,
                    r.k,
                    if r.default { " default" } else { "" },
                    r.accuracy,
                    r.train_ms,
                    r.forget_ms_median,
                    r.forget_ms_p95
                );
                rows.push(r);
            }
        }
    }
    print_table(&rows);
    let json = serde_json::json!({
        "set": set,
        "encoder_id": encoder_id,
        "forgets_per_config": args.forgets,
        "folds": args.folds,
        "repeats": repeats,
        "rows": rows,
    });
    std::fs::write(&args.out, serde_json::to_string_pretty(&json).expect("serialisable"))?;
    let svg = args.out.with_extension("svg");
    std::fs::write(&svg, plot(&rows, &set))?;
    eprintln!("wrote {} and {}", args.out.display(), svg.display());
    Ok(())
}

/// `--audit`: the membership-inference audit of forgetting on one set (pool, forgotten part,
/// never-seen examples), its table on stdout, `--out` JSON and SVG.
fn audit(args: &BenchArgs, set: &str, data: &Encoded, keys: &dyn Fn(usize) -> Result<KeySet>) -> Result<()> {
    let item = |i: usize| (data.rows[i].0.as_slice(), data.rows[i].1 as usize);
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed ^ 0x5E7);
    let (pool, unseen): (Vec<usize>, Vec<usize>) = if data.rows.iter().any(|r| r.2) {
        let mut train: Vec<usize> = (0..data.rows.len()).filter(|&i| !data.rows[i].2).collect();
        shuffle(&mut train, &mut rng);
        train.truncate(args.audit_pool);
        (train, (0..data.rows.len()).filter(|&i| data.rows[i].2).collect())
    } else {
        let mut all: Vec<usize> = (0..data.rows.len()).collect();
        shuffle(&mut all, &mut rng);
        let cut = all.len() * 7 / 10;
        (all[..cut].to_vec(), all[cut..].to_vec())
    };
    if pool.len() < 2 {
        return Err(CliError::Usage(format!(
            "--audit needs at least 2 training examples in {set}, not {}",
            pool.len()
        )));
    }
    let plan = crate::membership::Plan {
        set: set.to_string(),
        classes: &data.classes,
        forget: ((pool.len() as f64 * args.audit_forget).round() as usize).clamp(1, pool.len() - 1),
        pool: pool.into_iter().map(item).collect(),
        unseen: unseen.into_iter().map(item).collect(),
    };
    let rows = crate::membership::run(&plan, keys, args.seed)?;
    crate::membership::print_table(&rows);
    let json = serde_json::json!({ "set": set, "seed": args.seed, "rows": rows });
    std::fs::write(&args.out, serde_json::to_string_pretty(&json).expect("serialisable"))?;
    let svg = args.out.with_extension("svg");
    std::fs::write(&svg, crate::membership::plot(&rows))?;
    eprintln!("wrote {} and {}", args.out.display(), svg.display());
    Ok(())
}

fn print_table(rows: &[Row]) {
    println!(
        "| method | head | n | k | cap | default | shots | N train | accuracy | train ms | forget ms (median / p95) | forget×10 ms | samples / forget | params / forget | members min/med/max |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.3} | {:.1} | {:.2} / {:.2} | {:.2} | {:.1} | {:.0} | {}/{}/{} |",
            r.method,
            r.head,
            r.n,
            r.k,
            r.member_cap.map_or("-".to_string(), |c| c.to_string()),
            if r.default { "yes" } else { "" },
            r.shots.as_deref().unwrap_or("-"),
            r.n_train,
            r.accuracy,
            r.train_ms,
            r.forget_ms_median,
            r.forget_ms_p95,
            r.forget10_ms_median,
            r.samples_retrained_per_forget,
            r.params_retrained_per_forget,
            r.members_min,
            r.members_median,
            r.members_max
        );
    }
}

/// Two panels against the training-set size (log x): accuracy, and single-sample forget p95
/// (log y); one line per method (fixed LegoNet structures by n:k).
fn plot(rows: &[Row], set: &str) -> String {
    let name = |r: &Row| match (r.method.as_str(), r.default) {
        ("legonet", true) => "legonet (default)".to_string(),
        ("legonet", false) => match r.member_cap {
            Some(c) => format!("legonet {}:{}/{c}", r.n, r.k),
            None => format!("legonet {}:{}", r.n, r.k),
        },
        (m, _) => m.to_string(),
    };
    let mut series: Vec<(String, Vec<&Row>)> = Vec::new();
    for r in rows.iter().filter(|r| r.head != "softmax") {
        match series.iter_mut().find(|s| s.0 == name(r)) {
            Some(s) => s.1.push(r),
            None => series.push((name(r), vec![r])),
        }
    }
    let colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"];
    let (pw, ph, m) = (420.0, 300.0, 55.0);
    let lx = |v: f64| v.max(1.0).log10();
    let ly = |v: f64| v.max(1e-2).log10();
    let (xmin, xmax) =
        rows.iter().fold((f64::MAX, f64::MIN), |a, r| (a.0.min(lx(r.n_train as f64)), a.1.max(lx(r.n_train as f64))));
    let (xmin, xmax) = (xmin, xmax.max(xmin + 0.1));
    let (amin, amax) = rows.iter().fold((1.0f64, 0.0f64), |a, r| (a.0.min(r.accuracy), a.1.max(r.accuracy)));
    let (amin, amax) = ((amin - 0.02).max(0.0), (amax + 0.02).min(1.0));
    let (fmin, fmax) =
        rows.iter().fold((f64::MAX, f64::MIN), |a, r| (a.0.min(ly(r.forget_ms_p95)), a.1.max(ly(r.forget_ms_p95))));
    let (fmin, fmax) = (fmin.floor(), fmax.ceil().max(fmin.floor() + 1.0));
    let px = |panel: f64, v: f64| panel * (pw + m) + m + (lx(v) - xmin) / (xmax - xmin) * (pw - m);
    let pa = |v: f64| ph - m + 20.0 - (v - amin) / (amax - amin).max(1e-9) * (ph - m - 10.0);
    let pf = |v: f64| ph - m + 20.0 - (ly(v) - fmin) / (fmax - fmin) * (ph - m - 10.0);
    let w = 2.0 * (pw + m) + 170.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{ph}\" font-family=\"sans-serif\" font-size=\"11\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"16\" text-anchor=\"middle\" font-size=\"13\">{set}: accuracy (left) and single-sample forget p95 in ms (right, log) vs training photos (log)</text>\n",
        w / 2.0
    );
    for panel in [0.0, 1.0] {
        let x0 = panel * (pw + m) + m;
        s += &format!(
            "<line x1=\"{x0}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/><line x1=\"{x0}\" y1=\"30\" x2=\"{x0}\" y2=\"{}\" stroke=\"black\"/>\n",
            ph - m + 20.0,
            x0 + pw - m,
            ph - m + 20.0,
            ph - m + 20.0
        );
        let mut ns: Vec<usize> = rows.iter().map(|r| r.n_train).collect();
        ns.sort_unstable();
        ns.dedup();
        for n in ns {
            s += &format!(
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{n}</text>\n",
                px(panel, n as f64),
                ph - m + 34.0
            );
        }
    }
    for i in 0..=4 {
        let v = amin + (amax - amin) * i as f64 / 4.0;
        s += &format!("<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{v:.2}</text>\n", m - 4.0, pa(v) + 4.0);
    }
    for e in (fmin as i32)..=(fmax as i32) {
        s += &format!(
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n",
            pw + 2.0 * m - 4.0,
            pf(10f64.powi(e)) + 4.0,
            10f64.powi(e)
        );
    }
    for (i, (label, pts)) in series.iter().enumerate() {
        let c = colours[i % colours.len()];
        let mut pts = pts.clone();
        pts.sort_by_key(|r| r.n_train);
        let line = |f: &dyn Fn(&Row) -> (f64, f64)| {
            pts.iter()
                .map(|r| {
                    let (x, y) = f(r);
                    format!("{x:.1},{y:.1}")
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        let width = if label.contains("default") { 3 } else { 1 };
        s += &format!(
            "<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"{width}\" points=\"{}\"/>\n",
            line(&|r| (px(0.0, r.n_train as f64), pa(r.accuracy)))
        );
        if label != "knn" {
            s += &format!(
                "<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"{width}\" points=\"{}\"/>\n",
                line(&|r| (px(1.0, r.n_train as f64), pf(r.forget_ms_p95)))
            );
        }
        s += &format!(
            "<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{c}\"/><text x=\"{}\" y=\"{}\">{label}</text>\n",
            w - 160.0,
            40.0 + 16.0 * i as f64,
            w - 145.0,
            49.0 + 16.0 * i as f64
        );
    }
    s + "</svg>\n"
}
