//! `legonet verify`: checks a model snapshot made anywhere (the npm package's `exportBytes()` in
//! a browser, or natively) by replaying every adapter here from its members and seed and
//! comparing bit for bit — an independent audit of what the page claims it trained and forgot.
//! With `--receipts FILE` (the JSON of `forget()`'s receipts: one receipt, or an array of them,
//! oldest first) it also checks that the model is the one the last receipt names, that no stored
//! example opens any of their commitments and that the chain is unbroken
//! (`LegoNet::check_receipts`).

use std::path::PathBuf;

use clap::Args;
use legonet::{ForgetReceipt, LegoNet};

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
    /// Deletion receipts to check against the model (JSON: one receipt or an array, oldest first).
    #[arg(long, value_name = "FILE")]
    receipts: Option<PathBuf>,
}

/// One receipt or an array of them; anything else is an `INVALID_RECEIPT`.
fn read_receipts(path: &std::path::Path) -> Result<Vec<ForgetReceipt>> {
    let bytes = std::fs::read(path).map_err(CliError::file(path))?;
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        Many(Vec<ForgetReceipt>),
        One(Box<ForgetReceipt>),
    }
    let parsed: OneOrMany = serde_json::from_slice(&bytes).map_err(|e| {
        legonet::Error::InvalidReceipt(format!("{}: not a receipt or an array of receipts ({e})", path.display()))
    })?;
    Ok(match parsed {
        OneOrMany::Many(v) => v,
        OneOrMany::One(r) => vec![*r],
    })
}

/// Imports, replays, reports; a mismatch is an error (exit status 1) after the report.
pub fn run(args: VerifyArgs) -> Result<()> {
    let bytes = std::fs::read(&args.snapshot).map_err(CliError::file(&args.snapshot))?;
    let receipts = args.receipts.as_deref().map(read_receipts).transpose()?;
    let weights = read_weights(args.weights.as_deref())?;
    // Snapshots leave the encoder-derived anchors out; any key set of this encoder supplies them.
    let anchors = weights.key_set(1, 0)?;
    let model = LegoNet::import(&bytes, weights.encoder_id(), &anchors)?;
    let report = model.verify()?;
    let summary = model.summary();
    let hash = model.model_hash();
    let check = receipts.as_deref().map(|r| model.check_receipts(r)).transpose()?;
    if args.json {
        let out = serde_json::json!({
            "ok": report.ok() && check.as_ref().is_none_or(|c| c.ok()),
            "adaptersChecked": report.adapters_checked,
            "mismatches": report.mismatches,
            "examples": summary.examples.len(),
            "labels": summary.labels,
            "modelHash": hash,
            "receiptCount": model.receipt_count(),
            "lastReceipt": model.last_receipt(),
            "receipts": check,
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
    if !report.ok() {
        return Err(CliError::VerificationFailed(report.mismatches));
    }
    if !args.json {
        println!("ok: every adapter equals its replay bit for bit");
    }
    match check {
        Some(c) if !c.ok() => Err(CliError::ReceiptsFailed(c.failures)),
        Some(c) => {
            if !args.json {
                println!(
                    "ok: {} receipt(s) chain to this model, which holds none of their {} forgotten example(s)",
                    c.receipts, c.commitments
                );
            }
            Ok(())
        }
        None => Ok(()),
    }
}
