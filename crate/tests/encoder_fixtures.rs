//! The Rust encoder against the shared numpy oracle (`../shared/encoder-reference/fixtures`):
//! from the fixture input, cosine ≥ 0.999 and the same top-5 order; from the PNG through the
//! Rust preprocessing, cosine ≥ 0.995 and the same top-5 set. Prints max-abs-diff. The f32
//! weights on every CPU backend; the f16 copy the package ships by default on the CPU kernels
//! (the browser's default backend) under the same bounds.
//!
//! Needs the converted weights, f32 and f16 (set-up writes them; `LEGONET_WEIGHTS` and
//! `LEGONET_WEIGHTS_F16` override) and the shared folder (`LEGONET_SHARED`, default
//! `<repo>/../shared`). Any of them missing is a failure, not a skip.

use std::path::PathBuf;

use legonet::encoder::{default_weights_path, f16_weights_path};
use legonet::preprocess::{INPUT_LEN, rgb_to_input};
use legonet::{BackendKind, Encoder, imagenet};

fn shared_dir() -> PathBuf {
    std::env::var_os("LEGONET_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
}

fn fixtures_dir() -> PathBuf {
    let dir = shared_dir().join("encoder-reference/fixtures");
    assert!(dir.join("fixtures.json").exists(), "shared fixtures not found at {} (set LEGONET_SHARED)", dir.display());
    dir
}

fn read_f32(path: PathBuf) -> Vec<f32> {
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

fn fixture_names() -> Vec<String> {
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures_dir().join("fixtures.json")).unwrap()).unwrap();
    let names: Vec<String> =
        meta["photos"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_string()).collect();
    assert!(names.len() >= 4, "expected at least 4 fixtures");
    names
}

fn weight_file(path: PathBuf) -> legonet::WeightFile {
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("weights not found at {} ({e}); run the README's set-up", path.display()));
    legonet::WeightFile::parse(bytes).expect("weights parse")
}

fn encoder(backend: BackendKind) -> Encoder {
    encoder_from(backend, default_weights_path())
}

fn encoder_from(backend: BackendKind, weights: PathBuf) -> Encoder {
    let (device, _) = backend.init().expect("device");
    Encoder::for_backend(&weight_file(weights), backend, &device).expect("weights load")
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum();
    let na: f64 = a.iter().map(|&x| (x as f64).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|&x| (x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn top5(logits: &[f32]) -> Vec<usize> {
    imagenet::top_k(logits, 5).into_iter().map(|p| p.index).collect()
}

fn check_fixture_inputs(backend: BackendKind, weights: PathBuf) {
    let label = weights.file_name().unwrap().to_string_lossy().into_owned();
    let enc = encoder_from(backend, weights);
    let dir = fixtures_dir();
    let names = fixture_names();
    // All fixtures in one batch: also checks that batching does not mix images.
    let mut batch = Vec::with_capacity(names.len() * INPUT_LEN);
    for n in &names {
        batch.extend(read_f32(dir.join(format!("{n}.input.f32"))));
    }
    let out = enc.encode_blocking(&batch).unwrap();
    for (i, n) in names.iter().enumerate() {
        let want_emb = read_f32(dir.join(format!("{n}.embedding.f32")));
        let want_logits = read_f32(dir.join(format!("{n}.logits.f32")));
        let cos = cosine(out.encoding(i), &want_emb);
        println!(
            "[{backend}, {label}] {n} (fixture input): cosine {cos:.7}, max-abs-diff embedding {:.2e}, logits {:.2e}",
            max_abs_diff(out.encoding(i), &want_emb),
            max_abs_diff(out.logits(i), &want_logits)
        );
        assert!(cos >= 0.999, "{n}: embedding cosine {cos} < 0.999");
        assert_eq!(top5(out.logits(i)), top5(&want_logits), "{n}: top-5 order differs");
    }
}

#[test]
fn fixture_inputs_match_the_oracle_cpu_kernels() {
    check_fixture_inputs(BackendKind::Cpu, default_weights_path());
}

#[test]
fn fixture_inputs_match_the_oracle_from_the_shipped_f16_weights() {
    check_fixture_inputs(BackendKind::Cpu, f16_weights_path());
}

#[test]
fn cpu_kernels_batch_without_mixing_images_and_agree_with_burn() {
    let (cpu, flex) = (encoder(BackendKind::Cpu), encoder(BackendKind::Flex));
    let dir = fixtures_dir();
    let inputs: Vec<Vec<f32>> = fixture_names().iter().map(|n| read_f32(dir.join(format!("{n}.input.f32")))).collect();
    let batch = cpu.encode_blocking(&inputs.concat()).unwrap();
    for (i, x) in inputs.iter().enumerate() {
        let single = cpu.encode_blocking(x).unwrap();
        // Row blocks of the batched GEMMs straddle images, so allow rounding, not more.
        let diff = max_abs_diff(single.encoding(0), batch.encoding(i));
        assert!(diff < 1e-4, "image {i}: batch vs single max-abs-diff {diff}");
        let burn = flex.encode_blocking(x).unwrap();
        let diff = max_abs_diff(single.encoding(0), burn.encoding(0));
        println!("image {i}: cpu kernels vs burn-flex max-abs-diff {diff:.2e}");
        assert!(diff < 1e-4, "image {i}: cpu kernels vs burn-flex max-abs-diff {diff}");
    }
    // Repeated calls reuse the scratch buffers and give bit-identical results.
    assert_eq!(cpu.encode_blocking(&inputs[0]).unwrap(), cpu.encode_blocking(&inputs[0]).unwrap());
}

/// One image's loops run on a team of threads (crate/src/encoder/cpu/threads.rs): which thread
/// runs which task must not change a bit of the result.
#[test]
fn cpu_kernels_give_the_same_bits_on_any_number_of_threads() {
    let cpu = encoder(BackendKind::Cpu);
    let dir = fixtures_dir();
    let on = |threads: usize, x: &[f32]| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| cpu.encode_blocking(x).unwrap())
    };
    for name in fixture_names() {
        let x = read_f32(dir.join(format!("{name}.input.f32")));
        let one = on(1, &x);
        for threads in [2, 3, 4] {
            assert_eq!(on(threads, &x), one, "{name}: {threads} threads vs 1");
        }
    }
}

#[test]
fn fixture_inputs_match_the_oracle_flex() {
    check_fixture_inputs(BackendKind::Flex, default_weights_path());
}

#[test]
fn fixture_inputs_match_the_oracle_ndarray() {
    check_fixture_inputs(BackendKind::Ndarray, default_weights_path());
}

#[test]
fn fixture_pngs_through_rust_preprocessing_match_the_oracle() {
    check_fixture_pngs(default_weights_path());
}

#[test]
fn fixture_pngs_through_rust_preprocessing_match_the_oracle_from_the_shipped_f16_weights() {
    check_fixture_pngs(f16_weights_path());
}

fn check_fixture_pngs(weights: PathBuf) {
    let label = weights.file_name().unwrap().to_string_lossy().into_owned();
    let enc = encoder_from(BackendKind::CPU_DEFAULT, weights);
    let dir = fixtures_dir();
    for n in fixture_names() {
        let rgb = image::open(dir.join(format!("{n}.png"))).unwrap().to_rgb8();
        let x = rgb_to_input(&rgb);
        let want_input = read_f32(dir.join(format!("{n}.input.f32")));
        let in_diff = max_abs_diff(&x, &want_input);
        let out = enc.encode_blocking(&x).unwrap();
        let want_emb = read_f32(dir.join(format!("{n}.embedding.f32")));
        let want_logits = read_f32(dir.join(format!("{n}.logits.f32")));
        let cos = cosine(out.encoding(0), &want_emb);
        println!(
            "[{label}] {n} (png → rust preprocessing): input max-abs-diff {in_diff:.4} ({:.1} uint8 levels), cosine {cos:.6}, max-abs-diff embedding {:.3e}",
            in_diff * 128.0,
            max_abs_diff(out.encoding(0), &want_emb)
        );
        assert!(cos >= 0.995, "{n}: cosine {cos} < 0.995");
        let (mut got, mut want) = (top5(out.logits(0)), top5(&want_logits));
        got.sort();
        want.sort();
        assert_eq!(got, want, "{n}: top-5 set differs");
    }
}

/// The f16 file holds every f32 value rounded to the nearest binary16 (ties to even) and loads as
/// exactly those values: checked against the `half` crate, an implementation independent of
/// both the converter (numpy) and the loader.
#[test]
fn the_f16_weights_load_as_the_f32_weights_rounded_to_nearest() {
    let (full, rounded) = (weight_file(default_weights_path()), weight_file(f16_weights_path()));
    assert_eq!((rounded.len(), rounded.total_values()), (full.len(), full.total_values()));
    assert_ne!(rounded.encoder_id(), full.encoder_id());
    let (mut changed, mut worst) = (0usize, 0f64);
    for name in full.names() {
        let ((shape, exact), (half_shape, loaded)) = (full.tensor(name).unwrap(), rounded.tensor(name).unwrap());
        assert_eq!(shape, half_shape, "{name}");
        for (&x, &y) in exact.iter().zip(&loaded) {
            assert_eq!(y.to_bits(), half::f16::from_f32(x).to_f32().to_bits(), "{name}: {x} loaded as {y}");
            changed += usize::from(x != y);
            // f16's normal range; below it the spacing is absolute (2⁻²⁴), not relative.
            if x.abs() >= 2f32.powi(-14) {
                worst = worst.max(((x - y) / x).abs() as f64);
            }
        }
    }
    println!(
        "f16 weights: {changed} of {} values changed by rounding, relative error ≤ {worst:.2e}",
        full.total_values()
    );
    // Round to nearest keeps 11 significant bits: half an ulp is 2⁻¹¹ of the value.
    assert!(worst <= 2f64.powi(-11), "{worst}");
}

#[test]
fn the_id_is_the_weight_files_sha256_and_shapes_are_checked() {
    let bytes = std::fs::read(default_weights_path()).expect("weights");
    let w = legonet::WeightFile::parse(&bytes).unwrap();
    assert_eq!(w.len(), 247);
    assert_eq!(w.total_values(), 4_694_024);
    assert_eq!(w.encoder_id().len(), 64);
    // A file that parses but lacks a tensor is rejected with a typed error naming it.
    let mut broken = std::collections::HashMap::new();
    let (shape, data) = w.tensor("_fc.bias").unwrap();
    let raw: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    broken.insert(
        "_fc.bias".to_string(),
        safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape, &raw).unwrap(),
    );
    let bytes = safetensors::serialize(broken, None).unwrap();
    let err = Encoder::from_bytes(&bytes, &BackendKind::Flex.cpu_device().unwrap()).unwrap_err();
    assert_eq!(err.code(), "INVALID_WEIGHTS");
    assert!(err.to_string().contains("_conv_stem.weight"), "{err}");
    let err = Encoder::cpu(&legonet::WeightFile::parse(&bytes).unwrap()).unwrap_err();
    assert_eq!(err.code(), "INVALID_WEIGHTS");
}
