//! Structure-aware fuzz of snapshot import: bytes from anywhere must never panic, abort, hang or
//! allocate more than a bound tied to their length. Valid snapshots of several models are mutated
//! field by field (boundary and huge counts, NaN/∞ floats, wrong labels and routes, invalid
//! UTF-8), truncated, and given duplicated or dropped chunks, then re-sealed with the right length
//! and checksum so the parser itself is reached. Every case must give a snapshot error with the
//! target model untouched, or a model that re-encodes and decodes to itself and verifies
//! without panicking. `LEGONET_FUZZ_CASES` sets the number of cases (100,000 by default).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{CHECKSUM, Field, HEADER, encode_traced, seal};
use crate::head::{HeadConfig, HeadKind};
use crate::model::tests::{dataset, model};
use crate::model::{LegoNet, LegoNetConfig};
use crate::{Error, Unlearner};

/// Records the largest single allocation made on this thread while armed.
struct Tracking;

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = ARMED.try_with(|armed| {
        if armed.get() {
            LARGEST.with(|l| l.set(l.get().max(size)));
        }
    });
}

// SAFETY: forwards every call to the system allocator unchanged; `note` only reads and writes
// const-initialised thread-locals (no allocation, no destructor).
unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Tracking = Tracking;

/// Models whose snapshots are the seeds: fixed and adaptive structure, ridge and softmax heads,
/// pending adapters, empty.
fn seeds() -> Vec<LegoNet> {
    let mut out = Vec::new();
    let mut fixed = model(&LegoNetConfig::new().fixed(8, 2), 3);
    for (id, x, l) in dataset(50, 3, 2) {
        fixed.add(&id, &x, &l).unwrap();
    }
    fixed.train().unwrap();
    for (id, x, l) in dataset(5, 3, 9) {
        fixed.add(&format!("late-{id}"), &x, &l).unwrap(); // pending adapters
    }
    out.push(fixed);
    let mut adaptive = model(&LegoNetConfig::new(), 2);
    for (id, x, l) in dataset(30, 2, 4) {
        adaptive.add(&id, &x, &l).unwrap();
    }
    adaptive.train().unwrap();
    out.push(adaptive);
    let head = HeadConfig::new().with_kind(HeadKind::Softmax).with_epochs(2).with_batch_size(8);
    let mut softmax = model(&LegoNetConfig::new().fixed(4, 1).with_head(head), 2);
    for (id, x, l) in dataset(20, 2, 5) {
        softmax.add(&id, &x, &l).unwrap();
    }
    softmax.train().unwrap();
    out.push(softmax);
    out.push(model(&LegoNetConfig::new().fixed(8, 3), 2));
    out
}

const U64S: [u64; 14] =
    [0, 1, 2, 3, 7, 8, 1 << 31, u32::MAX as u64, 1 << 32, 1 << 40, i64::MAX as u64, u64::MAX - 1, u64::MAX, 119];
const U32S: [u32; 8] = [0, 1, 2, 7, 1 << 31, u32::MAX - 1, u32::MAX, 255];
const F64S: [f64; 9] = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, -0.0, 1e308, 5e-324, -1.0, 1e-300];
const F32S: [f32; 8] = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, f32::MAX, -f32::MAX, 1e-45, 0.0, -0.0];

fn start(f: Field) -> usize {
    match f {
        Field::U8(a) | Field::U32(a) | Field::U64(a) | Field::F64(a) | Field::Str(a, _) | Field::F32s(a, _) => a,
    }
}

fn put(b: &mut [u8], at: usize, v: &[u8]) {
    b[at..at + v.len()].copy_from_slice(v);
}

/// One structure-aware mutation of `b` (a whole snapshot); returns what it did.
fn mutate(rng: &mut ChaCha8Rng, b: &mut Vec<u8>, fields: &[Field]) -> String {
    let body_end = b.len() - CHECKSUM;
    let pick = |rng: &mut ChaCha8Rng| fields[rng.random_range(0..fields.len())];
    match rng.random_range(0..10) {
        0..=4 => match pick(rng) {
            Field::U8(a) => {
                let v = [0u8, 1, 2, 3, 255, rng.random()][rng.random_range(0..6)];
                b[a] = v;
                format!("u8 at {a} = {v}")
            }
            Field::U32(a) => {
                let v = U32S[rng.random_range(0..U32S.len())];
                put(b, a, &v.to_le_bytes());
                format!("u32 at {a} = {v}")
            }
            Field::U64(a) => {
                let v =
                    if rng.random_bool(0.3) { rng.random_range(0..200) } else { U64S[rng.random_range(0..U64S.len())] };
                put(b, a, &v.to_le_bytes());
                format!("u64 at {a} = {v}")
            }
            Field::F64(a) => {
                let v = F64S[rng.random_range(0..F64S.len())];
                put(b, a, &v.to_bits().to_le_bytes());
                format!("f64 at {a} = {v}")
            }
            Field::Str(a, n) => match rng.random_range(0..4) {
                0 => {
                    let v = U32S[rng.random_range(0..U32S.len())];
                    put(b, a, &v.to_le_bytes());
                    format!("string length at {a} = {v}")
                }
                1 if n > 0 => {
                    b[a + 4 + rng.random_range(0..n)] = 0xff;
                    format!("invalid UTF-8 in the string at {a}")
                }
                _ => {
                    // Another string of the same length put here: a wrong label, class or id.
                    let same: Vec<usize> =
                        fields.iter().filter(|f| matches!(f, Field::Str(_, m) if *m == n)).map(|f| start(*f)).collect();
                    let from = same[rng.random_range(0..same.len())];
                    let src = b[from + 4..from + 4 + n].to_vec();
                    put(b, a + 4, &src);
                    format!("string at {a} replaced by the one at {from}")
                }
            },
            Field::F32s(a, n) => {
                if n == 0 || rng.random_bool(0.3) {
                    let v = U64S[rng.random_range(0..U64S.len())];
                    put(b, a, &v.to_le_bytes());
                    format!("float count at {a} = {v}")
                } else {
                    let i = rng.random_range(0..n);
                    let v = F32S[rng.random_range(0..F32S.len())];
                    put(b, a + 8 + 4 * i, &v.to_bits().to_le_bytes());
                    format!("float {i} of the array at {a} = {v}")
                }
            }
        },
        5 => {
            let at = if rng.random_bool(0.5) { start(pick(rng)) } else { rng.random_range(HEADER..body_end) };
            b.splice(at..body_end, []);
            format!("body truncated at {at}")
        }
        6 => {
            let (x, y) = (start(pick(rng)), start(pick(rng)));
            let (x, y) = (x.min(y), x.max(y).max(x.min(y) + 1).min(body_end));
            let chunk = b[x..y].to_vec();
            b.splice(y..y, chunk);
            format!("bytes {x}..{y} duplicated")
        }
        7 => {
            let (x, y) = (start(pick(rng)), start(pick(rng)));
            let (x, y) = (x.min(y), x.max(y));
            b.splice(x..y, []);
            format!("bytes {x}..{y} dropped")
        }
        8 => {
            let at = rng.random_range(HEADER..body_end);
            b[at] ^= 1 << rng.random_range(0..8);
            format!("bit flipped at {at}")
        }
        _ => {
            let (x, y) = (pick(rng), pick(rng));
            let (x, y) = (start(x).min(start(y)), start(x).max(start(y)));
            if y - x >= 8 {
                b[x..y].rotate_left(4);
            }
            format!("bytes {x}..{y} rotated by 4")
        }
    }
}

#[test]
fn mutated_snapshots_never_panic_allocate_unboundedly_or_hang() {
    let cases: usize = std::env::var("LEGONET_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let seeds: Vec<(LegoNet, Vec<u8>, Vec<Field>)> = seeds()
        .into_iter()
        .map(|m| {
            let (bytes, fields) = encode_traced(&m);
            (m, bytes, fields)
        })
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let (mut rejected, mut accepted, mut failures) = (0usize, 0usize, Vec::new());
    let mut slowest = Duration::ZERO;
    let mut largest_ratio = 0.0f64;
    let loud = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {})); // inside the cases a panic is recorded as a failure
    for case in 0..cases {
        let (seed, bytes, fields) = &seeds[case % seeds.len()];
        let mut b = bytes.clone();
        let mut what = mutate(&mut rng, &mut b, fields);
        if b.len() == bytes.len() && rng.random_bool(0.2) {
            // (Only while the fields are still where they were.)
            what = format!("{what}; {}", mutate(&mut rng, &mut b, fields));
        }
        let body = b[HEADER..b.len() - CHECKSUM].to_vec();
        let input = seal(&body);
        let mut target = seed.clone();
        // The key set is the reader's, not the input's: its bytes are a fixed cost, not the input's.
        let fixed = target.keys().anchors().len() * 4 + (1 << 16);
        let t = Instant::now();
        ARMED.with(|a| a.set(true));
        LARGEST.with(|l| l.set(0));
        let result = catch_unwind(AssertUnwindSafe(|| target.restore(&input)));
        ARMED.with(|a| a.set(false));
        let largest = LARGEST.with(Cell::get);
        let took = t.elapsed();
        slowest = slowest.max(took);
        largest_ratio = largest_ratio.max(largest.saturating_sub(fixed) as f64 / input.len() as f64);
        let fail = |why: String| format!("case {case} ({what}): {why}");
        if largest > fixed + 4 * input.len() {
            failures.push(fail(format!("allocated {largest} bytes for a {}-byte input", input.len())));
        }
        if took > Duration::from_secs(5) {
            failures.push(fail(format!("took {took:?}")));
        }
        match result {
            Err(_) => failures.push(fail("panicked".into())),
            Ok(Err(Error::CorruptSnapshot(_) | Error::SnapshotVersion { .. } | Error::EncoderMismatch { .. })) => {
                rejected += 1;
                if target != *seed {
                    failures.push(fail("a rejected import changed the model".into()));
                }
            }
            Ok(Err(e)) => failures.push(fail(format!("error of the wrong kind: {e:?}"))),
            Ok(Ok(())) => {
                accepted += 1;
                // Whatever was accepted must predict (an answer or a typed error, never a panic).
                let probe = vec![0.5f32; target.keys().dim()];
                if catch_unwind(AssertUnwindSafe(|| target.predict(&probe))).is_err() {
                    failures.push(fail("accepted, then predict panicked".into()));
                }
                let again = target.export();
                match catch_unwind(AssertUnwindSafe(|| {
                    (LegoNet::import(&again, "test-encoder", seed.keys()), target.verify())
                })) {
                    // A model with pending adapters cannot verify until trained: that is the answer.
                    Ok((Ok(back), Ok(_) | Err(Error::NotTrained(_)))) if back == target => {}
                    Ok((Ok(_), Ok(_))) => {
                        failures.push(fail("accepted, but its re-encoding decodes to another model".into()))
                    }
                    Ok((Err(e), _)) => failures.push(fail(format!("accepted, but its re-encoding is refused: {e}"))),
                    Ok((_, Err(e))) => failures.push(fail(format!("accepted, but verify errs: {e}"))),
                    Err(_) => failures.push(fail("accepted, then re-encoding or verify panicked".into())),
                }
            }
        }
        if failures.len() > 20 {
            break;
        }
    }
    std::panic::set_hook(loud);
    eprintln!(
        "snapshot fuzz: {cases} cases, {rejected} rejected with a snapshot error, {accepted} accepted (valid after \
         mutation), {} failures; slowest case {slowest:?}; largest allocation beyond the key set {largest_ratio:.2}× the input",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
