//! The native CLI end to end: `legonet encode` on real photos and raw tensors, JSON output,
//! embedding output, and bad input → one `error:` line and a non-zero exit.

use std::path::PathBuf;
use std::process::Command;

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
        "encode", png.to_str().unwrap(), "--input-f32", raw.to_str().unwrap(),
        "--json", "--embedding-out", emb.to_str().unwrap(),
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
        (vec!["encode".into(), "--weights".into(), "/nonexistent.safetensors".into(), fixtures().join("coffee.png").display().to_string()], "cannot read"),
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
