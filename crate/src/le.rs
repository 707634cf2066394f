//! Little-endian f32 arrays: the byte order of the weight file, of snapshots and of the raw
//! tensors and encoding caches the command line reads, whatever the machine's own order.

/// The f32s of `bytes` (a multiple of 4 long; a shorter tail is ignored).
pub fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_little_endian_whatever_the_host() {
        assert_eq!(super::f32s(&[0, 0, 128, 63, 0, 0, 0, 192, 9]), vec![1.0, -2.0]);
    }
}
