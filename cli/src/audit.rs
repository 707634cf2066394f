//! `legonet audit MODEL --photo P...`: is this photo in this model? Each photo is encoded here
//! with the model's encoder (the same weights: the encoder id is checked on import) and compared
//! with every stored example within the stated tolerance (encodings of one photo made on another
//! platform differ in the last bits); then every adapter is replayed bit for bit, so a miss reads
//! "this model holds no example of this photo, and every adapter equals training from scratch on
//! the examples it holds".

use std::path::PathBuf;

use clap::Args;
use legonet::{Encoder, LegoNet};

use crate::encode::{read_photo, read_weights};
use crate::error::{CliError, Result};

#[derive(Args)]
pub struct AuditArgs {
    /// The snapshot file (bytes of `export()` / `exportBytes()`).
    snapshot: PathBuf,
    /// Photos to look for (PNG, JPEG, WebP; repeatable).
    #[arg(long = "photo", value_name = "FILE", required = true)]
    photos: Vec<PathBuf>,
    /// Converted weights (default: where set-up put them, or $LEGONET_WEIGHTS).
    #[arg(long, value_name = "FILE")]
    weights: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Audits every photo; exit status 0 whatever the photos' answers, 1 when the replay fails.
pub fn run(args: AuditArgs) -> Result<()> {
    // Bad input fails before anything is loaded.
    let mut inputs = Vec::new();
    for p in &args.photos {
        inputs.push((p.display().to_string(), read_photo(p)?));
    }
    let bytes = std::fs::read(&args.snapshot).map_err(CliError::file(&args.snapshot))?;
    let weights = read_weights(args.weights.as_deref())?;
    let anchors = weights.key_set(1, 0)?;
    let model = LegoNet::import(&bytes, weights.encoder_id(), &anchors)?;
    let encoder = Encoder::cpu(&weights)?;
    let mut photos = Vec::new();
    for (name, x) in &inputs {
        let out = encoder.encode_blocking(x)?;
        photos.push((name, model.audit(out.encoding(0))?));
    }
    let verify = model.verify()?;
    if args.json {
        let rows: Vec<_> = photos.iter().map(|(name, a)| serde_json::json!({ "photo": name, "audit": a })).collect();
        let out = serde_json::json!({
            "modelHash": model.model_hash(),
            "photos": rows,
            "verify": { "ok": verify.ok(), "adaptersChecked": verify.adapters_checked, "mismatches": verify.mismatches },
        });
        println!("{out}");
    } else {
        for (name, a) in &photos {
            let nearest = a
                .nearest
                .as_ref()
                .map(|m| format!("nearest example {:?} ({}) at relative distance {:.3e}", m.id, m.label, m.distance))
                .unwrap_or_else(|| "the model holds no example".into());
            let answer = if a.held {
                let ids: Vec<&str> = a.matches.iter().map(|m| m.id.as_str()).collect();
                format!("HELD as {ids:?}")
            } else {
                "not held".into()
            };
            println!("{name}: {answer}; {nearest} (tolerance {:.0e})", a.tolerance);
        }
        if verify.ok() {
            println!(
                "every adapter ({}) equals training from scratch on the examples it holds, bit for bit",
                verify.adapters_checked
            );
        }
    }
    if verify.ok() { Ok(()) } else { Err(CliError::VerificationFailed(verify.mismatches)) }
}
