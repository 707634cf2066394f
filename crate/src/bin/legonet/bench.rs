//! `legonet bench`: LegoNet at several (n, k) against Retrain, FixSISA and KNN on real images.
//!
//! Images are encoded once through the frozen encoder and cached under
//! `~/.cache/legonet/encodings/<set>-<encoder id>.bin`; every run after that trains from the
//! cache. Prints a markdown table and writes `--out FILE.json` plus `FILE.svg` (accuracy vs
//! single-sample forget latency).

use std::path::{Path, PathBuf};

use clap::Args;
use legonet::encoder::default_weights_path;
use legonet::preprocess::rgb_to_input;
use legonet::{
    Encoder, Error, HeadConfig, HeadKind, KeySet, Knn, LegoNetConfig, Result,
    Sharded, Unlearner, WeightFile, ENCODING_DIM,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Args)]
pub struct BenchArgs {
    /// A prepared set from ../shared/datasets: fashion-mnist-5k or gcompris-photos.
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
    /// Folds for photo folders (stratified).
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Random single-sample deletions timed per configuration (and per fold).
    #[arg(long, default_value_t = 50)]
    forgets: usize,
    /// LegoNet (n, k) pairs as n:k, comma-separated; the first is the default configuration.
    #[arg(long, value_delimiter = ',', default_value = "32:3,16:2,32:2,64:3,128:4,32:1")]
    configs: Vec<String>,
    /// Also run every method with the burn-autodiff softmax head (slower).
    #[arg(long)]
    softmax: bool,
    /// Ridge penalty of the adapter heads (all methods).
    #[arg(long)]
    ridge_lambda: Option<f64>,
    /// Skip Retrain, FixSISA and KNN (for LegoNet parameter sweeps).
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
}

/// Encoded data: class names and (encoding, class index, is_test) rows.
struct Encoded {
    classes: Vec<String>,
    rows: Vec<(Vec<f32>, u32, bool)>,
}

fn home() -> PathBuf {
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."))
}

fn io(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::InvalidInput(format!("{}: {e}", path.display()))
}

/// Images to encode: (RGB image, class index, is_test). Test split is only known for
/// fashion-mnist; photo folders are split later by k-fold.
type Source = (Vec<String>, Vec<(image::RgbImage, u32, bool)>);

fn fashion(dir: &Path) -> Result<Source> {
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("manifest.json")).map_err(|e| io(dir, e))?,
    )
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

fn load_weights(args: &BenchArgs) -> Result<WeightFile> {
    let path = args.weights.clone().unwrap_or_else(default_weights_path);
    let bytes = std::fs::read(&path).map_err(|e| {
        Error::InvalidWeights(format!("cannot read {} ({e}); run the README's set-up or pass --weights", path.display()))
    })?;
    WeightFile::parse(bytes)
}

/// Encodes through the frozen encoder, or reads the cache written by an earlier run.
fn encoded(name: &str, source: impl FnOnce() -> Result<Source>, weights: &WeightFile) -> Result<Encoded> {
    let dir = home().join(".cache/legonet/encodings");
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
    let mut rows = Vec::with_capacity(n);
    for _ in 0..n {
        let l = u32::from_le_bytes(take(4)?.try_into().ok()?);
        let t = take(1)?[0] == 1;
        let x = take(ENCODING_DIM * 4)?.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
        rows.push((x, l, t));
    }
    Some(Encoded { classes, rows })
}

/// One benchmark row (the JSON fields the issue lists, plus head and set).
#[derive(serde::Serialize, Clone)]
struct Row {
    set: String,
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
}

/// A method to build fresh for each run.
#[derive(Clone)]
enum Method {
    LegoNet { n: usize, k: usize, default: bool },
    Retrain,
    FixSisa(usize),
    Knn(usize),
}

struct Split<'a> {
    train: Vec<(String, &'a [f32], &'a str)>,
    test: Vec<(&'a [f32], &'a str)>,
}

fn quantile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

struct Measured {
    accuracy: f64,
    train_ms: f64,
    forgets: Vec<f64>,
    forgets10: Vec<f64>,
    samples: Vec<f64>,
    params: Vec<f64>,
    members: Vec<usize>,
}

fn build(method: &Method, head: &HeadConfig, keys: &dyn Fn(usize) -> Result<KeySet>, encoder_id: &str, seed: u64, classes: &[String]) -> Result<Box<dyn Unlearner>> {
    Ok(match method {
        Method::LegoNet { n, k, .. } => {
            let cfg = LegoNetConfig::new().with_n_adapters(*n).with_k(*k).with_seed(seed).with_head(head.clone());
            let mut m = cfg.init(keys(*n)?, encoder_id)?;
            for c in classes {
                m.add_class(c)?;
            }
            Box::new(m)
        }
        Method::Retrain => Box::new(Sharded::retrain(head.clone(), ENCODING_DIM, seed)?),
        Method::FixSisa(s) => Box::new(Sharded::fixsisa(head.clone(), ENCODING_DIM, *s, seed)?),
        Method::Knn(k) => Box::new(Knn::new(*k, ENCODING_DIM)?),
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
    let ok = split.test.iter().filter(|(x, l)| model.predict(x).map(|p| p.label == *l).unwrap_or(false)).count();
    let accuracy = ok as f64 / split.test.len().max(1) as f64;
    // Random deletion order over the training ids; single deletions first, then 10-batches.
    let mut ids: Vec<&str> = split.train.iter().map(|t| t.0.as_str()).collect();
    for i in (1..ids.len()).rev() {
        ids.swap(i, rng.random_range(0..=i));
    }
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
    Ok(Measured { accuracy, train_ms, forgets: f1, forgets10: f10, samples, params, members })
}

fn row(set: &str, method: &Method, head: &str, n_train: usize, runs: Vec<Measured>) -> Row {
    let (name, n, k, default) = match method {
        Method::LegoNet { n, k, default } => ("legonet", *n, *k, *default),
        Method::Retrain => ("retrain", 1, 1, false),
        Method::FixSisa(s) => ("fixsisa", *s, 1, false),
        Method::Knn(k) => ("knn", 0, *k, false),
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
    }
}

pub fn run(args: BenchArgs) -> Result<()> {
    let datasets = args.datasets.clone().unwrap_or_else(|| home().join(".cache/legonet/datasets"));
    let weights = load_weights(&args)?;
    let encoder_id = weights.encoder_id().to_string();
    let (set, data) = match (&args.set, &args.images) {
        (Some(s), None) if s == "fashion-mnist-5k" => (s.clone(), encoded(s, || fashion(&datasets.join(s)), &weights)?),
        (Some(s), None) if s == "gcompris-photos" => {
            (s.clone(), encoded(s, || photo_folder(&datasets.join(s).join("images")), &weights)?)
        }
        (None, Some(dir)) => {
            let name = format!("images-{}", dir.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default());
            (name.clone(), encoded(&name, || photo_folder(dir), &weights)?)
        }
        _ => {
            return Err(Error::InvalidInput(
                "give --set fashion-mnist-5k|gcompris-photos or --images DIR".into(),
            ))
        }
    };
    let keys = |n: usize| KeySet::from_weights(&weights, n, args.seed);
    let mut methods = Vec::new();
    for (i, c) in args.configs.iter().enumerate() {
        let (n, k) = c
            .split_once(':')
            .and_then(|(n, k)| Some((n.parse().ok()?, k.parse().ok()?)))
            .ok_or_else(|| Error::InvalidInput(format!("--configs entry {c:?} is not n:k")))?;
        methods.push(Method::LegoNet { n, k, default: i == 0 });
    }
    if !args.no_baselines {
        methods.extend([Method::Retrain, Method::FixSisa(args.shards), Method::Knn(args.knn_k)]);
    }
    let mut ridge = HeadConfig::new();
    if let Some(l) = args.ridge_lambda {
        ridge = ridge.with_ridge_lambda(l);
    }
    let mut heads = vec![("ridge", ridge)];
    if args.softmax {
        heads.push(("softmax", HeadConfig::new().with_kind(HeadKind::Softmax)));
    }
    // Build the evaluation splits: fashion = first N of a seeded class-balanced shuffle vs the
    // fixed test set; photo folders = stratified k-fold.
    let label = |i: u32| data.classes[i as usize].as_str();
    let mut plans: Vec<(usize, Vec<Split>)> = Vec::new();
    if data.rows.iter().any(|r| r.2) {
        let mut train: Vec<usize> = (0..data.rows.len()).filter(|&i| !data.rows[i].2).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
        for i in (1..train.len()).rev() {
            train.swap(i, rng.random_range(0..=i));
        }
        let test: Vec<_> = data.rows.iter().filter(|r| r.2).map(|r| (r.0.as_slice(), label(r.1))).collect();
        for &n in &args.sizes {
            let n = n.min(train.len());
            let tr = train[..n].iter().map(|&i| (format!("s{i:05}"), data.rows[i].0.as_slice(), label(data.rows[i].1))).collect();
            plans.push((n, vec![Split { train: tr, test: test.clone() }]));
        }
    } else {
        let folds = args.folds.max(2);
        let mut fold_of = vec![0usize; data.rows.len()];
        let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
        for c in 0..data.classes.len() as u32 {
            let mut idx: Vec<usize> = (0..data.rows.len()).filter(|&i| data.rows[i].1 == c).collect();
            for i in (1..idx.len()).rev() {
                idx.swap(i, rng.random_range(0..=i));
            }
            for (j, &i) in idx.iter().enumerate() {
                fold_of[i] = j % folds;
            }
        }
        let splits: Vec<Split> = (0..folds)
            .map(|f| Split {
                train: (0..data.rows.len())
                    .filter(|&i| fold_of[i] != f)
                    .map(|i| (format!("s{i:05}"), data.rows[i].0.as_slice(), label(data.rows[i].1)))
                    .collect(),
                test: (0..data.rows.len())
                    .filter(|&i| fold_of[i] == f)
                    .map(|i| (data.rows[i].0.as_slice(), label(data.rows[i].1)))
                    .collect(),
            })
            .collect();
        let n = splits[0].train.len();
        plans.push((n, splits));
    }
    let mut rows = Vec::new();
    for (n_train, splits) in &plans {
        for (head_name, head) in &heads {
            for method in &methods {
                if matches!(method, Method::Knn(_)) && *head_name != "ridge" {
                    continue; // KNN has no head
                }
                let mut runs = Vec::new();
                for (f, split) in splits.iter().enumerate() {
                    let mut model = build(method, head, &keys, &encoder_id, args.seed, &data.classes)?;
                    let mut rng = ChaCha8Rng::seed_from_u64(args.seed ^ (f as u64 + 1));
                    runs.push(measure(model.as_mut(), split, args.forgets, &mut rng)?);
                }
                let r = row(&set, method, if matches!(method, Method::Knn(_)) { "-" } else { head_name }, *n_train, runs);
                eprintln!(
                    "{} n_train={} {}({},{}) acc={:.4} train={:.1}ms forget={:.2}ms",
                    r.head, r.n_train, r.method, r.n, r.k, r.accuracy, r.train_ms, r.forget_ms_median
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
        "folds": if plans.len() == 1 && plans[0].1.len() > 1 { args.folds } else { 1 },
        "rows": rows,
    });
    std::fs::write(&args.out, serde_json::to_string_pretty(&json).expect("serialisable"))?;
    let svg = args.out.with_extension("svg");
    std::fs::write(&svg, plot(&rows, &set))?;
    eprintln!("wrote {} and {}", args.out.display(), svg.display());
    Ok(())
}

fn print_table(rows: &[Row]) {
    println!("| method | head | n | k | default | N train | accuracy | train ms | forget ms (median / p95) | forget×10 ms | samples / forget | params / forget | members min/med/max |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {:.3} | {:.1} | {:.2} / {:.2} | {:.2} | {:.1} | {:.0} | {}/{}/{} |",
            r.method, r.head, r.n, r.k, if r.default { "yes" } else { "" }, r.n_train, r.accuracy, r.train_ms,
            r.forget_ms_median, r.forget_ms_p95, r.forget10_ms_median, r.samples_retrained_per_forget,
            r.params_retrained_per_forget, r.members_min, r.members_median, r.members_max
        );
    }
}

/// Accuracy vs single-sample forget latency (log x), one point per row at the training size
/// closest to 2,000.
fn plot(rows: &[Row], set: &str) -> String {
    let target = rows.iter().map(|r| r.n_train).min_by_key(|&n| n.abs_diff(2000)).unwrap_or(0);
    let pts: Vec<&Row> = rows.iter().filter(|r| r.n_train == target).collect();
    let (w, h, m) = (720.0, 440.0, 60.0);
    let lx = |v: f64| v.max(1e-3).log10();
    let (xmin, xmax) = pts.iter().fold((f64::MAX, f64::MIN), |a, r| (a.0.min(lx(r.forget_ms_median)), a.1.max(lx(r.forget_ms_median))));
    let (ymin, ymax) = pts.iter().fold((f64::MAX, f64::MIN), |a, r| (a.0.min(r.accuracy), a.1.max(r.accuracy)));
    let (xmin, xmax) = (xmin.floor(), xmax.ceil().max(xmin.floor() + 1.0));
    let (ymin, ymax) = ((ymin - 0.02).max(0.0), (ymax + 0.02).min(1.0));
    let px = |v: f64| m + (lx(v) - xmin) / (xmax - xmin) * (w - 2.0 * m);
    let py = |v: f64| h - m - (v - ymin) / (ymax - ymin).max(1e-9) * (h - 2.0 * m);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"11\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">{set}, N train = {target}: accuracy vs single-sample forget latency</text>\n\
         <line x1=\"{m}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/><line x1=\"{m}\" y1=\"{m}\" x2=\"{m}\" y2=\"{}\" stroke=\"black\"/>\n\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">forget latency, median ms (log scale)</text>\n\
         <text x=\"15\" y=\"{}\" transform=\"rotate(-90 15 {})\" text-anchor=\"middle\">test accuracy</text>\n",
        w / 2.0, h - m, w - m, h - m, h - m, w / 2.0, h - 15.0, h / 2.0, h / 2.0
    );
    for e in (xmin as i32)..=(xmax as i32) {
        let x = m + (e as f64 - xmin) / (xmax - xmin) * (w - 2.0 * m);
        s += &format!("<text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", h - m + 15.0, 10f64.powi(e));
    }
    for i in 0..=4 {
        let v = ymin + (ymax - ymin) * i as f64 / 4.0;
        s += &format!("<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{v:.3}</text>\n", m - 5.0, py(v) + 4.0);
    }
    for r in pts {
        let colour = match r.method.as_str() {
            "legonet" => "#1f77b4",
            "retrain" => "#d62728",
            "fixsisa" => "#2ca02c",
            _ => "#9467bd",
        };
        let (x, y) = (px(r.forget_ms_median), py(r.accuracy));
        let name = if r.method == "legonet" { format!("legonet {}:{} {}", r.n, r.k, r.head) } else { format!("{} {}", r.method, r.head) };
        s += &format!(
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{}\" fill=\"{colour}\"/><text x=\"{:.1}\" y=\"{:.1}\">{name}</text>\n",
            if r.default { 6 } else { 4 },
            x + 7.0,
            y - 5.0
        );
    }
    s + "</svg>\n"
}
