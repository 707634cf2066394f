//! LegoNet core on the real encoder: keys derived from the converted weights, routing and an
//! add / train / predict / forget / verify / export round on the shared fixture embeddings
//! (`../shared/encoder-reference/fixtures`). Missing weights or fixtures are a failure.

use std::path::PathBuf;

use legonet::encoder::{default_weights_path, f16_weights_path};
use legonet::{ENCODING_DIM, Error, LegoNet, LegoNetConfig, Unlearner, WeightFile, activation};

fn weights() -> WeightFile {
    weights_at(default_weights_path())
}

fn weights_at(path: PathBuf) -> WeightFile {
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

/// The f16 copy is another encoder (another id): a model made on either file is refused by the
/// other with the typed mismatch, naming both ids, and each file still reads its own.
#[test]
fn a_model_made_on_one_weight_file_is_refused_by_the_other() {
    let (full, half) = (weights(), weights_at(f16_weights_path()));
    assert_ne!(full.encoder_id(), half.encoder_id());
    for (made_on, read_by) in [(&half, &full), (&full, &half)] {
        let mut m = LegoNetConfig::new().fixed(4, 2).init(made_on.key_set(4, 0).unwrap()).unwrap();
        m.add_class("animal").unwrap();
        m.add_class("object").unwrap();
        m.add("chelsea", &fixture("chelsea"), "animal").unwrap();
        m.add("coffee", &fixture("coffee"), "object").unwrap();
        m.train().unwrap();
        let bytes = m.export();
        let theirs = read_by.key_set(4, 0).unwrap();
        match LegoNet::import(&bytes, read_by.encoder_id(), &theirs) {
            Err(e @ Error::EncoderMismatch { .. }) => {
                assert_eq!(e.code(), "ENCODER_MISMATCH");
                let msg = e.to_string();
                assert!(msg.contains(made_on.encoder_id()) && msg.contains(read_by.encoder_id()), "{msg}");
            }
            other => panic!("expected EncoderMismatch, got {:?}", other.map(|m| m.model_hash())),
        }
        let mine = made_on.key_set(4, 0).unwrap();
        assert_eq!(LegoNet::import(&bytes, made_on.encoder_id(), &mine).unwrap().model_hash(), m.model_hash());
    }
}
