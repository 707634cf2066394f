//! `legonet encode` and `legonet bench-encoder`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use legonet::encoder::default_weights_path;
use legonet::preprocess::{INPUT_LEN, rgb_to_input, validate_input};
use legonet::{Backend, Encoder, Error, Result, WeightFile, imagenet};

#[derive(Args)]
pub struct EncodeArgs {
    /// Photos to encode (PNG, JPEG, WebP).
    photos: Vec<PathBuf>,
    /// A raw preprocessed input instead of a photo: [1,3,224,224] f32 little-endian (repeatable).
    #[arg(long = "input-f32", value_name = "FILE")]
    input_f32: Vec<PathBuf>,
    /// Write the 1280-d f32 little-endian embedding(s) here, one after another in input order.
    #[arg(long = "embedding-out", value_name = "FILE")]
    embedding_out: Option<PathBuf>,
    /// Print one JSON object per input instead of a table.
    #[arg(long)]
    json: bool,
    /// Converted weights (default: where set-up put them, or $LEGONET_WEIGHTS).
    #[arg(long, value_name = "FILE")]
    weights: Option<PathBuf>,
    /// Compute backend: cpu (fused kernels), flex, ndarray or wgpu.
    #[arg(long, default_value = "cpu")]
    backend: Backend,
}

/// Reads and parses the converted weights (`--weights`, else where set-up put them).
pub fn read_weights(weights: Option<&Path>) -> Result<WeightFile> {
    let path = weights.map(Path::to_path_buf).unwrap_or_else(default_weights_path);
    let bytes = std::fs::read(&path).map_err(|e| {
        Error::InvalidWeights(format!(
            "cannot read {} ({e}); run the README's set-up or pass --weights",
            path.display()
        ))
    })?;
    WeightFile::parse(bytes)
}

fn load_encoder(weights: Option<&Path>, backend: Backend) -> Result<(Encoder, String)> {
    let weights = read_weights(weights)?;
    let (device, description) = backend.init()?;
    Ok((Encoder::for_backend(&weights, backend, &device)?, description))
}

fn read_photo(path: &Path) -> Result<Vec<f32>> {
    let bytes = std::fs::read(path).map_err(|e| Error::InvalidImage(format!("{}: {e}", path.display())))?;
    let img = image::load_from_memory(&bytes)
        .map_err(|e| Error::InvalidImage(format!("{}: not a readable image ({e})", path.display())))?;
    let rgb = img.to_rgb8();
    // Same geometry checks as the RGBA path the browser uses.
    legonet::preprocess::validate_rgba(&vec![0; rgb.len() / 3 * 4], rgb.width(), rgb.height())
        .map_err(|e| Error::InvalidImage(format!("{}: {e}", path.display())))?;
    Ok(rgb_to_input(&rgb))
}

fn read_input_f32(path: &Path) -> Result<Vec<f32>> {
    let bytes = std::fs::read(path).map_err(|e| Error::InvalidInput(format!("{}: {e}", path.display())))?;
    if bytes.len() != INPUT_LEN * 4 {
        return Err(Error::InvalidInput(format!(
            "{}: {} bytes, a [1,3,224,224] f32 tensor has {}",
            path.display(),
            bytes.len(),
            INPUT_LEN * 4
        )));
    }
    let x: Vec<f32> = bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    validate_input(&x).map_err(|e| Error::InvalidInput(format!("{}: {e}", path.display())))?;
    Ok(x)
}

pub fn run(args: EncodeArgs) -> Result<()> {
    if args.photos.is_empty() && args.input_f32.is_empty() {
        return Err(Error::InvalidInput("nothing to encode: give photos or --input-f32 FILE".into()));
    }
    // Read and validate every input before loading the model: bad input fails fast.
    let mut inputs = Vec::new();
    for p in &args.photos {
        inputs.push((p.display().to_string(), read_photo(p)?));
    }
    for p in &args.input_f32 {
        inputs.push((p.display().to_string(), read_input_f32(p)?));
    }
    let (encoder, _) = load_encoder(args.weights.as_deref(), args.backend)?;
    let mut embeddings = Vec::new();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for (name, x) in &inputs {
        let o = encoder.encode_blocking(x)?;
        let top5 = imagenet::top_k(o.logits(0), 5);
        if args.json {
            let line = serde_json::json!({ "input": name, "top5": top5 });
            writeln!(out, "{line}")?;
        } else {
            writeln!(out, "{name}")?;
            for p in &top5 {
                writeln!(out, "  {:>4}  {:<28} {:.4}", p.index, p.label, p.probability)?;
            }
        }
        embeddings.extend_from_slice(o.encoding(0));
    }
    if let Some(path) = &args.embedding_out {
        let bytes: Vec<u8> = embeddings.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(path, bytes)?;
    }
    Ok(())
}

#[derive(Args)]
pub struct BenchEncoderArgs {
    /// Backends to measure, comma-separated (wgpu is skipped with a note when no adapter exists).
    #[arg(long, value_delimiter = ',', default_value = "cpu,flex,ndarray,wgpu")]
    backends: Vec<Backend>,
    /// Timed repetitions per batch size (after one warm-up run).
    #[arg(long, default_value_t = 5)]
    reps: usize,
    /// Converted weights (default: where set-up put them).
    #[arg(long, value_name = "FILE")]
    weights: Option<PathBuf>,
    /// Write the figures as JSON here too.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub fn bench(args: BenchEncoderArgs) -> Result<()> {
    // A real photo, replicated: content does not change the cost, but stays honest.
    let shared = std::env::var_os("LEGONET_SHARED").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("../shared"));
    let photo = shared.join("encoder-reference/fixtures/chelsea.png");
    let x = read_photo(&photo)?;
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!(
        "encoder benchmark: EfficientNet-Lite0, {threads} threads available, median of {} runs after 1 warm-up",
        args.reps
    );
    println!("| backend | device | batch 1 ms/image | batch 8 ms/image | load ms |");
    println!("|---|---|---|---|---|");
    let mut rows = Vec::new();
    for backend in args.backends {
        let t0 = Instant::now();
        let (encoder, description) = match load_encoder(args.weights.as_deref(), backend) {
            Ok(e) => e,
            Err(e) if backend == Backend::Wgpu => {
                println!("| wgpu | not measured: {e} | | | |");
                continue;
            }
            Err(e) => return Err(e),
        };
        let load_ms = t0.elapsed().as_secs_f64() * 1e3;
        let mut per_image = Vec::new();
        for batch in [1usize, 8] {
            let input: Vec<f32> = x.iter().copied().cycle().take(batch * INPUT_LEN).collect();
            encoder.encode_blocking(&input)?;
            let times: Vec<f64> = (0..args.reps.max(1))
                .map(|_| {
                    let t = Instant::now();
                    encoder.encode_blocking(&input).map(|_| t.elapsed().as_secs_f64() * 1e3 / batch as f64)
                })
                .collect::<Result<_>>()?;
            per_image.push(median(times));
        }
        println!("| {backend} | {description} | {:.1} | {:.1} | {load_ms:.0} |", per_image[0], per_image[1]);
        rows.push(serde_json::json!({
            "backend": backend, "device": description, "threads": threads,
            "batch1_ms_per_image": per_image[0], "batch8_ms_per_image": per_image[1], "load_ms": load_ms,
        }));
    }
    if let Some(path) = args.out {
        std::fs::write(path, serde_json::to_string_pretty(&serde_json::json!({ "native": rows })).unwrap())?;
    }
    Ok(())
}
