//! The wasm-bindgen facade (wasm32 only): JS types in and out, async device initialisation, and
//! every [`Error`] turned into a JS `Error` whose `code` is [`Error::code`]. No algorithm here.
//!
//! [`WasmEngine`] is what the npm package's Workers run (the encoder and one model).
//! `WasmEncoder` (cargo feature `bench`) is the encoder alone with its ImageNet logits and
//! raw-tensor input, which the oracle test and the encoder benchmarks drive; it is built only
//! into their wasm (tests/wasm/), never into the package's.

#[cfg(feature = "bench")]
mod encoder;
mod engine;

#[cfg(feature = "bench")]
pub use encoder::WasmEncoder;
pub use engine::WasmEngine;

use std::rc::Rc;

use js_sys::Reflect;
use wasm_bindgen::prelude::*;

use crate::{BackendKind, Encoder, Error, WeightFile};

unsafe extern "C" {
    /// Runs the static constructors (burn/cubecl `inventory` registrations); made by wasm-ld.
    fn __wasm_call_ctors();
}

#[wasm_bindgen(start)]
fn start() {
    // wasm-ld wraps *every* export in a call to the static constructors unless the module calls
    // them itself; that made each call from JS re-run them (0.4–0.6 ms measured, see
    // docs/peers.md). Calling them once here, at instantiation, turns the wrapping off.
    unsafe { __wasm_call_ctors() };
    console_error_panic_hook::set_once();
}

/// A JS `Error` with `name = "LegoNetError"` and a stable `code`.
pub(crate) fn js_error(e: Error) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    err.set_name("LegoNetError");
    let _ = Reflect::set(&err, &"code".into(), &e.code().into());
    err.into()
}

/// Parses the weights and loads the encoder on `backend` (initialising wgpu if asked):
/// (weights, encoder, backend, what runs it). Shared by both JS classes.
pub(crate) async fn load_encoder(
    weights: Vec<u8>,
    backend: &str,
) -> Result<(WeightFile, Rc<Encoder>, BackendKind, String), JsValue> {
    let backend: BackendKind = backend.parse().map_err(js_error)?;
    let weights = WeightFile::parse(weights).map_err(js_error)?;
    let (device, description) = backend.init_async().await.map_err(js_error)?;
    let encoder = Encoder::for_backend(&weights, backend, &device).map_err(js_error)?;
    Ok((weights, Rc::new(encoder), backend, description))
}

pub(crate) fn to_js<T: serde::Serialize>(v: &T) -> Result<JsValue, JsValue> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| js_error(Error::Internal(format!("cannot convert result: {e}"))))
}

/// 32 bytes from `crypto.getRandomValues`: the salt of a deletion receipt's commitments.
pub(crate) fn fresh_salt() -> [u8; 32] {
    let mut salt = [0u8; 32];
    getrandom::fill(&mut salt).expect("crypto.getRandomValues");
    salt
}

pub(crate) fn random_id() -> String {
    let mut b = [0u8; 12];
    getrandom::fill(&mut b).expect("crypto.getRandomValues");
    hex::encode(b)
}
