//! The command line's own errors: the library's, plus what only a command line meets (files it
//! cannot read or write, bad arguments, a verification that failed). Each prints as one
//! `error: …` line and exits with status 1.

use std::path::{Path, PathBuf};

/// Result alias of the command line.
pub type Result<T, E = CliError> = std::result::Result<T, E>;

/// Everything a command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A library call failed (invalid image, weights, snapshot, …).
    #[error(transparent)]
    Library(#[from] legonet::Error),

    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },

    /// Output could not be written (stdout, a report file).
    #[error("cannot write output: {0}")]
    Io(#[from] std::io::Error),

    /// An argument or input file the command cannot use.
    #[error("{0}")]
    Usage(String),

    /// `verify` replayed the adapters and some differ from the snapshot's.
    #[error("verification failed: adapters {0:?} differ from their replay")]
    VerificationFailed(Vec<usize>),

    /// `verify --receipts`: the receipts and the model disagree (each failure, joined).
    #[error("receipts do not match the model: {}", .0.join("; "))]
    ReceiptsFailed(Vec<String>),
}

impl CliError {
    /// `map_err` helper for a failed read or write of `path`.
    pub fn file(path: &Path) -> impl FnOnce(std::io::Error) -> CliError + '_ {
        move |source| CliError::File { path: path.to_path_buf(), source }
    }
}
