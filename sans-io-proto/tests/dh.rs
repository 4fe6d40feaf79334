//! DH-2048: the group checker, agreement symmetry, and rejection of every bad public value.

use num_bigint::BigUint;
use num_traits::One;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sans_io_proto::crypto::dh::{DH_LEN, DhError, DhPrivateKey, DhPublicKey, check_group};

fn p() -> BigUint {
    // The group's modulus, recovered from a public value's bounds: the largest valid value is
    // p - 2^1984, which the library exposes only through validation, so rebuild p from RFC 3526.
    let hex = "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3BE39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF";
    BigUint::parse_bytes(hex.as_bytes(), 16).unwrap()
}

fn bytes(x: &BigUint) -> Vec<u8> {
    let b = x.to_bytes_be();
    let mut out = vec![0u8; DH_LEN.saturating_sub(b.len())];
    out.extend_from_slice(&b);
    out
}

#[test]
fn the_embedded_group_is_a_safe_prime_group_generated_by_two() {
    check_group(&mut ChaCha20Rng::seed_from_u64(1)).unwrap();
}

#[test]
fn agreement_is_symmetric_and_256_bytes() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    for _ in 0..16 {
        let a = DhPrivateKey::generate(&mut rng);
        let b = DhPrivateKey::generate(&mut rng);
        let ab = a.agree(&b.public_key()).unwrap();
        let ba = b.agree(&a.public_key()).unwrap();
        assert_eq!(ab.as_bytes(), ba.as_bytes());
        assert_eq!(ab.as_bytes().len(), DH_LEN);
        // Public values round trip through validation, and private keys through their encoding.
        assert_eq!(
            DhPublicKey::from_bytes(a.public_key().as_bytes()).unwrap(),
            a.public_key()
        );
        let a2 = DhPrivateKey::from_bytes(&a.to_bytes()).unwrap();
        assert_eq!(a2.public_key(), a.public_key());
    }
}

#[test]
fn every_bad_public_value_is_rejected_with_a_typed_error() {
    let p = p();
    let one = BigUint::one();
    let bound = BigUint::one() << (2048 - 64);
    let out_of_range = [
        BigUint::from(0u32),
        one.clone(),
        BigUint::from(2u32),
        &bound - 1u32,
        &p - &bound + 1u32,
        &p - 2u32,
        &p - 1u32,
    ];
    for y in out_of_range {
        assert_eq!(
            DhPublicKey::from_bytes(&bytes(&y)),
            Err(DhError::OutOfRange),
            "{y:x}"
        );
    }
    // p, p+1 and all-0xff do not even fit below p.
    for y in [p.clone(), &p + 1u32] {
        assert!(DhPublicKey::from_bytes(&bytes(&y)).is_err());
    }
    assert_eq!(
        DhPublicKey::from_bytes(&[0xff; DH_LEN]),
        Err(DhError::OutOfRange)
    );
    for len in [0, 1, 255, 257, 512] {
        assert_eq!(
            DhPublicKey::from_bytes(&vec![0x80; len]),
            Err(DhError::WrongLength(len))
        );
    }
    // In range but outside the prime-order subgroup: p - y for a valid y (the other coset, since
    // -1 is a non-residue modulo p ≡ 3 mod 4).
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let valid = BigUint::from_bytes_be(DhPrivateKey::generate(&mut rng).public_key().as_bytes());
    assert_eq!(
        DhPublicKey::from_bytes(&bytes(&(&p - &valid))),
        Err(DhError::NotInSubgroup)
    );
    // Private keys: wrong length or zero.
    assert_eq!(
        DhPrivateKey::from_bytes(&[0u8; 32]).unwrap_err(),
        DhError::BadPrivateKey
    );
    assert_eq!(
        DhPrivateKey::from_bytes(&[1u8; 31]).unwrap_err(),
        DhError::BadPrivateKey
    );
}
