//! `legonet`: the native command line. Errors print one `error: …` line and exit with status 1.

mod bench;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "legonet", version, about = "On-device image classification with exact unlearning (LegoNet)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Benchmark LegoNet against Retrain, FixSISA and KNN on cached encodings.
    Bench(bench::BenchArgs),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Bench(args) => bench::run(args),
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
