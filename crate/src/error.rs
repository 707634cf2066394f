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

    /// An argument the call cannot use: an empty sample id or class name, arrays of different
    /// lengths, a raw input tensor of the wrong size or with non-finite values.
    #[error("invalid input: {0}")]
    InvalidInput(String),

    /// An encoding of the wrong length or with NaN/inf values.
    #[error("invalid encoding: {0}")]
    InvalidEncoding(String),

    /// The compute backend failed (device init, kernel, readback).
    #[error("backend error: {0}")]
    Backend(String),

    /// A hyper-parameter out of its valid range (e.g. `k > n`, zero epochs).
    #[error("invalid config: {0}")]
    InvalidConfig(String),

    /// A sample id that the model does not hold.
    #[error("unknown sample id: {0}")]
    UnknownId(String),

    /// A sample id that the model already holds (or that repeats within one call).
    #[error("duplicate sample id: {0}")]
    DuplicateId(String),

    /// A label that was never registered with `add_class`.
    #[error("unknown class: {0}")]
    UnknownClass(String),

    /// `add_class` with a name that is already registered.
    #[error("duplicate class: {0}")]
    DuplicateClass(String),

    /// `predict` before any sample was trained on.
    #[error("the model holds no trained samples")]
    EmptyModel,

    /// `verify` (or a baseline's `predict`) while some adapters have changed members but were
    /// not retrained; LegoNet's `predict` answers with the last trained parameters instead.
    #[error("{0} adapter(s) changed since the last train(); call train() first")]
    NotTrained(usize),

    /// Snapshot bytes that are truncated, corrupted or internally inconsistent.
    #[error("corrupt snapshot: {0}")]
    CorruptSnapshot(String),

    /// A snapshot written by an incompatible format version.
    #[error("unsupported snapshot version {found} (this build reads version {supported})")]
    SnapshotVersion {
        /// Version found in the bytes.
        found: u32,
        /// Version this build reads.
        supported: u32,
    },

    /// Encodings or a snapshot made with a different encoder than the one in use.
    #[error("encoder mismatch: expected {expected}, found {found}")]
    EncoderMismatch {
        /// Encoder id the caller runs.
        expected: String,
        /// Encoder id recorded in the data.
        found: String,
    },

    /// A deletion receipt that is not one: malformed JSON, a field of the wrong form (not hex,
    /// unsorted commitments), another receipt version, or no receipt at all.
    #[error("invalid receipt: {0}")]
    InvalidReceipt(String),

    /// A broken internal invariant or a value that could not be converted (a bug).
    #[error("internal error: {0}")]
    Internal(String),
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
            Error::InvalidConfig(_) => "INVALID_CONFIG",
            Error::UnknownId(_) => "UNKNOWN_ID",
            Error::DuplicateId(_) => "DUPLICATE_ID",
            Error::UnknownClass(_) => "UNKNOWN_CLASS",
            Error::DuplicateClass(_) => "DUPLICATE_CLASS",
            Error::EmptyModel => "EMPTY_MODEL",
            Error::NotTrained(_) => "NOT_TRAINED",
            Error::CorruptSnapshot(_) => "CORRUPT_SNAPSHOT",
            Error::SnapshotVersion { .. } => "SNAPSHOT_VERSION",
            Error::EncoderMismatch { .. } => "ENCODER_MISMATCH",
            Error::InvalidReceipt(_) => "INVALID_RECEIPT",
            Error::Internal(_) => "INTERNAL",
        }
    }
}
