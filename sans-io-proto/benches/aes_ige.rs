//! AES-256-IGE throughput: our hardware (AES-NI) and portable (bitsliced, constant-time) back ends
//! against grammers-crypto's IGE and an IGE loop over RustCrypto `aes` (one block-cipher call per
//! block, its autodetected back end; run with `RUSTFLAGS="--cfg aes_force_soft"` to measure
//! RustCrypto's software back end instead, as BENCHMARKS.md does for the portable comparison).
//!
//! `cargo bench -p sans-io-proto --bench aes_ige`

use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sans_io_proto::crypto::aes::{Aes256, Backend};

fn rustcrypto_ige_encrypt(cipher: &aes::Aes256, iv: &[u8; 32], data: &mut [u8]) {
    let mut c_prev = aes::Block::clone_from_slice(&iv[..16]);
    let mut p_prev = aes::Block::clone_from_slice(&iv[16..]);
    for chunk in data.chunks_exact_mut(16) {
        let p = aes::Block::clone_from_slice(chunk);
        let mut x = p;
        for (a, b) in x.iter_mut().zip(c_prev.iter()) {
            *a ^= b;
        }
        cipher.encrypt_block(&mut x);
        for (a, b) in x.iter_mut().zip(p_prev.iter()) {
            *a ^= b;
        }
        chunk.copy_from_slice(&x);
        c_prev = x;
        p_prev = p;
    }
}

fn rustcrypto_ige_decrypt(cipher: &aes::Aes256, iv: &[u8; 32], data: &mut [u8]) {
    let mut c_prev = aes::Block::clone_from_slice(&iv[..16]);
    let mut p_prev = aes::Block::clone_from_slice(&iv[16..]);
    for chunk in data.chunks_exact_mut(16) {
        let c = aes::Block::clone_from_slice(chunk);
        let mut x = c;
        for (a, b) in x.iter_mut().zip(p_prev.iter()) {
            *a ^= b;
        }
        cipher.decrypt_block(&mut x);
        for (a, b) in x.iter_mut().zip(c_prev.iter()) {
            *a ^= b;
        }
        chunk.copy_from_slice(&x);
        c_prev = c;
        p_prev = x;
    }
}

fn ige(c: &mut Criterion) {
    let key = [0x42u8; 32];
    let iv = [0x17u8; 32];
    let hw = Aes256::with_backend(&key, Backend::Hardware);
    let soft = Aes256::with_backend(&key, Backend::Portable).expect("portable always available");
    let reference = aes::Aes256::new(&key.into());
    for (direction, encrypt) in [("encrypt", true), ("decrypt", false)] {
        let mut group = c.benchmark_group(format!("ige_{direction}"));
        for size in [256usize, 16 * 1024] {
            group.throughput(Throughput::Bytes(size as u64));
            let mut data = vec![0x5au8; size];
            if let Some(hw) = &hw {
                group.bench_with_input(BenchmarkId::new("ours_hardware", size), &size, |b, _| {
                    b.iter(|| {
                        if encrypt {
                            hw.ige_encrypt(&iv, &mut data)
                        } else {
                            hw.ige_decrypt(&iv, &mut data)
                        }
                    })
                });
            }
            group.bench_with_input(BenchmarkId::new("ours_portable", size), &size, |b, _| {
                b.iter(|| {
                    if encrypt {
                        soft.ige_encrypt(&iv, &mut data)
                    } else {
                        soft.ige_decrypt(&iv, &mut data)
                    }
                })
            });
            group.bench_with_input(BenchmarkId::new("grammers_crypto", size), &size, |b, _| {
                b.iter(|| {
                    if encrypt {
                        grammers_crypto::aes::ige_encrypt(&mut data, &key, &iv)
                    } else {
                        grammers_crypto::aes::ige_decrypt(&mut data, &key, &iv)
                    }
                })
            });
            group.bench_with_input(
                BenchmarkId::new("rustcrypto_aes_loop", size),
                &size,
                |b, _| {
                    b.iter(|| {
                        if encrypt {
                            rustcrypto_ige_encrypt(&reference, &iv, &mut data)
                        } else {
                            rustcrypto_ige_decrypt(&reference, &iv, &mut data)
                        }
                    })
                },
            );
        }
        group.finish();
    }
}

criterion_group!(benches, ige);
criterion_main!(benches);
