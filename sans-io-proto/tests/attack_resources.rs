//! Resource use of the client's receive path against a hostile relay (PROTOCOL.md §1 "bounded
//! work"; issue 10 item 3's spirit for everything before the end-to-end layer): the cost of the
//! bytes a relay sends must grow linearly with their number, whatever the chunking.

mod attack_support;
mod common;

use std::time::{Duration, Instant};

use sans_io_proto::frame::RelayFrame;

/// Feeds `data` to a fresh client in chunks of `chunk` bytes; the time per byte, in ns (median of
/// a few runs).
fn ns_per_byte(data: &[u8], chunk: usize) -> f64 {
    let mut runs = Vec::new();
    for _ in 0..3 {
        let now = Instant::now();
        let mut node = attack_support::Node::new(common::alice(), None, 90, now);
        let t = Instant::now();
        for c in data.chunks(chunk) {
            node.client.handle_input(c, now);
            while node.client.poll_output().is_some() {}
        }
        runs.push(t.elapsed().as_nanos() as f64 / data.len() as f64);
        assert!(!node.client.is_broken());
    }
    runs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    runs[1]
}

/// A relay sends small valid frames (Pongs; any small frame will do) in large reads. The frame
/// decoder must not move the rest of its buffer for every frame it takes out (quadratic in the
/// read size): a 256 KiB read must cost about what sixty-four 4 KiB reads cost.
#[test]
fn small_frames_in_large_reads_cost_linear_time() {
    let one = RelayFrame::Pong(7).to_bytes();
    let mut data = Vec::new();
    while data.len() < 1 << 20 {
        data.extend_from_slice(&one);
    }
    let small = ns_per_byte(&data, 4 * 1024);
    let large = ns_per_byte(&data, 256 * 1024);
    let ratio = large / small;
    println!(
        "Pong frames: {small:.1} ns/byte in 4 KiB reads, {large:.1} ns/byte in 256 KiB reads \
         (x{ratio:.1}); 1 MiB of frames in 256 KiB reads take {:?}",
        Duration::from_nanos((large * data.len() as f64) as u64)
    );
    assert!(
        ratio < 3.0,
        "decoding cost grows with the read size: x{ratio:.1} per byte for 64x larger reads"
    );
}
