#!/usr/bin/env python3
"""Writes identity-files.txt: one version 1 and one version 2 identity file (PROTOCOL.md §9.2, §9.1)
built from the specification with an implementation independent of the Rust code: Argon2id, HKDF and
AES from Python's `cryptography` package (OpenSSL), PBKDF2 and HMAC from the standard library, and
AES-256-IGE written out below from its definition. The Rust test `sans-io-proto/tests/identity_file.rs`
opens both files and re-seals them byte for byte.

Run from the repository root: python3 vectors/identity-file/generate.py > vectors/identity-file/identity-files.txt
"""
import hashlib
import hmac
import struct
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"E2ECHATK"
LABEL = b"e2e-chat v2 identity file"


def ige_encrypt(key: bytes, iv: bytes, pt: bytes) -> bytes:
    """AES-256-IGE, iv[0..16] = C0, iv[16..32] = P0: C_i = E(P_i xor C_{i-1}) xor P_{i-1}."""
    assert len(key) == 32 and len(iv) == 32 and len(pt) % 16 == 0
    ecb = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    xor = lambda a, b: bytes(x ^ y for x, y in zip(a, b))
    c_prev, p_prev, out = iv[:16], iv[16:], b""
    for i in range(0, len(pt), 16):
        p = pt[i : i + 16]
        c = xor(ecb.update(xor(p, c_prev)), p_prev)
        out += c
        c_prev, p_prev = c, p
    return out


def derived(name: str, n: int) -> bytes:
    """Fixed 'random' bytes of the vectors: SHA-256 of a name, truncated."""
    return hashlib.sha256(b"identity-file vector " + name.encode()).digest()[:n]


def test_identity(index: int) -> bytes:
    lines = Path("vectors/identities/test-identities.txt").read_text().splitlines()
    keys = [l.strip() for l in lines if l.strip() and not l.startswith("#")]
    return bytes.fromhex(keys[index])


def v1(private_key: bytes, passphrase: str, iterations: int, salt: bytes, iv: bytes) -> bytes:
    assert len(private_key) == 257
    okm = hashlib.pbkdf2_hmac("sha256", passphrase.encode("utf-8"), salt, iterations, 64)
    enc_key, mac_key = okm[:32], okm[32:]
    pt = struct.pack(">H", 257) + private_key + bytes(13)
    head = MAGIC + b"\x01" + struct.pack(">I", iterations) + salt + iv
    body = head + ige_encrypt(enc_key, iv, pt)
    assert len(body) == 333
    return body + hmac.new(mac_key, body, "sha256").digest()


def v2(private_key, storage_key, passphrase, m, t, lanes, salt):
    assert len(private_key) == 257 and len(storage_key) == 32 and len(salt) == 16
    master = Argon2id(
        salt=salt, length=32, iterations=t, lanes=lanes, memory_cost=m, ad=None, secret=None
    ).derive(passphrase.encode("utf-8"))
    head = MAGIC + b"\x02" + struct.pack(">IIB", m, t, lanes) + salt
    assert len(head) == 34
    keys = HKDF(algorithm=hashes.SHA256(), length=96, salt=head, info=LABEL).derive(master)
    aes_key, aes_iv, mac_key = keys[:32], keys[32:64], keys[64:]
    body = head + ige_encrypt(aes_key, aes_iv, private_key + storage_key + bytes(15))
    assert len(body) == 338
    file = body + hmac.new(mac_key, LABEL + body, "sha256").digest()
    return file, master, keys


def main():
    alice = test_identity(0)
    print("# Identity file test vectors (PROTOCOL.md §9), written by vectors/identity-file/generate.py")
    print("# from the specification with Python's cryptography (OpenSSL Argon2id, HKDF, AES) and hashlib.")
    print("# Both hold test identity 0 (alice) of vectors/identities/test-identities.txt. TEST DATA ONLY.")
    print("# passphrase: hex of its UTF-8 bytes (no normalization). Small Argon2id parameters, so the")
    print("# test is fast; lanes = 2 exercises more than one lane.")
    print()
    passphrase = "correct horse battery staple"
    iterations, salt, iv = 1000, derived("v1 salt", 16), derived("v1 iv", 32)
    print("version = 1")
    print(f"# passphrase: {passphrase}")
    print(f"passphrase = {passphrase.encode().hex()}")
    print(f"private_key = {alice.hex()}")
    print(f"iterations = {iterations}")
    print(f"salt = {salt.hex()}")
    print(f"iv = {iv.hex()}")
    print(f"file = {v1(alice, passphrase, iterations, salt, iv).hex()}")
    print()
    passphrase = "grüße, 🔑 v2"
    m, t, lanes = 256, 2, 2
    salt, storage_key = derived("v2 salt", 16), derived("v2 storage key", 32)
    file, master, keys = v2(alice, storage_key, passphrase, m, t, lanes, salt)
    print("version = 2")
    print(f"# passphrase: {passphrase}")
    print(f"passphrase = {passphrase.encode().hex()}")
    print(f"private_key = {alice.hex()}")
    print(f"storage_key = {storage_key.hex()}")
    print(f"m_cost_kib = {m}")
    print(f"t_cost = {t}")
    print(f"lanes = {lanes}")
    print(f"salt = {salt.hex()}")
    print(f"master = {master.hex()}")
    print(f"keys = {keys.hex()}")
    print(f"file = {file.hex()}")


if __name__ == "__main__":
    main()
