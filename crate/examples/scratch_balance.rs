use legonet::{EncoderHead, KeySet, activation};
fn f32s(b: &[u8]) -> Vec<f32> { b.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect() }
fn main() {
    let bytes = std::fs::read(std::env::var("HOME").unwrap() + "/.cache/legonet/weights/efficientnet-lite0.safetensors").unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let t = |n: &str| f32s(st.tensor(n).unwrap().data());
    let (fc, w, b) = (t("_fc.weight"), t("_bn1.weight"), t("_bn1.bias"));
    let head = EncoderHead { fc_weight: &fc, bn_weight: &w, bn_bias: &b, dim: 1280 };
    for file in ["/tmp/fm.f32", "/tmp/gc.f32"] {
        let e = f32s(&std::fs::read(file).unwrap());
        let rows: Vec<&[f32]> = e.chunks(1280).collect();
        let mean: f32 = e.iter().sum::<f32>() / e.len() as f32;
        println!("{file}: {} rows, mean value {mean:.3}", rows.len());
        for n in [8, 16, 32, 64, 128] {
            let keys = KeySet::derive(head, n, 0, "x").unwrap();
            
            for k in [1, 2] {
                let mut counts = vec![0usize; n];
                for r in &rows { for a in activation::activate(&keys, r, k) { counts[a] += 1; } }
                let (lo, med, hi) = activation::load_balance(&counts);
                let empty = counts.iter().filter(|&&c| c == 0).count();
                println!("  n={n} k={k}: min {lo} median {med} max {hi} empty {empty}");
            }
        }
    }
}
