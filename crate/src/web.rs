//! The wasm-bindgen facade (wasm32 only): JS types in and out, async device initialisation, and
//! every [`Error`] turned into a JS `Error` whose `code` is [`Error::code`]. No algorithm here.

use std::rc::Rc;

use js_sys::{Array, Float32Array, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use zeroize::Zeroizing;

use crate::preprocess::{INPUT_LEN, rgba_to_input};
use crate::{Backend, Encoder, EncoderOutput, Error, WeightFile, imagenet};

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

/// Parses the weights and loads the encoder on `backend` (initialising wgpu if asked):
/// (weights, encoder, backend, what runs it). Shared by both JS classes.
async fn load_encoder(weights: Vec<u8>, backend: &str) -> Result<(WeightFile, Rc<Encoder>, Backend, String), JsValue> {
    let backend: Backend = backend.parse().map_err(js_error)?;
    let weights = WeightFile::parse(weights).map_err(js_error)?;
    let (device, description) = backend.init_async().await.map_err(js_error)?;
    let encoder = Encoder::for_backend(&weights, backend, &device).map_err(js_error)?;
    Ok((weights, Rc::new(encoder), backend, description))
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
            let (_, inner, backend, device) = load_encoder(weights, &backend).await?;
            Ok(WasmEncoder { inner, backend, device }.into())
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

/// `{ adapters, activated, seed }` from JS (all optional).
#[derive(serde::Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct JsConfig {
    adapters: Option<usize>,
    activated: Option<usize>,
    seed: Option<u64>,
}

fn to_js<T: serde::Serialize>(v: &T) -> Result<JsValue, JsValue> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| js_error(Error::InvalidInput(format!("cannot convert result: {e}"))))
}

fn random_id() -> String {
    let mut b = [0u8; 12];
    getrandom::fill(&mut b).expect("crypto.getRandomValues");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The whole engine of the npm package's Worker: the encoder plus one LegoNet model.
#[wasm_bindgen]
pub struct WasmEngine {
    encoder: Rc<Encoder>,
    model: crate::model::LegoNet,
    backend: Backend,
    device: String,
}

#[wasm_bindgen]
impl WasmEngine {
    /// Loads the encoder on `backend` and creates an empty model; keys are derived from the
    /// encoder weights. Resolves to a `WasmEngine`.
    pub fn create(weights: Vec<u8>, backend: String, config: JsValue) -> Promise {
        future_to_promise(async move {
            let cfg: JsConfig = if config.is_undefined() || config.is_null() {
                JsConfig::default()
            } else {
                serde_wasm_bindgen::from_value(config).map_err(|e| js_error(Error::InvalidConfig(e.to_string())))?
            };
            let mut lc = crate::model::LegoNetConfig::new();
            // Either expert option fixes the structure (the other defaults as it did before the
            // capacity levels); neither lets the structure follow the data.
            if cfg.adapters.is_some() || cfg.activated.is_some() {
                let n = cfg.adapters.unwrap_or(32);
                lc = lc.fixed(n, cfg.activated.unwrap_or(n.min(3)));
            }
            if let Some(s) = cfg.seed {
                lc.seed = s;
            }
            let (weights, encoder, backend, device) = load_encoder(weights, &backend).await?;
            let model = lc.init_from_weights(&weights).map_err(js_error)?;
            Ok(WasmEngine { encoder, model, backend, device }.into())
        })
    }

    /// Hex SHA-256 of the weight file.
    #[wasm_bindgen(getter, js_name = encoderId)]
    pub fn encoder_id(&self) -> String {
        self.encoder.id().to_string()
    }

    /// The encoder's backend name.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.backend.name().to_string()
    }

    /// What runs the encoder.
    #[wasm_bindgen(getter)]
    pub fn device(&self) -> String {
        self.device.clone()
    }

    /// Encodes one RGBA8 image; resolves to its 1280-d encoding (`Float32Array`). The photo's
    /// pixels, its preprocessed input and its encoding are overwritten in wasm memory once used.
    #[wasm_bindgen(js_name = encodeRgba)]
    pub fn encode_rgba(&self, rgba: &Uint8Array, width: u32, height: u32) -> Promise {
        let input = {
            let pixels = Zeroizing::new(rgba.to_vec());
            rgba_to_input(&pixels, width, height).map(Zeroizing::new)
        };
        let encoder = self.encoder.clone();
        future_to_promise(async move {
            let out = encoder.encode(&input.map_err(js_error)?).await.map_err(js_error)?;
            Ok(Float32Array::from(out.encoding(0)).into())
        })
    }

    /// Adds examples all-or-nothing (new labels become classes); `ids[i]` null → a fresh random
    /// id. Returns the ids.
    #[wasm_bindgen(js_name = addMany)]
    pub fn add_many(
        &mut self,
        ids: Vec<JsValue>,
        encodings: Vec<Float32Array>,
        labels: Vec<String>,
    ) -> Result<Vec<String>, JsValue> {
        // Checked before zipping: zip would silently drop the surplus of a longer list.
        if encodings.len() != ids.len() || labels.len() != ids.len() {
            return Err(js_error(Error::InvalidInput("ids, encodings and labels differ in length".into())));
        }
        let ids: Vec<String> = ids.into_iter().map(|v| v.as_string().unwrap_or_else(random_id)).collect();
        // Copies in wasm memory, overwritten when dropped (the model keeps its own).
        let encodings: Vec<Zeroizing<Vec<f32>>> = encodings.iter().map(|e| Zeroizing::new(e.to_vec())).collect();
        let items: Vec<(&str, &[f32], &str)> =
            ids.iter().zip(&encodings).zip(&labels).map(|((i, e), l)| (i.as_str(), e.as_slice(), l.as_str())).collect();
        self.model.add_many(&items).map_err(js_error)?;
        Ok(ids)
    }

    /// Registers a class with no examples yet.
    #[wasm_bindgen(js_name = addClass)]
    pub fn add_class(&mut self, label: &str) -> Result<(), JsValue> {
        self.model.add_class(label).map_err(js_error)
    }

    /// Adapters whose members changed since they were last trained.
    #[wasm_bindgen(js_name = pendingAdapters)]
    pub fn pending_adapters(&self) -> usize {
        self.model.pending()
    }

    /// Trains up to `max` pending adapters (so the worker can report progress and abort
    /// between chunks); returns `{ adaptersTrained, samplesReplayed, paramsTrained, elapsedMs }`.
    #[wasm_bindgen(js_name = trainSome)]
    pub fn train_some(&mut self, max: usize) -> Result<JsValue, JsValue> {
        let r = self.model.train_some(max).map_err(js_error)?;
        to_js(&r)
    }

    /// Classifies an encoding: `[{ label, probability }]`, best first. (Its copy in wasm memory
    /// is overwritten after use: the same photo may be added, then forgotten.)
    pub fn predict(&self, encoding: &Float32Array) -> Result<JsValue, JsValue> {
        let encoding = Zeroizing::new(encoding.to_vec());
        #[derive(serde::Serialize)]
        struct ClassProbability<'a> {
            label: &'a str,
            probability: f32,
        }
        let p = crate::model::Unlearner::predict(&self.model, &encoding).map_err(js_error)?;
        let rows: Vec<ClassProbability> =
            p.scores.iter().map(|(l, s)| ClassProbability { label: l, probability: *s }).collect();
        to_js(&rows)
    }

    /// Forgets examples exactly; returns the forget report.
    pub fn forget(&mut self, ids: Vec<String>) -> Result<JsValue, JsValue> {
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let r = crate::model::Unlearner::forget(&mut self.model, &refs).map_err(js_error)?;
        to_js(&r)
    }

    /// Forgets a whole class; returns the forget report.
    #[wasm_bindgen(js_name = removeClass)]
    pub fn remove_class(&mut self, label: &str) -> Result<JsValue, JsValue> {
        let r = self.model.remove_class(label).map_err(js_error)?;
        to_js(&r)
    }

    /// Replays every adapter and compares bitwise.
    pub fn verify(&self) -> Result<JsValue, JsValue> {
        let r = self.model.verify().map_err(js_error)?;
        to_js(&r)
    }

    /// The whole state as versioned, checksummed bytes.
    /// The bytes are copied out to JS and overwritten in wasm memory, which would otherwise keep
    /// every exported encoding in freed memory, long after a forget.
    #[wasm_bindgen(js_name = exportBytes)]
    pub fn export_bytes(&self) -> Uint8Array {
        let bytes = Zeroizing::new(self.model.export());
        Uint8Array::from(bytes.as_slice())
    }

    /// Replaces the state by a snapshot (same encoder); on error nothing changes. The copy in
    /// wasm memory is overwritten once decoded.
    #[wasm_bindgen(js_name = importBytes)]
    pub fn import_bytes(&mut self, bytes: &Uint8Array) -> Result<(), JsValue> {
        let bytes = Zeroizing::new(bytes.to_vec());
        self.model.restore(&bytes).map_err(js_error)
    }

    /// `{ labels, examples: [{ id, label, adapters }], pendingAdapters, adapters, activated, memberCounts }`.
    pub fn state(&self) -> Result<JsValue, JsValue> {
        to_js(&self.model.summary())
    }

    /// Sizes in bytes and counts.
    pub fn memory(&self) -> Result<JsValue, JsValue> {
        #[derive(serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Memory {
            #[serde(flatten)]
            model: crate::model::MemoryReport,
            wasm_bytes: u32,
        }
        let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
        let wasm_bytes = memory.buffer().unchecked_into::<js_sys::ArrayBuffer>().byte_length();
        to_js(&Memory { model: self.model.memory(), wasm_bytes })
    }

    /// Runs LegoNet, Retrain, FixSISA and KNN on the stored encodings (one held-out fold for
    /// accuracy) and forgets `ids` under each: `[{ method, trainMs, forgetMs, ... }]`.
    pub fn compare(&self, ids: Vec<String>) -> Result<JsValue, JsValue> {
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let rows = crate::compare::compare(&self.model, &refs).map_err(js_error)?;
        to_js(&rows)
    }
}
