//! What the user compares with the peer, and how the app says it.
//!
//! - The **safety number**: 60 digits from both identity keys (about 100 bits for each half, from
//!   5,200 hash iterations each). It stays the same for this contact in every session, so once
//!   compared it never needs comparing again unless the warning says the identity changed.
//! - The **short authentication string** (emoji and words, protocol v2): new in every session,
//!   bound to it by a commitment, so a relay gets one guess per session instead of an offline
//!   search. Compare it to check *this* session.
//! - The **QR code** carries the safety number as plain text (`E2E-CHAT SAFETY NUMBER: 12345 ...`),
//!   which any phone's camera app shows: compare those digits with the ones on the screen.
//!
//! The v1 emoji (48 bits, no session binding) can be ground by a relay (issue 10, item 1), so the
//! app does not offer them.

use sans_io_proto::Fingerprint;

use crate::model::{PeerSession, SasSymbol};

/// What the QR code's text starts with.
pub const QR_PREFIX: &str = "E2E-CHAT SAFETY NUMBER:";

/// The verification material of the current session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// The peer's identity.
    pub peer: Fingerprint,
    /// The 60 digits.
    pub safety_number: String,
    /// The per-session emoji and words (v2).
    pub sas: Option<Vec<SasSymbol>>,
    /// This session's key picture.
    pub key_picture: [[u8; 12]; 12],
}

impl Verification {
    /// From what the driver reported.
    pub fn new(session: &PeerSession) -> Self {
        Verification {
            peer: session.fingerprint,
            safety_number: session
                .safety_number
                .chars()
                .filter(char::is_ascii_digit)
                .collect(),
            sas: session.sas.clone(),
            key_picture: session.key_picture,
        }
    }

    /// The digits in groups of five.
    pub fn groups(&self) -> Vec<&str> {
        let d = self.safety_number.as_str();
        (0..d.len().div_ceil(5))
            .filter_map(|i| d.get(i * 5..(i * 5 + 5).min(d.len())))
            .collect()
    }

    /// The digits as three lines of four groups (how Signal shows them).
    pub fn display_lines(&self) -> String {
        self.groups()
            .chunks(4)
            .map(|line| line.join(" "))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The text inside the QR code: the prefix and the twelve groups, in characters of the QR
    /// alphanumeric mode (so the code stays small), shown as-is by a phone's scanner.
    pub fn qr_text(&self) -> String {
        format!("{QR_PREFIX} {}", self.groups().join(" "))
    }

    /// The QR code of [`Self::qr_text`] as modules (`true` = dark), row by row, and its width:
    /// what the screen draws.
    pub fn qr_modules(&self) -> Option<(usize, Vec<bool>)> {
        let code = qrcode::QrCode::new(self.qr_text().as_bytes()).ok()?;
        let dark = code
            .to_colors()
            .into_iter()
            .map(|c| c == qrcode::Color::Dark)
            .collect();
        Some((code.width(), dark))
    }

    /// What to tell the user about comparing.
    pub fn instructions(&self) -> &'static str {
        if self.sas.is_some() {
            "Compare with your peer, by phone or face to face: either the emoji and words below \
             (new for every session: checks this session), or the 60-digit safety number (the \
             same for this contact every time). If they match, nobody is in the middle."
        } else {
            "Read the 60-digit safety number to each other, by phone or face to face (or scan the \
             code with a phone: it shows the same digits as text). It is the same for this contact \
             every time. If every digit matches, nobody is in the middle."
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> PeerSession {
        PeerSession {
            fingerprint: Fingerprint::from_bytes([3; 32]),
            safety_number: "0123456789".repeat(6),
            sas: None,
            key_picture: [[0; 12]; 12],
        }
    }

    #[test]
    fn digits_show_in_three_lines_of_four_groups() {
        let v = Verification::new(&session());
        assert_eq!(v.groups().len(), 12);
        let text = v.display_lines();
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], "01234 56789 01234 56789");
    }

    #[test]
    fn the_qr_text_is_the_prefix_and_the_digits() {
        let v = Verification::new(&session());
        let text = v.qr_text();
        assert!(text.starts_with(QR_PREFIX));
        assert_eq!(
            text.chars()
                .filter(char::is_ascii_digit)
                .collect::<String>(),
            format!("2{}", v.safety_number), // the "2" of "E2E"
        );
        // Only QR alphanumeric characters: the code stays small and every scanner reads it.
        assert!(
            text.chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase() || " $%*+-./:".contains(c))
        );
    }

    #[test]
    fn a_scanner_reads_the_digits_from_the_drawn_code() {
        let v = Verification::new(&session());
        let (width, dark) = v.qr_modules().unwrap();
        // Draw it as the screen does (4 pixels a module, a quiet zone), then scan it.
        let (scale, quiet) = (4, 4);
        let size = (width + 2 * quiet) * scale;
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(size, size, |x, y| {
            let (mx, my) = (x / scale, y / scale);
            let inside =
                (quiet..quiet + width).contains(&mx) && (quiet..quiet + width).contains(&my);
            if inside && dark[(my - quiet) * width + (mx - quiet)] {
                0
            } else {
                255
            }
        });
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, content) = grids[0].decode().unwrap();
        assert_eq!(content, v.qr_text());
        assert!(content.contains("01234 56789 01234 56789"));
    }

    #[test]
    fn the_instructions_name_what_there_is_to_compare() {
        let mut s = session();
        assert!(Verification::new(&s).instructions().contains("60-digit"));
        assert!(!Verification::new(&s).instructions().contains("emoji"));
        s.sas = Some(vec![SasSymbol {
            emoji: "🐶".into(),
            word: "dog".into(),
        }]);
        assert!(
            Verification::new(&s)
                .instructions()
                .contains("emoji and words")
        );
    }
}
