//! The wasm-bindgen facade (wasm32 only): JS types in and out, async device initialisation, and
//! every [`Error`] turned into a JS `Error` whose `code` is [`Error::code`]. No algorithm here.

use std::rc::Rc;

use js_sys::{Array, Float32Array, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::preprocess::{INPUT_LEN, rgba_to_input};
use crate::{Backend, Encoder, EncoderOutput, Error, WeightFile, imagenet};

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// A JS `Error` with `name = "LegoNetError"` and a stable `code`.
fn js_error(e: Error) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    err.set_name("LegoNetError");
    let _ = Reflect::set(&err, &"code".into(), &e.code().into());
    err.into()
}

fn set(obj: &Object, key: &str, value: impl Into<JsValue>) {
    let _ = Reflect::set(obj, &key.into(), &value.into());
}

fn output_to_js(out: &EncoderOutput) -> JsValue {
    let obj = Object::new();
    set(&obj, "batch", out.batch as u32);
    set(&obj, "encodings", Float32Array::from(out.encodings.as_slice()));
    set(&obj, "logits", Float32Array::from(out.logits.as_slice()));
    let top5 = Array::new();
    for i in 0..out.batch {
        let ranked = serde_wasm_bindgen::to_value(&imagenet::top_k(out.logits(i), 5)).unwrap_or(JsValue::NULL);
        top5.push(&ranked);
    }
    set(&obj, "top5", top5);
    obj.into()
}

/// The frozen encoder on a CPU or WebGPU device.
#[wasm_bindgen]
pub struct WasmEncoder {
    inner: Rc<Encoder>,
    backend: Backend,
    device: String,
}

#[wasm_bindgen]
impl WasmEncoder {
    /// Loads the encoder from the converted safetensors bytes on `backend`
    /// (`"flex"`, `"ndarray"` or `"wgpu"`). Resolves to a `WasmEncoder`.
    pub fn create(weights: Vec<u8>, backend: String) -> Promise {
        future_to_promise(async move {
            let backend: Backend = backend.parse().map_err(js_error)?;
            let weights = WeightFile::parse(weights).map_err(js_error)?;
            let (device, description) = backend.init_async().await.map_err(js_error)?;
            let inner = Encoder::new(&weights, &device).map_err(js_error)?;
            Ok(WasmEncoder { inner: Rc::new(inner), backend, device: description }.into())
        })
    }

    /// Hex SHA-256 of the weight file.
    #[wasm_bindgen(getter, js_name = encoderId)]
    pub fn encoder_id(&self) -> String {
        self.inner.id().to_string()
    }

    /// The backend's name (`flex`, `ndarray`, `wgpu`).
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.backend.name().to_string()
    }

    /// What runs it (for wgpu: the adapter wgpu picked).
    #[wasm_bindgen(getter)]
    pub fn device(&self) -> String {
        self.device.clone()
    }

    /// Encodes one RGBA8 image (a canvas's `ImageData.data`): resolves to
    /// `{ batch, encodings: Float32Array, logits: Float32Array, top5 }`.
    #[wasm_bindgen(js_name = encodeRgba)]
    pub fn encode_rgba(&self, rgba: &[u8], width: u32, height: u32) -> Promise {
        let input = rgba_to_input(rgba, width, height);
        self.run(input)
    }

    /// Encodes already preprocessed input, `B × [3,224,224]` floats.
    #[wasm_bindgen(js_name = encodeInput)]
    pub fn encode_input(&self, input: Vec<f32>) -> Promise {
        self.run(Ok(input))
    }

    /// Floats in one preprocessed image.
    #[wasm_bindgen(js_name = inputLength)]
    pub fn input_length() -> u32 {
        INPUT_LEN as u32
    }
}

impl WasmEncoder {
    fn run(&self, input: crate::Result<Vec<f32>>) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let input = input.map_err(js_error)?;
            let out = inner.encode(&input).await.map_err(js_error)?;
            Ok(output_to_js(&out))
        })
    }
}
