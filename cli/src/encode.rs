//! `legonet encode` and `legonet bench-encoder`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use legonet::encoder::default_weights_path;
use legonet::preprocess::{INPUT_LEN, rgb_to_input, validate_input};
use legonet::{BackendKind, Encoder, Error, WeightFile, imagenet};

use crate::error::{CliError, Result};
use crate::stats::quantile;

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
    backend: BackendKind,
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
    Ok(WeightFile::parse(bytes)?)
}

fn load_encoder(weights: Option<&Path>, backend: BackendKind) -> Result<(Encoder, String)> {
    let weights = read_weights(weights)?;
    let (device, description) = backend.init()?;
    Ok((Encoder::for_backend(&weights, backend, &device)?, description))
}

/// Reads, decodes and preprocesses a photo file (a bad one is an `INVALID_IMAGE` error).
pub fn read_photo(path: &Path) -> Result<Vec<f32>> {
    let bytes = std::fs::read(path).map_err(|e| Error::InvalidImage(format!("{}: {e}", path.display())))?;
    Ok(decode_photo(&bytes).map_err(|e| Error::InvalidImage(format!("{}: {e}", path.display())))?)
}

/// Decodes and preprocesses a photo's bytes. The size a header declares is checked before any
/// pixel is decoded (with the browser path's limits), so a tiny file claiming to be 10⁵×10⁵
/// allocates nothing.
fn decode_photo(bytes: &[u8]) -> std::result::Result<Vec<f32>, String> {
    use legonet::preprocess::{MAX_SIDE, validate_size};
    let reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| format!("not a readable image ({e})"))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_SIDE as u64 * MAX_SIDE as u64 * 4);
    let mut decoder = reader.into_decoder().map_err(|e| format!("not a readable image ({e})"))?;
    let (w, h) = image::ImageDecoder::dimensions(&decoder);
    validate_size(w, h).map_err(|e| e.to_string())?;
    image::ImageDecoder::set_limits(&mut decoder, limits).map_err(|e| format!("not accepted ({e})"))?;
    let img = image::DynamicImage::from_decoder(decoder).map_err(|e| format!("not a readable image ({e})"))?;
    Ok(rgb_to_input(&img.to_rgb8()))
}

fn read_input_f32(path: &Path) -> Result<Vec<f32>> {
    let bytes = std::fs::read(path).map_err(CliError::file(path))?;
    if bytes.len() != INPUT_LEN * 4 {
        return Err(CliError::Usage(format!(
            "{}: {} bytes, a [1,3,224,224] f32 tensor has {}",
            path.display(),
            bytes.len(),
            INPUT_LEN * 4
        )));
    }
    let x = legonet::le::f32s(&bytes);
    validate_input(&x).map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
    Ok(x)
}

pub fn run(args: EncodeArgs) -> Result<()> {
    if args.photos.is_empty() && args.input_f32.is_empty() {
        return Err(CliError::Usage("nothing to encode: give photos or --input-f32 FILE".into()));
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
    backends: Vec<BackendKind>,
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
            Err(e) if backend == BackendKind::Wgpu => {
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
            let mut times: Vec<f64> = (0..args.reps.max(1))
                .map(|_| {
                    let t = Instant::now();
                    encoder.encode_blocking(&input).map(|_| t.elapsed().as_secs_f64() * 1e3 / batch as f64)
                })
                .collect::<legonet::Result<_>>()?;
            per_image.push(quantile(&mut times, 0.5));
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

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use image::{ImageFormat, RgbImage};
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::decode_photo;

    fn encoded(w: u32, h: u32, format: ImageFormat) -> Vec<u8> {
        let img = RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 7) as u8, (y * 5) as u8, ((x ^ y) * 3) as u8]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in bytes {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 == 1 { (c >> 1) ^ 0xEDB8_8320 } else { c >> 1 };
            }
        }
        !c
    }

    /// A PNG whose header (valid CRC) declares `w`×`h` and whose data is one tiny chunk.
    fn png_declaring(w: u32, h: u32) -> Vec<u8> {
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut chunk = |kind: &[u8], data: &[u8]| {
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            let mut body = kind.to_vec();
            body.extend_from_slice(data);
            out.extend_from_slice(&body);
            out.extend_from_slice(&crc32(&body).to_be_bytes());
        };
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&w.to_be_bytes());
        ihdr.extend_from_slice(&h.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        chunk(b"IHDR", &ihdr);
        chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
        chunk(b"IEND", &[]);
        out
    }

    #[test]
    fn odd_sizes_and_huge_headers_are_refused_before_decoding() {
        assert!(decode_photo(&encoded(64, 48, ImageFormat::Png)).is_ok());
        for (w, h) in [(1, 500), (500, 1), (15, 200), (16, 2000), (2000, 16)] {
            let e = decode_photo(&encoded(w, h, ImageFormat::Png)).unwrap_err();
            assert!(e.contains(&format!("{w}×{h}")), "{w}×{h}: {e}");
        }
        // Declared sizes the PNG format allows are refused by the size check, the rest by the parser.
        for (w, h) in [(100_000, 100_000), (16_385, 300), (40_000, 1)] {
            let e = decode_photo(&png_declaring(w, h)).unwrap_err();
            assert!(e.contains(&format!("{w}×{h}")), "{w}×{h}: {e}");
        }
        assert!(decode_photo(&png_declaring(u32::MAX, u32::MAX)).is_err());
    }

    #[test]
    fn random_and_mutated_bytes_never_panic() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let valid =
            [encoded(40, 30, ImageFormat::Png), encoded(40, 30, ImageFormat::Jpeg), encoded(40, 30, ImageFormat::WebP)];
        let (mut refused, mut decoded) = (0, 0);
        for case in 0..3000 {
            let bytes: Vec<u8> = match case % 3 {
                0 => (0..rng.random_range(0..300)).map(|_| rng.random()).collect(),
                _ => {
                    let mut b = valid[case % valid.len()].clone();
                    for _ in 0..rng.random_range(1..8) {
                        let at = rng.random_range(0..b.len());
                        b[at] = rng.random();
                    }
                    if rng.random_bool(0.2) {
                        b.truncate(rng.random_range(0..b.len()));
                    }
                    b
                }
            };
            match std::panic::catch_unwind(|| decode_photo(&bytes)) {
                Ok(Ok(_)) => decoded += 1,
                Ok(Err(_)) => refused += 1,
                Err(_) => panic!("case {case}: the decoder panicked on {} bytes", bytes.len()),
            }
        }
        eprintln!("image fuzz (CLI): 3000 cases, {refused} refused with INVALID_IMAGE, {decoded} still decodable");
        assert!(refused > 1000);
    }
}
