//! HMAC-SHA256 and HKDF-SHA256: ours against RustCrypto `hmac`/`hkdf` 0.12 (same `sha2`).
//!
//! `cargo bench -p sans-io-proto --bench mac_kdf`

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hmac::Mac;
use sans_io_proto::crypto::{hkdf, hmac as ours};

fn hmac_bench(c: &mut Criterion) {
    let key = [7u8; 32];
    let mut group = c.benchmark_group("hmac_sha256");
    for size in [64usize, 16 * 1024] {
        let data = vec![0xa5u8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("ours", size), &size, |b, _| {
            b.iter(|| ours::hmac_sha256(&key, &data))
        });
        group.bench_with_input(BenchmarkId::new("rustcrypto", size), &size, |b, _| {
            b.iter(|| {
                let mut m = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(&key).unwrap();
                m.update(&data);
                m.finalize().into_bytes()
            })
        });
    }
    group.finish();
}

fn hkdf_bench(c: &mut Criterion) {
    let ikm = [1u8; 32];
    let salt = [2u8; 32];
    let info = b"e2e-chat v1 message keys";
    let mut group = c.benchmark_group("hkdf_sha256_32_to_96");
    group.bench_function("ours", |b| {
        b.iter(|| {
            let mut out = [0u8; 96];
            hkdf::hkdf(&salt, &ikm, info, &mut out).unwrap();
            out
        })
    });
    group.bench_function("rustcrypto", |b| {
        b.iter(|| {
            let mut out = [0u8; 96];
            ::hkdf::Hkdf::<sha2::Sha256>::new(Some(&salt), &ikm)
                .expand(info, &mut out)
                .unwrap();
            out
        })
    });
    group.finish();
}

criterion_group!(benches, hmac_bench, hkdf_bench);
criterion_main!(benches);
