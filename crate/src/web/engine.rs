//! [`WasmEngine`]: the encoder plus one LegoNet model, as the package's Worker drives it.

use std::rc::Rc;

use js_sys::{Float32Array, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use zeroize::Zeroizing;

use super::{fresh_salt, js_error, load_encoder, random_id, to_js};
use crate::preprocess::rgba_to_input;
use crate::{BackendKind, Encoder, Error};

/// `{ adapters, activated, memberCap, seed }` from JS (all optional; `memberCap: 0` = no cap).
#[derive(serde::Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct JsConfig {
    adapters: Option<usize>,
    activated: Option<usize>,
    member_cap: Option<usize>,
    seed: Option<u64>,
}

/// A forget's report and its receipt, as one JS object.
#[derive(serde::Serialize)]
struct Receipted {
    report: crate::unlearner::ForgetReport,
    receipt: crate::model::ForgetReceipt,
}

impl From<(crate::unlearner::ForgetReport, crate::model::ForgetReceipt)> for Receipted {
    fn from((report, receipt): (crate::unlearner::ForgetReport, crate::model::ForgetReceipt)) -> Self {
        Receipted { report, receipt }
    }
}

/// The whole engine of the npm package's Worker: the encoder plus one LegoNet model.
#[wasm_bindgen]
pub struct WasmEngine {
    encoder: Rc<Encoder>,
    model: crate::model::LegoNet,
    /// Set by `trainBegin` while the Worker trains in chunks (an abort puts it back).
    checkpoint: Option<crate::model::Checkpoint>,
    backend: BackendKind,
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
            if let Some(c) = cfg.member_cap {
                lc.member_cap = (c != 0).then_some(c);
            }
            if let Some(s) = cfg.seed {
                lc.seed = s;
            }
            let (weights, encoder, backend, device) = load_encoder(weights, &backend).await?;
            let keys = weights.key_set(lc.structure(0).0, lc.seed).map_err(js_error)?;
            let model = lc.init(keys).map_err(js_error)?;
            Ok(WasmEngine { encoder, model, checkpoint: None, backend, device }.into())
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
    /// pixels, its preprocessed input, the CPU encoder's activations of it and its encoding are
    /// overwritten in wasm memory once used.
    #[wasm_bindgen(js_name = encodeRgba)]
    pub fn encode_rgba(&self, rgba: &Uint8Array, width: u32, height: u32) -> Promise {
        let input = {
            let pixels = Zeroizing::new(rgba.to_vec());
            rgba_to_input(&pixels, width, height).map(Zeroizing::new)
        };
        let encoder = self.encoder.clone();
        future_to_promise(async move {
            let out = encoder.encode(&input.map_err(js_error)?).await;
            encoder.wipe_scratch();
            let out = out.map_err(js_error)?;
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
        // null/undefined: a fresh id. Anything else must be a string (a number is not taken for one).
        let ids: Vec<String> = ids
            .into_iter()
            .map(|v| match v.as_string() {
                Some(id) => Ok(id),
                None if v.is_null() || v.is_undefined() => Ok(random_id()),
                None => Err(js_error(Error::InvalidInput("sample ids must be strings".into()))),
            })
            .collect::<Result<_, _>>()?;
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

    /// Marks the state a chunked train starts from (see `LegoNet::checkpoint`: the adapters, the
    /// pending set and, before a restructure, the routes; no encoding is copied).
    #[wasm_bindgen(js_name = trainBegin)]
    pub fn train_begin(&mut self) {
        self.checkpoint = Some(self.model.checkpoint());
    }

    /// Ends a chunked train: `abort` puts the model back as it was at `trainBegin`.
    #[wasm_bindgen(js_name = trainEnd)]
    pub fn train_end(&mut self, abort: bool) -> Result<(), JsValue> {
        match self.checkpoint.take() {
            Some(c) if abort => self.model.rollback(c).map_err(js_error),
            _ => Ok(()),
        }
    }

    /// Classifies an encoding: `[{ label, score }]`, best first (the ensemble's score of each
    /// label in [0, 1], see [`crate::model`]). (Its copy in wasm memory
    /// is overwritten after use: the same photo may be added, then forgotten.)
    pub fn predict(&self, encoding: &Float32Array) -> Result<JsValue, JsValue> {
        let encoding = Zeroizing::new(encoding.to_vec());
        #[derive(serde::Serialize)]
        struct ClassScore<'a> {
            label: &'a str,
            score: f32,
        }
        let p = crate::unlearner::Unlearner::predict(&self.model, &encoding).map_err(js_error)?;
        let rows: Vec<ClassScore> = p.scores.iter().map(|(l, s)| ClassScore { label: l, score: *s }).collect();
        to_js(&rows)
    }

    /// Forgets examples exactly; returns `{ report, receipt }` (the forget report and its
    /// deletion receipt, salted with fresh random bytes).
    pub fn forget(&mut self, ids: Vec<String>) -> Result<JsValue, JsValue> {
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let out = self.model.forget_with_receipt(&refs, fresh_salt()).map_err(js_error)?;
        to_js(&Receipted::from(out))
    }

    /// Forgets a whole class; returns `{ report, receipt }` as `forget` does.
    #[wasm_bindgen(js_name = removeClass)]
    pub fn remove_class(&mut self, label: &str) -> Result<JsValue, JsValue> {
        let out = self.model.remove_class_with_receipt(label, fresh_salt()).map_err(js_error)?;
        to_js(&Receipted::from(out))
    }

    /// Compares an encoding with every stored example (see `LegoNet::audit`): `{ held, matches,
    /// nearest, tolerance, examples }`. The copy in wasm memory is overwritten after use.
    pub fn audit(&self, encoding: &Float32Array) -> Result<JsValue, JsValue> {
        let encoding = Zeroizing::new(encoding.to_vec());
        to_js(&self.model.audit(&encoding).map_err(js_error)?)
    }

    /// Checks deletion receipts (an array, oldest first) against the model, as `legonet verify
    /// --receipts` does: `{ receipts, commitments, adaptersReplayed, failures }`. Anything that
    /// is not an array of receipts is an `INVALID_RECEIPT` error.
    #[wasm_bindgen(js_name = checkReceipts)]
    pub fn check_receipts(&self, receipts: JsValue) -> Result<JsValue, JsValue> {
        let chain: Vec<crate::model::ForgetReceipt> = serde_wasm_bindgen::from_value(receipts)
            .map_err(|e| js_error(Error::InvalidReceipt(format!("not an array of receipts ({e})"))))?;
        to_js(&self.model.check_receipts(&chain).map_err(js_error)?)
    }

    /// `{ modelHash, receiptCount, lastReceipt }`: the model hash and where its receipt chain stands.
    pub fn provenance(&self) -> Result<JsValue, JsValue> {
        #[derive(serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Provenance {
            model_hash: String,
            receipt_count: u64,
            last_receipt: Option<String>,
        }
        to_js(&Provenance {
            model_hash: self.model.model_hash(),
            receipt_count: self.model.receipt_count(),
            last_receipt: self.model.last_receipt(),
        })
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

    /// `state()` without the examples: what changes when the examples do not (a train that does
    /// not restructure, a forget whose removed ids the caller knows), so a reply does not carry
    /// thousands of examples for nothing.
    #[wasm_bindgen(js_name = stateCounts)]
    pub fn state_counts(&self) -> Result<JsValue, JsValue> {
        #[derive(serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Counts<'a> {
            labels: Vec<&'a String>,
            pending_adapters: usize,
            adapters: usize,
            activated: usize,
            member_counts: Vec<usize>,
        }
        let (adapters, activated) = self.model.structure();
        to_js(&Counts {
            labels: self.model.classes().collect(),
            pending_adapters: self.model.pending(),
            adapters,
            activated,
            member_counts: self.model.member_counts(),
        })
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
