//! Randomized differential tests against reference implementations (dev-dependencies only):
//! RustCrypto `aes`, `hmac`, `hkdf`, `rsa`, and `grammers-crypto`'s IGE.

mod common;

use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sans_io_proto::crypto::aes::{Aes256, Backend};
use sans_io_proto::crypto::{hkdf, hmac, ige, rsa as ours};

fn our_backends(key: &[u8; 32]) -> Vec<Aes256> {
    let mut v = vec![Aes256::with_backend(key, Backend::Portable).unwrap()];
    v.extend(Aes256::with_backend(key, Backend::Hardware));
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn aes_both_backends_equal_rustcrypto(key in any::<[u8; 32]>(), block in any::<[u8; 16]>()) {
        use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
        let reference = aes::Aes256::new(&key.into());
        let mut want = aes::Block::from(block);
        reference.encrypt_block(&mut want);
        for ours in our_backends(&key) {
            let mut got = block;
            ours.encrypt_block(&mut got);
            prop_assert_eq!(got.as_slice(), want.as_slice(), "{:?}", ours.backend());
            let mut back = want;
            reference.decrypt_block(&mut back);
            let mut got_back = got;
            ours.decrypt_block(&mut got_back);
            prop_assert_eq!(got_back, block);
            prop_assert_eq!(back.as_slice(), block.as_slice());
        }
    }

    #[test]
    fn ige_equals_grammers_crypto(key in any::<[u8; 32]>(), iv in any::<[u8; 32]>(), blocks in 0usize..40, seed in any::<u64>()) {
        let mut data = vec![0u8; blocks * 16];
        rand_core::RngCore::fill_bytes(&mut ChaCha20Rng::seed_from_u64(seed), &mut data);
        let mut want = data.clone();
        grammers_crypto::aes::ige_encrypt(&mut want, &key, &iv);
        for ours in our_backends(&key) {
            let mut got = data.clone();
            ours.ige_encrypt(&iv, &mut got).unwrap();
            prop_assert_eq!(&got, &want, "{:?}", ours.backend());
            ours.ige_decrypt(&iv, &mut got).unwrap();
            prop_assert_eq!(&got, &data);
        }
        let mut theirs_back = want.clone();
        grammers_crypto::aes::ige_decrypt(&mut theirs_back, &key, &iv);
        prop_assert_eq!(&theirs_back, &data);
        let mut via_fn = data.clone();
        ige::ige_encrypt(&key, &iv, &mut via_fn).unwrap();
        prop_assert_eq!(via_fn, want);
    }

    #[test]
    fn ige_rejects_every_misaligned_length(len in 0usize..200) {
        let mut data = vec![0u8; len];
        let r = ige::ige_encrypt(&[1; 32], &[2; 32], &mut data);
        prop_assert_eq!(r.is_ok(), len % 16 == 0);
    }

    #[test]
    fn hmac_equals_rustcrypto(key in proptest::collection::vec(any::<u8>(), 0..200), msg in proptest::collection::vec(any::<u8>(), 0..600), split in any::<usize>()) {
        use ::hmac::Mac;
        let mut reference = <::hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(&key).unwrap();
        reference.update(&msg);
        let want = reference.finalize().into_bytes();
        let mut ours = hmac::HmacSha256::new(&key);
        let at = if msg.is_empty() { 0 } else { split % msg.len() };
        ours.update(&msg[..at]);
        ours.update(&msg[at..]);
        let got = ours.finalize();
        prop_assert_eq!(got.as_slice(), want.as_slice());
    }

    #[test]
    fn hkdf_equals_rustcrypto(salt in proptest::collection::vec(any::<u8>(), 0..100), ikm in proptest::collection::vec(any::<u8>(), 0..100), info in proptest::collection::vec(any::<u8>(), 0..100), len in 0usize..600) {
        let mut want = vec![0u8; len];
        ::hkdf::Hkdf::<sha2::Sha256>::new(Some(&salt), &ikm).expand(&info, &mut want).unwrap();
        let mut got = vec![0u8; len];
        hkdf::hkdf(&salt, &ikm, &info, &mut got).unwrap();
        prop_assert_eq!(got, want);
    }
}

fn reference_key(ours: &sans_io_proto::IdentityKeyPair) -> rsa::RsaPrivateKey {
    let bytes = ours.to_private_bytes();
    let p = rsa::BigUint::from_bytes_be(&bytes[1..129]);
    let q = rsa::BigUint::from_bytes_be(&bytes[129..257]);
    rsa::RsaPrivateKey::from_p_q(p, q, rsa::BigUint::from(65537u32)).unwrap()
}

#[test]
fn oaep_interoperates_with_the_rsa_crate_both_ways() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    for (i, id) in common::identities().iter().take(3).enumerate() {
        let theirs = reference_key(id);
        let private = ours::RsaPrivateKey::from_bytes(&id.to_private_bytes()).unwrap();
        let public = private.public_key();
        for len in [0usize, 1, 31, 32, 33, 100, 190] {
            let msg: Vec<u8> = (0..len).map(|j| (j * 7 + i) as u8).collect();
            let label = format!("label {i} {len}");
            // Ours encrypts, theirs decrypts.
            let ct = public
                .oaep_encrypt(&mut rng, &msg, label.as_bytes())
                .unwrap();
            let pt = theirs
                .decrypt(
                    rsa::Oaep::new_with_label::<sha2::Sha256, _>(label.clone()),
                    &ct,
                )
                .unwrap();
            assert_eq!(pt, msg);
            // Theirs encrypts, ours decrypts.
            let ct = theirs
                .to_public_key()
                .encrypt(
                    &mut rng,
                    rsa::Oaep::new_with_label::<sha2::Sha256, _>(label.clone()),
                    &msg,
                )
                .unwrap();
            assert_eq!(
                private
                    .oaep_decrypt(&mut rng, &ct, label.as_bytes())
                    .unwrap()
                    .as_slice(),
                msg.as_slice()
            );
            // And a wrong label is refused by ours.
            assert!(private.oaep_decrypt(&mut rng, &ct, b"other").is_err());
        }
    }
}

#[test]
fn generated_keys_are_valid_for_the_rsa_crate() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let ours = sans_io_proto::IdentityKeyPair::generate(&mut rng);
    let theirs = reference_key(&ours);
    rsa::traits::PrivateKeyParts::primes(&theirs);
    theirs.validate().unwrap();
    assert_eq!(
        rsa::traits::PublicKeyParts::n(&theirs).to_bytes_be(),
        ours.public().key().modulus().to_vec()
    );
}
