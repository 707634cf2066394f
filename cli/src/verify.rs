//! `legonet verify`: checks a model snapshot made anywhere (the npm package's `exportBytes()` in
//! a browser, or natively) by replaying every adapter here from its members and seed and
//! comparing bit for bit — an independent audit of what the page claims it trained and forgot.

use std::path::PathBuf;

use clap::Args;
use legonet::LegoNet;

use crate::error::{CliError, Result};

use crate::encode::read_weights;

#[derive(Args)]
pub struct VerifyArgs {
    /// The snapshot file (bytes of `export()` / `exportBytes()`).
    snapshot: PathBuf,
    /// Converted weights (default: where set-up put them, or $LEGONET_WEIGHTS).
    #[arg(long, value_name = "FILE")]
    weights: Option<PathBuf>,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

/// Imports, replays, reports; a mismatch is an error (exit status 1) after the report.
pub fn run(args: VerifyArgs) -> Result<()> {
    let bytes = std::fs::read(&args.snapshot).map_err(CliError::file(&args.snapshot))?;
    let weights = read_weights(args.weights.as_deref())?;
    // Snapshots leave the encoder-derived anchors out; any key set of this encoder supplies them.
    let anchors = weights.key_set(1, 0)?;
    let model = LegoNet::import(&bytes, weights.encoder_id(), &anchors)?;
    let report = model.verify()?;
    let summary = model.summary();
    let hash = model.model_hash();
    if args.json {
        let out = serde_json::json!({
            "ok": report.ok(),
            "adaptersChecked": report.adapters_checked,
            "mismatches": report.mismatches,
            "examples": summary.examples.len(),
            "labels": summary.labels,
            "modelHash": hash,
        });
        println!("{out}");
    } else {
        println!(
            "{}: {} adapters replayed, {} examples, {} labels, model hash {hash}",
            args.snapshot.display(),
            report.adapters_checked,
            summary.examples.len(),
            summary.labels.len()
        );
    }
    if report.ok() {
        if !args.json {
            println!("ok: every adapter equals its replay bit for bit");
        }
        Ok(())
    } else {
        Err(CliError::VerificationFailed(report.mismatches))
    }
}
