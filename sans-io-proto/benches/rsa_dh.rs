//! RSA-2048 (key generation, OAEP encrypt/decrypt) against the `rsa` 0.9 crate, and DH-2048 key
//! generation and agreement (no reference crate does finite-field DH; a bare `num-bigint` modpow
//! with a 256-bit exponent is shown as the floor).
//!
//! `cargo bench -p sans-io-proto --bench rsa_dh`

use criterion::{Criterion, criterion_group, criterion_main};
use num_bigint::BigUint;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sans_io_proto::crypto::dh::DhPrivateKey;
use sans_io_proto::crypto::rsa::RsaPrivateKey;

fn rsa_bench(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    {
        let mut group = c.benchmark_group("rsa2048_keygen");
        group.sample_size(10);
        group.bench_function("ours", |b| b.iter(|| RsaPrivateKey::generate(&mut rng)));
        group.bench_function("rsa_crate", |b| {
            b.iter(|| rsa::RsaPrivateKey::new(&mut rng, 2048).unwrap())
        });
        group.finish();
    }
    let ours = RsaPrivateKey::generate(&mut rng);
    let bytes = ours.to_bytes();
    let theirs = rsa::RsaPrivateKey::from_p_q(
        rsa::BigUint::from_bytes_be(&bytes[1..129]),
        rsa::BigUint::from_bytes_be(&bytes[129..257]),
        rsa::BigUint::from(65537u32),
    )
    .unwrap();
    let public = ours.public_key();
    let msg = [9u8; 32];
    let label = "e2e-chat v1 kem";
    let mut group = c.benchmark_group("rsa2048_oaep");
    group.bench_function("encrypt/ours", |b| {
        b.iter(|| {
            public
                .oaep_encrypt(&mut rng, &msg, label.as_bytes())
                .unwrap()
        })
    });
    group.bench_function("encrypt/rsa_crate", |b| {
        let pk = theirs.to_public_key();
        b.iter(|| {
            pk.encrypt(
                &mut rng,
                rsa::Oaep::new_with_label::<sha2::Sha256, _>(label),
                &msg,
            )
            .unwrap()
        })
    });
    let ct = public
        .oaep_encrypt(&mut rng, &msg, label.as_bytes())
        .unwrap();
    group.bench_function("decrypt/ours", |b| {
        b.iter(|| ours.oaep_decrypt(&mut rng, &ct, label.as_bytes()).unwrap())
    });
    group.bench_function("decrypt/rsa_crate", |b| {
        b.iter(|| {
            theirs
                .decrypt_blinded(
                    &mut rng,
                    rsa::Oaep::new_with_label::<sha2::Sha256, _>(label),
                    &ct,
                )
                .unwrap()
        })
    });
    group.finish();
}

fn dh_bench(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let peer = DhPrivateKey::generate(&mut rng).public_key();
    let mine = DhPrivateKey::generate(&mut rng);
    let p = BigUint::parse_bytes(
        b"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3BE39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF",
        16,
    )
    .unwrap();
    let x = BigUint::from_bytes_be(&[0xab; 32]);
    let y = BigUint::from_bytes_be(peer.as_bytes());
    let mut group = c.benchmark_group("dh2048");
    group.bench_function("keygen/ours", |b| {
        b.iter(|| DhPrivateKey::generate(&mut rng))
    });
    group.bench_function("agree/ours", |b| b.iter(|| mine.agree(&peer).unwrap()));
    group.bench_function("validate_peer/ours", |b| {
        b.iter(|| sans_io_proto::crypto::dh::DhPublicKey::from_bytes(peer.as_bytes()).unwrap())
    });
    group.bench_function("modpow_256bit_floor/num_bigint", |b| {
        b.iter(|| y.modpow(&x, &p))
    });
    group.finish();
}

criterion_group!(benches, rsa_bench, dh_bench);
criterion_main!(benches);
