//! Little-endian f32 and f16 arrays: the byte order of the weight file, of snapshots and of the
//! raw tensors and encoding caches the command line reads, whatever the machine's own order.
//! f16 (IEEE binary16) is only a storage format here: it is widened to f32, exactly, on read.

/// The f32s of `bytes` (a multiple of 4 long; a shorter tail is ignored).
pub fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

/// The f16s of `bytes` widened to f32 (a multiple of 2 long; a shorter tail is ignored).
pub fn f16s(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(2).map(|c| widen_f16(u16::from_le_bytes([c[0], c[1]]))).collect()
}

/// The f32 equal to the binary16 with these bits. Exact: f32 has more exponent and mantissa
/// bits, so every f16 (subnormals, infinities and NaN payloads included) has an f32 twin.
pub fn widen_f16(bits: u16) -> f32 {
    let sign = u32::from(bits & 0x8000) << 16;
    let exponent = u32::from((bits >> 10) & 0x1f);
    let mantissa = u32::from(bits & 0x3ff);
    let magnitude = match exponent {
        // Zero and subnormals: mantissa × 2⁻²⁴, a normal f32 (or 0); the product by a power of
        // two is exact.
        0 => (mantissa as f32 * f32::from_bits(0x3380_0000)).to_bits(),
        // Infinity and NaN: all-ones exponent, the payload kept in the top mantissa bits.
        0x1f => 0x7f80_0000 | (mantissa << 13),
        // Normal: rebias the exponent (15 → 127) and move the mantissa up.
        _ => ((exponent + 127 - 15) << 23) | (mantissa << 13),
    };
    f32::from_bits(sign | magnitude)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_little_endian_whatever_the_host() {
        assert_eq!(f32s(&[0, 0, 128, 63, 0, 0, 0, 192, 9]), vec![1.0, -2.0]);
        assert_eq!(f16s(&[0x00, 0x3c, 0x00, 0xc0, 9]), vec![1.0, -2.0]);
    }

    /// Every one of the 65,536 bit patterns against binary16's definition evaluated in f64:
    /// (−1)^s × m × 2⁻²⁴ for exponent 0, (−1)^s × (1024 + m) × 2^(e − 25) otherwise.
    #[test]
    fn widening_is_exact_for_every_f16() {
        for bits in 0..=u16::MAX {
            let (s, e, m) = (bits >> 15, i32::from((bits >> 10) & 0x1f), f64::from(bits & 0x3ff));
            let sign = if s == 1 { -1.0 } else { 1.0 };
            let got = widen_f16(bits);
            assert_eq!(got.is_sign_negative(), s == 1, "{bits:#06x}: sign");
            match e {
                0x1f if m == 0.0 => assert_eq!(f64::from(got), sign * f64::INFINITY, "{bits:#06x}"),
                // A NaN keeps its payload: the top 10 mantissa bits of the f32.
                0x1f => assert!(got.is_nan() && (got.to_bits() >> 13) & 0x3ff == u32::from(bits & 0x3ff)),
                0 => assert_eq!(f64::from(got), sign * m * 2f64.powi(-24), "{bits:#06x}"),
                _ => assert_eq!(f64::from(got), sign * (1024.0 + m) * 2f64.powi(e - 25), "{bits:#06x}"),
            }
        }
        // Landmarks: the largest f16, the smallest subnormal, one.
        assert_eq!((widen_f16(0x7bff), widen_f16(0x0001), widen_f16(0x3c00)), (65504.0, 2f32.powi(-24), 1.0));
    }
}
