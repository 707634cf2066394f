use legonet::{HeadConfig, HeadKind};
use rand::{RngExt, SeedableRng};
fn main() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let d = 1280;
    let data: Vec<(Vec<f32>, String)> = (0..2000).map(|i| ((0..d).map(|_| rng.random::<f32>()*6.0).collect(), format!("c{}", i%10))).collect();
    for (kind, ms) in [(HeadKind::Ridge, vec![30usize, 60, 125, 250, 500, 1000, 2000]), (HeadKind::Softmax, vec![30, 125, 500, 2000])] {
        for m in ms {
            let mem: Vec<(&[f32], &str)> = data[..m].iter().map(|(x,l)| (x.as_slice(), l.as_str())).collect();
            let cfg = HeadConfig::new().with_kind(kind);
            let t = std::time::Instant::now();
            let p = cfg.train(&mem, d, 1).unwrap();
            println!("{kind:?} m={m}: {:.1} ms ({} params)", t.elapsed().as_secs_f64()*1e3, p.num_params());
        }
    }
}
