//! Photo → encoder input, exactly per the encoder contract (shared by native and wasm):
//! RGBA8 (what a browser canvas or a decoder gives) → RGB → resize the shorter side to 256 with
//! antialiased bilinear (Pillow `BILINEAR` = `image`'s triangle filter) → centre crop 224 →
//! `(v - 127) / 128` → planar NCHW `[3, 224, 224]`, channels R, G, B.

use image::{RgbImage, imageops::FilterType};

use crate::{Error, Result};

/// Side of the square the encoder sees.
pub const INPUT_SIZE: usize = 224;
/// Shorter side after resizing, before the centre crop.
pub const RESIZE_SHORT_SIDE: u32 = 256;
/// Floats in one preprocessed image: `3 * 224 * 224`.
pub const INPUT_LEN: usize = 3 * INPUT_SIZE * INPUT_SIZE;
/// Smallest accepted side: below this a photo carries no usable content (and a 1×1 "image" is
/// almost always a bug upstream).
pub const MIN_SIDE: u32 = 16;
/// Largest accepted side; callers downscale huge photos first (a 16k×16k RGBA is 1 GiB).
pub const MAX_SIDE: u32 = 16_384;

/// Largest accepted ratio of the longer side to the shorter: the shorter side is resized to 256
/// first, so a 16×16,384 strip would need a 256×262,144 intermediate (200 MB). No photo is
/// that narrow; 64:1 bounds the intermediate at 12.6 MB.
pub const MAX_ASPECT: u32 = 64;

/// Checks an image's size (sides and aspect ratio); the error says exactly what is wrong.
pub fn validate_size(width: u32, height: u32) -> Result<()> {
    if width < MIN_SIDE || height < MIN_SIDE {
        return Err(Error::InvalidImage(format!(
            "image is {width}×{height}; both sides must be at least {MIN_SIDE} px"
        )));
    }
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(Error::InvalidImage(format!(
            "image is {width}×{height}; sides above {MAX_SIDE} px are not accepted, downscale it first"
        )));
    }
    if width.max(height) / width.min(height) > MAX_ASPECT {
        return Err(Error::InvalidImage(format!(
            "image is {width}×{height}; a side more than {MAX_ASPECT} times the other is not accepted"
        )));
    }
    Ok(())
}

/// Checks an RGBA8 buffer's geometry; the error says exactly what is wrong.
pub fn validate_rgba(rgba: &[u8], width: u32, height: u32) -> Result<()> {
    validate_size(width, height)?;
    let expected = width as usize * height as usize * 4;
    if rgba.len() != expected {
        return Err(Error::InvalidImage(format!(
            "RGBA buffer has {} bytes, {width}×{height}×4 = {expected} expected",
            rgba.len()
        )));
    }
    Ok(())
}

/// Size after resizing the shorter side to 256 (integer arithmetic, as the contract states).
pub fn resized_size(width: u32, height: u32) -> (u32, u32) {
    let s = RESIZE_SHORT_SIDE as u64;
    let (w, h) = (width as u64, height as u64);
    if w <= h { (s as u32, (s * h / w) as u32) } else { ((s * w / h) as u32, s as u32) }
}

/// Preprocesses one RGBA8 image (alpha dropped, not composited) into the encoder input
/// `[3, 224, 224]`, planar, normalised.
pub fn rgba_to_input(rgba: &[u8], width: u32, height: u32) -> Result<Vec<f32>> {
    validate_rgba(rgba, width, height)?;
    let rgb: Vec<u8> = rgba.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
    let rgb = RgbImage::from_raw(width, height, rgb).expect("length checked above");
    Ok(rgb_to_input(&rgb))
}

/// Preprocesses a decoded RGB image (see [`rgba_to_input`]).
pub fn rgb_to_input(rgb: &RgbImage) -> Vec<f32> {
    let (nw, nh) = resized_size(rgb.width(), rgb.height());
    let resized = image::imageops::resize(rgb, nw, nh, FilterType::Triangle);
    let left = (nw as usize - INPUT_SIZE) / 2;
    let top = (nh as usize - INPUT_SIZE) / 2;
    let plane = INPUT_SIZE * INPUT_SIZE;
    let mut out = vec![0f32; INPUT_LEN];
    for y in 0..INPUT_SIZE {
        for x in 0..INPUT_SIZE {
            let p = resized.get_pixel((left + x) as u32, (top + y) as u32).0;
            for c in 0..3 {
                out[c * plane + y * INPUT_SIZE + x] = (p[c] as f32 - 127.0) / 128.0;
            }
        }
    }
    out
}

/// Checks a raw, already preprocessed input: `batch * 3 * 224 * 224` finite floats.
pub fn validate_input(input: &[f32]) -> Result<usize> {
    if input.is_empty() || !input.len().is_multiple_of(INPUT_LEN) {
        return Err(Error::InvalidInput(format!(
            "{} floats given; the input must be a whole number of [3,224,224] images ({INPUT_LEN} floats each)",
            input.len()
        )));
    }
    if let Some(i) = input.iter().position(|v| !v.is_finite()) {
        return Err(Error::InvalidInput(format!("non-finite value at index {i}")));
    }
    Ok(input.len() / INPUT_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resized_size_follows_the_contract() {
        assert_eq!(resized_size(451, 300), (384, 256)); // chelsea: floor(256*451/300)
        assert_eq!(resized_size(300, 451), (256, 384));
        assert_eq!(resized_size(256, 256), (256, 256));
    }

    #[test]
    fn rejects_bad_geometry() {
        assert!(matches!(rgba_to_input(&[0; 4], 1, 1), Err(Error::InvalidImage(_))));
        assert!(matches!(rgba_to_input(&[0; 100], 32, 32), Err(Error::InvalidImage(_))));
        assert!(matches!(validate_rgba(&[], 20_000, 20), Err(Error::InvalidImage(_))));
    }

    #[test]
    fn constant_image_normalises_exactly() {
        let (w, h) = (300u32, 200u32);
        let rgba: Vec<u8> = (0..w * h).flat_map(|_| [255u8, 127, 0, 9]).collect();
        let x = rgba_to_input(&rgba, w, h).unwrap();
        let plane = INPUT_SIZE * INPUT_SIZE;
        assert!(x[..plane].iter().all(|&v| v == 1.0));
        assert!(x[plane..2 * plane].iter().all(|&v| v == 0.0));
        assert!(x[2 * plane..].iter().all(|&v| v == -127.0 / 128.0));
    }

    #[test]
    fn raw_input_is_validated() {
        assert!(validate_input(&[0.0; 10]).is_err());
        let mut x = vec![0.0; INPUT_LEN * 2];
        assert_eq!(validate_input(&x).unwrap(), 2);
        x[5] = f32::NAN;
        assert!(validate_input(&x).is_err());
    }
}
