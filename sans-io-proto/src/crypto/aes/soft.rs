//! The portable AES-256 back end: constant time by bitslicing (no table, no secret-dependent
//! branch or memory index anywhere).
//!
//! One block is held as eight 16-bit *planes*: bit `j` of plane `i` is bit `i` (value `1 << i`) of
//! state byte `j`, where byte `j = row + 4·column` (FIPS-197 §3.4). Every AES step becomes a fixed
//! sequence of bitwise operations on the planes:
//! - SubBytes (§5.1.1) is the Boyar–Peralta 113-gate circuit for the S-box ("A depth-16 circuit for
//!   the AES S-box", Boyar & Peralta 2012), evaluated on all 16 bytes at once;
//! - ShiftRows (§5.1.2) rotates each row's four bits of a plane;
//! - MixColumns (§5.1.3) is `xtime` (a rewiring of the planes) and rotations within columns;
//! - AddRoundKey (§5.1.4) XORs pre-sliced round keys.
//!
//! IGE is sequential (each block depends on the previous one), so there is no batch of blocks to
//! spread over wider words; one block per 16-bit lane set is the natural fit.
//!
//! **Fixslicing** (Adomnicai & Peyrin, "Fixslicing AES-like ciphers", TCHES 2021, applied here to
//! a single block): ShiftRows is never performed. After `j` skipped ShiftRows, logical byte
//! `(row, col)` sits at physical `(row, col + j·row)`, so MixColumns reads its column from rows
//! rotated by `j` columns (one extra rotate), round keys are pre-permuted to the same layout, and
//! the accumulated permutation is undone once at the end (`ShiftRows^14 = ShiftRows^2`).

/// A block in bitsliced form.
pub(super) type Planes = [u16; 8];

/// Transposes the 8×8 bit matrix held in `x` (bit `8·i + j` ↔ bit `8·j + i`) with three
/// delta swaps (Hacker's Delight §7-3).
#[inline(always)]
fn transpose8(mut x: u64) -> u64 {
    let mut t = (x ^ (x >> 7)) & 0x00aa_00aa_00aa_00aa;
    x ^= t ^ (t << 7);
    t = (x ^ (x >> 14)) & 0x0000_cccc_0000_cccc;
    x ^= t ^ (t << 14);
    t = (x ^ (x >> 28)) & 0x0000_0000_f0f0_f0f0;
    x ^= t ^ (t << 28);
    x
}

/// Slices 16 bytes into planes: a bit transpose of each 8-byte half (byte `i` of the transposed
/// half holds bit `i` of the eight bytes).
#[inline(always)]
pub(super) fn to_planes(block: &[u8; 16]) -> Planes {
    let (lo, hi) = block.split_at(8);
    let lo = transpose8(u64::from_le_bytes([
        lo[0], lo[1], lo[2], lo[3], lo[4], lo[5], lo[6], lo[7],
    ]))
    .to_le_bytes();
    let hi = transpose8(u64::from_le_bytes([
        hi[0], hi[1], hi[2], hi[3], hi[4], hi[5], hi[6], hi[7],
    ]))
    .to_le_bytes();
    core::array::from_fn(|i| u16::from(lo[i]) | (u16::from(hi[i]) << 8))
}

/// Inverse of [`to_planes`] (the transpose is its own inverse).
#[inline(always)]
pub(super) fn from_planes(p: &Planes) -> [u8; 16] {
    let mut lo = [0u8; 8];
    let mut hi = [0u8; 8];
    for (i, plane) in p.iter().enumerate() {
        lo[i] = *plane as u8;
        hi[i] = (*plane >> 8) as u8;
    }
    let lo = transpose8(u64::from_le_bytes(lo)).to_le_bytes();
    let hi = transpose8(u64::from_le_bytes(hi)).to_le_bytes();
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&lo);
    out[8..].copy_from_slice(&hi);
    out
}

/// SubBytes (FIPS-197 §5.1.1): the Boyar–Peralta circuit. `U0` / `S0` are the most significant
/// bits (plane 7); outputs S1, S2, S6, S7 are complemented by the circuit's last XNORs.
#[inline(always)]
pub(super) fn sub_bytes(p: &mut Planes) {
    let (u0, u1, u2, u3, u4, u5, u6, u7) = (p[7], p[6], p[5], p[4], p[3], p[2], p[1], p[0]);
    // Top linear layer: into the tower-field representation.
    let t1 = u0 ^ u3;
    let t2 = u0 ^ u5;
    let t3 = u0 ^ u6;
    let t4 = u3 ^ u5;
    let t5 = u4 ^ u6;
    let t6 = t1 ^ t5;
    let t7 = u1 ^ u2;
    let t8 = u7 ^ t6;
    let t9 = u7 ^ t7;
    let t10 = t6 ^ t7;
    let t11 = u1 ^ u5;
    let t12 = u2 ^ u5;
    let t13 = t3 ^ t4;
    let t14 = t6 ^ t11;
    let t15 = t5 ^ t11;
    let t16 = t5 ^ t12;
    let t17 = t9 ^ t16;
    let t18 = u3 ^ u7;
    let t19 = t7 ^ t18;
    let t20 = t1 ^ t19;
    let t21 = u6 ^ u7;
    let t22 = t7 ^ t21;
    let t23 = t2 ^ t22;
    let t24 = t2 ^ t10;
    let t25 = t20 ^ t17;
    let t26 = t3 ^ t16;
    let t27 = t1 ^ t12;
    // Middle non-linear layer: the inversion in GF(2^8), all the AND gates.
    let m1 = t13 & t6;
    let m2 = t23 & t8;
    let m3 = t14 ^ m1;
    let m4 = t19 & u7;
    let m5 = m4 ^ m1;
    let m6 = t3 & t16;
    let m7 = t22 & t9;
    let m8 = t26 ^ m6;
    let m9 = t20 & t17;
    let m10 = m9 ^ m6;
    let m11 = t1 & t15;
    let m12 = t4 & t27;
    let m13 = m12 ^ m11;
    let m14 = t2 & t10;
    let m15 = m14 ^ m11;
    let m16 = m3 ^ m2;
    let m17 = m5 ^ t24;
    let m18 = m8 ^ m7;
    let m19 = m10 ^ m15;
    let m20 = m16 ^ m13;
    let m21 = m17 ^ m15;
    let m22 = m18 ^ m13;
    let m23 = m19 ^ t25;
    let m24 = m22 ^ m23;
    let m25 = m22 & m20;
    let m26 = m21 ^ m25;
    let m27 = m20 ^ m21;
    let m28 = m23 ^ m25;
    let m29 = m28 & m27;
    let m30 = m26 & m24;
    let m31 = m20 & m23;
    let m32 = m27 & m31;
    let m33 = m27 ^ m25;
    let m34 = m21 & m22;
    let m35 = m24 & m34;
    let m36 = m24 ^ m25;
    let m37 = m21 ^ m29;
    let m38 = m32 ^ m33;
    let m39 = m23 ^ m30;
    let m40 = m35 ^ m36;
    let m41 = m38 ^ m40;
    let m42 = m37 ^ m39;
    let m43 = m37 ^ m38;
    let m44 = m39 ^ m40;
    let m45 = m42 ^ m41;
    let m46 = m44 & t6;
    let m47 = m40 & t8;
    let m48 = m39 & u7;
    let m49 = m43 & t16;
    let m50 = m38 & t9;
    let m51 = m37 & t17;
    let m52 = m42 & t15;
    let m53 = m45 & t27;
    let m54 = m41 & t10;
    let m55 = m44 & t13;
    let m56 = m40 & t23;
    let m57 = m39 & t19;
    let m58 = m43 & t3;
    let m59 = m38 & t22;
    let m60 = m37 & t20;
    let m61 = m42 & t1;
    let m62 = m45 & t4;
    let m63 = m41 & t2;
    // Bottom linear layer: back to the polynomial basis, with the affine map (§5.1.1).
    let l0 = m61 ^ m62;
    let l1 = m50 ^ m56;
    let l2 = m46 ^ m48;
    let l3 = m47 ^ m55;
    let l4 = m54 ^ m58;
    let l5 = m49 ^ m61;
    let l6 = m62 ^ l5;
    let l7 = m46 ^ l3;
    let l8 = m51 ^ m59;
    let l9 = m52 ^ m53;
    let l10 = m53 ^ l4;
    let l11 = m60 ^ l2;
    let l12 = m48 ^ m51;
    let l13 = m50 ^ l0;
    let l14 = m52 ^ m61;
    let l15 = m55 ^ l1;
    let l16 = m56 ^ l0;
    let l17 = m57 ^ l1;
    let l18 = m58 ^ l8;
    let l19 = m63 ^ l4;
    let l20 = l0 ^ l1;
    let l21 = l1 ^ l7;
    let l22 = l3 ^ l12;
    let l23 = l18 ^ l2;
    let l24 = l15 ^ l9;
    let l25 = l6 ^ l10;
    let l26 = l7 ^ l9;
    let l27 = l8 ^ l10;
    let l28 = l11 ^ l14;
    let l29 = l11 ^ l17;
    p[7] = l6 ^ l24;
    p[6] = !(l16 ^ l26);
    p[5] = !(l19 ^ l28);
    p[4] = l6 ^ l21;
    p[3] = l20 ^ l22;
    p[2] = l25 ^ l29;
    p[1] = !(l13 ^ l27);
    p[0] = !(l6 ^ l23);
}

/// The inverse affine map of FIPS-197 §5.3.2 without its constant: bit `i` of the result is
/// `b(i+2) ⊕ b(i+5) ⊕ b(i+7)`.
#[inline(always)]
fn inverse_affine_linear(p: &Planes) -> Planes {
    core::array::from_fn(|i| p[(i + 2) % 8] ^ p[(i + 5) % 8] ^ p[(i + 7) % 8])
}

/// InvSubBytes (FIPS-197 §5.3.2) through the forward circuit. With `S(x) = M·x⁻¹ ⊕ 0x63` and
/// `M⁻¹·0x63 = 0x05`: `S⁻¹(y) = M⁻¹·S(M⁻¹·y ⊕ 0x05) ⊕ 0x05`. Constant time like SubBytes.
#[inline(always)]
pub(super) fn inv_sub_bytes(p: &mut Planes) {
    let mut x = inverse_affine_linear(p);
    x[0] = !x[0];
    x[2] = !x[2];
    sub_bytes(&mut x);
    *p = inverse_affine_linear(&x);
    p[0] = !p[0];
    p[2] = !p[2];
}

/// ShiftRows (FIPS-197 §5.1.2) applied `n` times: row `r` (bits `r, r+4, r+8, r+12` of a plane)
/// rotates left by `n·r` columns, i.e. the plane rotates right by `4·n·r` within that row's bits.
#[inline(always)]
pub(super) fn shift_rows_n(p: &mut Planes, n: u32) {
    let rot = |r: u32| 4 * ((n * r) % 4);
    for x in p.iter_mut() {
        *x = (*x & 0x1111)
            | (x.rotate_right(rot(1)) & 0x2222)
            | (x.rotate_right(rot(2)) & 0x4444)
            | (x.rotate_right(rot(3)) & 0x8888);
    }
}

/// For every byte position of a plane: the byte `rows` rows further down (rows wrap) and `cols`
/// columns to the right (columns wrap). In column-major bit order (`bit = row + 4·col`) that is a
/// rotation inside each nibble followed by a rotation of the whole word.
#[inline(always)]
fn down(x: u16, rows: u32, cols: u32) -> u16 {
    let keep: u16 = match rows {
        1 => 0x7777,
        2 => 0x3333,
        _ => 0x1111,
    };
    (((x >> rows) & keep) | ((x << (4 - rows)) & !keep)).rotate_right(4 * (cols % 4))
}

/// `xtime` (FIPS-197 §4.2.1), multiplication by `{02}` modulo `x⁸ + x⁴ + x³ + x + 1`: a shift of
/// the planes, with the bit shifted out (plane 7) folded into planes 0, 1, 3 and 4 (`0x1b`).
#[inline(always)]
fn xtime(p: &Planes) -> Planes {
    [
        p[7],
        p[0] ^ p[7],
        p[1],
        p[2] ^ p[7],
        p[3] ^ p[7],
        p[4],
        p[5],
        p[6],
    ]
}

/// MixColumns (FIPS-197 §5.1.3) on a state whose rows are shifted by `k` columns per row (see the
/// module docs on fixslicing): `s'ᵣ = {02}sᵣ ⊕ {03}sᵣ₊₁ ⊕ sᵣ₊₂ ⊕ sᵣ₊₃`, computed as
/// `{02}t ⊕ sᵣ₊₁ ⊕ tᵣ₊₂` with `t = sᵣ ⊕ sᵣ₊₁`.
#[inline(always)]
pub(super) fn mix_columns(p: &mut Planes, k: u32) {
    let d1: Planes = core::array::from_fn(|i| down(p[i], 1, k));
    let t: Planes = core::array::from_fn(|i| p[i] ^ d1[i]);
    let t2 = xtime(&t);
    for i in 0..8 {
        p[i] = t2[i] ^ d1[i] ^ down(t[i], 2, 2 * k);
    }
}

/// InvMixColumns (FIPS-197 §5.3.3) with row shift `k`, as MixColumns after multiplying each
/// column by `{04}x² + {05}` (the inverse matrix factors as MixColumns × [[5,0,4,0],[0,5,0,4],...]):
/// `sᵣ ← sᵣ ⊕ {04}(sᵣ ⊕ sᵣ₊₂)`.
#[inline(always)]
pub(super) fn inv_mix_columns(p: &mut Planes, k: u32) {
    let t: Planes = core::array::from_fn(|i| p[i] ^ down(p[i], 2, 2 * k));
    let t4 = xtime(&xtime(&t));
    for i in 0..8 {
        p[i] ^= t4[i];
    }
    mix_columns(p, k);
}

/// AddRoundKey (FIPS-197 §5.1.4).
#[inline(always)]
pub(super) fn add_round_key(p: &mut Planes, rk: &Planes) {
    for (x, k) in p.iter_mut().zip(rk) {
        *x ^= k;
    }
}

/// Round keys for the fixsliced cipher: key `j` (1..=13) pre-permuted by `ShiftRows^-j`, to meet a
/// state whose `j` ShiftRows were skipped.
pub(super) fn encryption_keys(rk: &[Planes; 15]) -> [Planes; 15] {
    core::array::from_fn(|j| {
        let mut k = rk[j];
        if (1..14).contains(&j) {
            shift_rows_n(&mut k, (4 - (j as u32) % 4) % 4);
        }
        k
    })
}

/// Round keys for the fixsliced inverse cipher: key `j` (1..=13) permuted by `ShiftRows^(14-j)`.
pub(super) fn decryption_keys(rk: &[Planes; 15]) -> [Planes; 15] {
    core::array::from_fn(|j| {
        let mut k = rk[j];
        if (1..14).contains(&j) {
            shift_rows_n(&mut k, (14 - j as u32) % 4);
        }
        k
    })
}

/// The cipher (FIPS-197 §5.1, Nr = 14) on one block, fixsliced; `ek` from [`encryption_keys`].
pub(super) fn encrypt(ek: &[Planes; 15], block: &mut [u8; 16]) {
    let mut s = to_planes(block);
    add_round_key(&mut s, &ek[0]);
    for (j, key) in ek.iter().enumerate().take(14).skip(1) {
        sub_bytes(&mut s);
        // ShiftRows #j skipped: the state's rows are now j columns behind.
        mix_columns(&mut s, j as u32 % 4);
        add_round_key(&mut s, key);
    }
    sub_bytes(&mut s);
    // ShiftRows #14 skipped, then all 14 applied at once (ShiftRows^14 = ShiftRows^2).
    shift_rows_n(&mut s, 2);
    add_round_key(&mut s, &ek[14]);
    *block = from_planes(&s);
}

/// The inverse cipher (FIPS-197 §5.3) on one block, fixsliced; `dk` from [`decryption_keys`].
pub(super) fn decrypt(dk: &[Planes; 15], block: &mut [u8; 16]) {
    let mut s = to_planes(block);
    add_round_key(&mut s, &dk[14]);
    for j in (1..14).rev() {
        // InvShiftRows #(14-j) skipped: rows are now (14-j) columns ahead, i.e. j+2 behind.
        inv_sub_bytes(&mut s);
        add_round_key(&mut s, &dk[j]);
        inv_mix_columns(&mut s, (j as u32 + 2) % 4);
    }
    inv_sub_bytes(&mut s);
    // InvShiftRows #14 skipped; all 14 undone at once (ShiftRows^-14 = ShiftRows^2).
    shift_rows_n(&mut s, 2);
    add_round_key(&mut s, &dk[0]);
    *block = from_planes(&s);
}

/// SubWord (FIPS-197 §5.2) through the same constant-time circuit.
pub(super) fn sub_word(w: [u8; 4]) -> [u8; 4] {
    let mut block = [0u8; 16];
    block[..4].copy_from_slice(&w);
    let mut p = to_planes(&block);
    sub_bytes(&mut p);
    let out = from_planes(&p);
    [out[0], out[1], out[2], out[3]]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The S-box by its definition (FIPS-197 §5.1.1: inverse in GF(2^8), then the affine map),
    /// computed slowly with branches — fine in a test.
    fn sbox_reference(x: u8) -> u8 {
        let mul = |mut a: u8, mut b: u8| {
            let mut r = 0u8;
            while b != 0 {
                if b & 1 != 0 {
                    r ^= a;
                }
                a = (a << 1) ^ if a & 0x80 != 0 { 0x1b } else { 0 };
                b >>= 1;
            }
            r
        };
        let b = (1..=255u8).find(|&y| mul(x, y) == 1).unwrap_or(0);
        b ^ b.rotate_left(1) ^ b.rotate_left(2) ^ b.rotate_left(3) ^ b.rotate_left(4) ^ 0x63
    }

    #[test]
    fn the_circuit_is_the_s_box_and_its_inverse() {
        for base in (0..256usize).step_by(16) {
            let block: [u8; 16] = core::array::from_fn(|j| (base + j) as u8);
            let mut p = to_planes(&block);
            sub_bytes(&mut p);
            let out = from_planes(&p);
            for j in 0..16 {
                assert_eq!(out[j], sbox_reference(block[j]), "S({:#04x})", block[j]);
            }
            inv_sub_bytes(&mut p);
            assert_eq!(from_planes(&p), block);
        }
    }

    #[test]
    fn slicing_round_trips_and_puts_bits_where_documented() {
        let block: [u8; 16] = core::array::from_fn(|j| (j as u8).wrapping_mul(37).wrapping_add(11));
        let p = to_planes(&block);
        for (i, plane) in p.iter().enumerate() {
            for (j, byte) in block.iter().enumerate() {
                assert_eq!((plane >> j) & 1, u16::from((byte >> i) & 1));
            }
        }
        assert_eq!(from_planes(&p), block);
    }

    #[test]
    fn linear_layers_invert() {
        let block: [u8; 16] = core::array::from_fn(|j| (j as u8).wrapping_mul(91) ^ 0x5a);
        for k in 0..4 {
            let mut p = to_planes(&block);
            shift_rows_n(&mut p, 1);
            mix_columns(&mut p, k);
            inv_mix_columns(&mut p, k);
            shift_rows_n(&mut p, 3);
            assert_eq!(from_planes(&p), block);
        }
    }

    #[test]
    fn mix_columns_matches_fips_197_example() {
        // FIPS-197 Appendix B, round 1: after ShiftRows d4 bf 5d 30 -> after MixColumns 04 66 81 e5.
        let mut block = [0u8; 16];
        block[..4].copy_from_slice(&[0xd4, 0xbf, 0x5d, 0x30]);
        let mut p = to_planes(&block);
        mix_columns(&mut p, 0);
        assert_eq!(&from_planes(&p)[..4], &[0x04, 0x66, 0x81, 0xe5]);
    }
}
