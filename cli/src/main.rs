//! `legonet`: the native command line — encode photos with the frozen encoder, verify model
//! snapshots and run the benchmarks. Errors print one `error: …` line and exit with status 1.

mod audit;
mod bench;
mod encode;
mod error;
mod membership;
mod stats;
mod verify;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "legonet", version, about = "On-device image classification with exact unlearning (LegoNet)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Encode photos (or raw [1,3,224,224] f32 tensors) and print their ImageNet top-5.
    Encode(encode::EncodeArgs),
    /// Benchmark the encoder: ms/image at batch 1 and 8 on each CPU backend (and wgpu if present).
    BenchEncoder(encode::BenchEncoderArgs),
    /// Benchmark LegoNet against Retrain, FixSISA, KNN and NCM (accuracy, train and forget cost).
    Bench(bench::BenchArgs),
    /// Verify a model snapshot (e.g. exported in a browser): replay every adapter, compare bitwise;
    /// with --receipts, also check its deletion receipts.
    Verify(verify::VerifyArgs),
    /// Is this photo in this model? Encode it, match it against every stored example, verify.
    Audit(audit::AuditArgs),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Encode(args) => encode::run(args),
        Command::BenchEncoder(args) => encode::bench(args),
        Command::Bench(args) => bench::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Audit(args) => audit::run(args),
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
