//! [`WasmEncoder`]: the frozen encoder alone (encodings, ImageNet logits and top-5), for the
//! oracle test and the encoder benchmarks only (cargo feature `bench`, the wasm in tests/wasm/).

use std::rc::Rc;

use js_sys::{Array, Float32Array, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::{js_error, load_encoder};
use crate::preprocess::{INPUT_LEN, rgba_to_input};
use crate::{BackendKind, Encoder, EncoderOutput, imagenet};

/// The frozen encoder on a CPU or WebGPU device.
#[wasm_bindgen]
pub struct WasmEncoder {
    inner: Rc<Encoder>,
    backend: BackendKind,
    device: String,
}

#[wasm_bindgen]
impl WasmEncoder {
    /// Loads the encoder from the converted safetensors bytes on `backend`
    /// (`"cpu"`, `"flex"`, `"ndarray"` or `"wgpu"`, as this build has them). Resolves to a
    /// `WasmEncoder`.
    pub fn create(weights: Vec<u8>, backend: String) -> Promise {
        future_to_promise(async move {
            let (_, inner, backend, device) = load_encoder(weights, &backend).await?;
            Ok(WasmEncoder { inner, backend, device }.into())
        })
    }

    /// Hex SHA-256 of the weight file.
    #[wasm_bindgen(getter, js_name = encoderId)]
    pub fn encoder_id(&self) -> String {
        self.inner.id().to_string()
    }

    /// The backend's name (`cpu`, `flex`, `ndarray`, `wgpu`).
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

/// `{ batch, encodings, logits, top5 }` of a batch.
fn output_to_js(out: &EncoderOutput) -> JsValue {
    let obj = Object::new();
    let set = |key: &str, value: JsValue| {
        let _ = Reflect::set(&obj, &key.into(), &value);
    };
    set("batch", (out.batch as u32).into());
    set("encodings", Float32Array::from(out.encodings.as_slice()).into());
    set("logits", Float32Array::from(out.logits.as_slice()).into());
    let top5 = Array::new();
    for i in 0..out.batch {
        let ranked = serde_wasm_bindgen::to_value(&imagenet::top_k(out.logits(i), 5)).unwrap_or(JsValue::NULL);
        top5.push(&ranked);
    }
    set("top5", top5.into());
    obj.into()
}
