//! The native CLI end to end: `legonet encode` on real photos and raw tensors, JSON output,
//! embedding output, and bad input → one `error:` line and a non-zero exit.

use std::path::PathBuf;
use std::process::Command;

use sha2::Digest;

fn fixtures() -> PathBuf {
    std::env::var_os("LEGONET_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
        .join("encoder-reference/fixtures")
}

fn legonet(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_legonet")).args(args).output().expect("run legonet")
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("legonet-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn encode_prints_json_top5_and_writes_embeddings() {
    let png = fixtures().join("coffee.png");
    let raw = fixtures().join("chelsea.input.f32");
    let emb = tmp("emb.f32");
    let out = legonet(&[
        "encode",
        png.to_str().unwrap(),
        "--input-f32",
        raw.to_str().unwrap(),
        "--json",
        "--embedding-out",
        emb.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0]["input"].as_str().unwrap().ends_with("coffee.png"));
    assert_eq!(lines[0]["top5"][0]["index"], 967);
    assert_eq!(lines[0]["top5"][0]["label"], "espresso");
    assert_eq!(lines[0]["top5"].as_array().unwrap().len(), 5);
    let p = lines[0]["top5"][0]["probability"].as_f64().unwrap();
    assert!(p > 0.9 && p <= 1.0, "espresso probability {p}");
    assert!([282, 285].contains(&lines[1]["top5"][0]["index"].as_u64().unwrap()), "chelsea is a cat");
    assert_eq!(std::fs::metadata(&emb).unwrap().len(), 2 * 1280 * 4);
}

#[test]
fn bad_inputs_fail_with_one_error_line() {
    let not_image = tmp("not-an-image.png");
    std::fs::write(&not_image, b"hello, I am text").unwrap();
    let short = tmp("short.f32");
    std::fs::write(&short, vec![0u8; 1000]).unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["encode".into(), "/nonexistent/photo.jpg".into()], "photo.jpg"),
        (vec!["encode".into(), not_image.display().to_string()], "not a readable image"),
        (vec!["encode".into(), "--input-f32".into(), short.display().to_string()], "[1,3,224,224]"),
        (
            vec![
                "encode".into(),
                "--weights".into(),
                "/nonexistent.safetensors".into(),
                fixtures().join("coffee.png").display().to_string(),
            ],
            "cannot read",
        ),
    ];
    for (args, needle) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = legonet(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: ") && stderr.contains(needle), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
    }
}

/// A model trained natively: the four fixture embeddings, three jittered copies each, labelled by
/// fixture, all in one adapter (n = 1) so every weight depends on every encoding.
fn snapshot_of_a_trained_model() -> (Vec<u8>, Vec<f32>) {
    use legonet::{LegoNetConfig, Unlearner, WeightFile, encoder::default_weights_path};
    let w = WeightFile::parse(std::fs::read(default_weights_path()).expect("weights")).unwrap();
    let mut m = LegoNetConfig::new().fixed(1, 1).init(w.key_set(1, 0).unwrap()).unwrap();
    let mut first = Vec::new();
    for name in ["chelsea", "coffee", "rocket", "astronaut"] {
        let bytes = std::fs::read(fixtures().join(format!("{name}.embedding.f32"))).unwrap();
        let x: Vec<f32> = bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        for j in 0..3 {
            let xj: Vec<f32> = x.iter().map(|v| v * (1.0 + 0.01 * j as f32)).collect();
            if first.is_empty() {
                first = xj.clone();
            }
            m.add_many(&[(&format!("{name}-{j}"), &xj, name)]).unwrap();
        }
    }
    m.train().unwrap();
    (m.export(), first)
}

#[test]
fn verify_accepts_an_honest_snapshot_and_names_a_tampered_adapter() {
    let (bytes, first) = snapshot_of_a_trained_model();
    let file = tmp("model.legonet");
    std::fs::write(&file, &bytes).unwrap();
    let out = legonet(&["verify", file.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["adaptersChecked"], 1);
    assert_eq!(report["examples"], 12);

    // Change one stored encoding value (a high mantissa bit: a last-bit change can vanish when
    // the f64 solve is rounded to f32 weights) and re-seal the checksum: the snapshot parses,
    // but the adapter no longer equals a replay from its members.
    // (Located by the 8 values from its largest one: pooled ReLU6 outputs have runs of exact
    // zeros that would also match length fields.)
    let top = (0..first.len()).max_by(|&a, &b| first[a].total_cmp(&first[b])).unwrap().min(first.len() - 8);
    let pattern: Vec<u8> = first[top..top + 8].iter().flat_map(|v| v.to_le_bytes()).collect();
    let at = bytes.windows(pattern.len()).position(|w| w == pattern.as_slice()).expect("encoding in snapshot");
    let mut tampered = bytes.clone();
    tampered[at + 2] ^= 0x40;
    let n = tampered.len() - 32;
    let sum = sha2::Sha256::digest(&tampered[..n]);
    tampered[n..].copy_from_slice(&sum);
    std::fs::write(&file, &tampered).unwrap();
    let out = legonet(&["verify", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: ") && err.contains("adapters [0] differ"), "{err}");

    // Not a snapshot at all: a typed error line.
    std::fs::write(&file, b"nope").unwrap();
    let out = legonet(&["verify", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stderr).unwrap().starts_with("error: "));
}

/// `audit` and `verify --receipts` end to end: a model holding two photos' encodings (made here
/// by the CLI's own decoding path), one forgotten with a receipt; the kept photo is held, the
/// forgotten and a never-added one are not; the receipt checks, a tampered one fails.
#[test]
fn audit_and_receipts() {
    use legonet::{Encoder, LegoNetConfig, Unlearner, WeightFile, encoder::default_weights_path};
    let w = WeightFile::parse(std::fs::read(default_weights_path()).expect("weights")).unwrap();
    let encoder = Encoder::cpu(&w).unwrap();
    let encode = |name: &str| {
        let img = image::open(fixtures().join(format!("{name}.png"))).unwrap().to_rgb8();
        encoder.encode_blocking(&legonet::preprocess::rgb_to_input(&img)).unwrap().encoding(0).to_vec()
    };
    let mut m = LegoNetConfig::new().fixed(1, 1).init(w.key_set(1, 0).unwrap()).unwrap();
    let (coffee, rocket) = (encode("coffee"), encode("rocket"));
    m.add_many(&[("coffee", &coffee, "object"), ("rocket", &rocket, "object")]).unwrap();
    m.add_many(&[("rocket-2", &rocket.iter().map(|v| v * 1.1).collect::<Vec<f32>>(), "other")]).unwrap();
    m.train().unwrap();
    let (_, receipt) = m.forget_with_receipt(&["coffee"], [5; 32]).unwrap();
    let (file, receipts) = (tmp("audit.legonet"), tmp("receipts.json"));
    std::fs::write(&file, m.export()).unwrap();
    let photo = |n: &str| fixtures().join(format!("{n}.png")).display().to_string();
    let out = legonet(&[
        "audit",
        file.to_str().unwrap(),
        "--photo",
        &photo("rocket"),
        "--photo",
        &photo("coffee"),
        "--photo",
        &photo("chelsea"),
        "--json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let held: Vec<bool> =
        report["photos"].as_array().unwrap().iter().map(|p| p["audit"]["held"].as_bool().unwrap()).collect();
    assert_eq!(held, [true, false, false]);
    assert_eq!(report["photos"][0]["audit"]["matches"][0]["id"], "rocket");
    assert_eq!(report["verify"]["ok"], true);

    std::fs::write(&receipts, serde_json::to_vec(&vec![&receipt]).unwrap()).unwrap();
    let out = legonet(&["verify", file.to_str().unwrap(), "--receipts", receipts.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut tampered = serde_json::to_value(&receipt).unwrap();
    tampered["modelAfter"] = serde_json::Value::String(receipt.model_before.clone());
    std::fs::write(&receipts, serde_json::to_vec(&tampered).unwrap()).unwrap();
    let out = legonet(&["verify", file.to_str().unwrap(), "--receipts", receipts.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("receipts do not match the model"));
    std::fs::write(&receipts, b"{\"not\": \"a receipt\"}").unwrap();
    let out = legonet(&["verify", file.to_str().unwrap(), "--receipts", receipts.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: invalid receipt"));
    // A photo of an unknown format: one error line.
    let out = legonet(&["audit", file.to_str().unwrap(), "--photo", "/etc/hostname"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: invalid image"));
}
