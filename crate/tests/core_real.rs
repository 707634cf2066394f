//! LegoNet core on the real encoder: keys derived from the converted weights, routing and an
//! add / train / predict / forget / verify / export round on the shared fixture embeddings
//! (`../shared/encoder-reference/fixtures`). Missing weights or fixtures are a failure.

use std::path::PathBuf;

use legonet::encoder::default_weights_path;
use legonet::{ENCODING_DIM, LegoNet, LegoNetConfig, Unlearner, WeightFile, activation};

fn weights() -> WeightFile {
    let path = default_weights_path();
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("weights at {}: {e}", path.display()));
    WeightFile::parse(bytes).unwrap()
}

fn fixture(name: &str) -> Vec<f32> {
    let dir = std::env::var_os("LEGONET_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let path = dir.join(format!("encoder-reference/fixtures/{name}.embedding.f32"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

#[test]
fn real_keys_are_deterministic_balanced_and_route_fixtures() {
    let w = weights();
    let a = w.key_set(32, 0).unwrap();
    let b = w.key_set(32, 0).unwrap();
    assert_eq!(a.hash(), b.hash());
    assert_eq!(a.dim(), ENCODING_DIM);
    assert_eq!(a.num_anchors(), 1000);
    let mut per_adapter = vec![0usize; 32];
    for &o in a.owners() {
        per_adapter[o as usize] += 1;
    }
    assert_eq!(activation::load_balance(&per_adapter), (31, 31, 32));
    for name in ["chelsea", "coffee", "rocket", "astronaut"] {
        let x = fixture(name);
        let act = activation::activate(&a, &x, 2);
        assert_eq!(act.len(), 2);
        assert_ne!(act[0], act[1]);
    }
}

#[test]
fn fixtures_round_trip_through_a_real_model() {
    let w = weights();
    let cfg = LegoNetConfig::new().fixed(8, 2);
    let mut m = cfg.init(w.key_set(8, 0).unwrap()).unwrap();
    for c in ["animal", "object"] {
        m.add_class(c).unwrap();
    }
    m.add("chelsea", &fixture("chelsea"), "animal").unwrap();
    m.add("coffee", &fixture("coffee"), "object").unwrap();
    m.add("rocket", &fixture("rocket"), "object").unwrap();
    m.train().unwrap();
    assert_eq!(m.predict(&fixture("chelsea")).unwrap().label, "animal");
    assert_eq!(m.predict(&fixture("coffee")).unwrap().label, "object");
    let report = m.forget(&["rocket"]).unwrap();
    assert!(report.adapters_retrained <= 2);
    assert!(m.verify().unwrap().ok());
    let back = LegoNet::import(&m.export(), w.encoder_id(), m.keys()).unwrap();
    assert_eq!(back.model_hash(), m.model_hash());
    assert!(LegoNet::import(&m.export(), "another-encoder", m.keys()).is_err());
}
