//! The one error type of the library. Every fallible call returns [`Result`]; the wasm facade
//! maps each variant to a JS error with a stable `code` (see [`Error::code`]).

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong, as data. A failing call leaves stored state untouched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The encoder weight file is not a valid safetensors file, or lacks/misshapes a tensor.
    #[error("invalid encoder weights: {0}")]
    InvalidWeights(String),

    /// An image that cannot be used (zero size, too small, wrong buffer length, undecodable).
    #[error("invalid image: {0}")]
    InvalidImage(String),

    /// A raw input tensor of the wrong size or with non-finite values.
    #[error("invalid input tensor: {0}")]
    InvalidInput(String),

    /// An encoding of the wrong length or with NaN/inf values.
    #[error("invalid encoding: {0}")]
    InvalidEncoding(String),

    /// The compute backend failed (device init, kernel, readback).
    #[error("backend error: {0}")]
    Backend(String),

    /// A file could not be read or written.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// A stable, machine-readable code for this error (used as the JS error `code`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidWeights(_) => "INVALID_WEIGHTS",
            Error::InvalidImage(_) => "INVALID_IMAGE",
            Error::InvalidInput(_) => "INVALID_INPUT",
            Error::InvalidEncoding(_) => "INVALID_ENCODING",
            Error::Backend(_) => "BACKEND",
            Error::Io(_) => "IO",
        }
    }
}
