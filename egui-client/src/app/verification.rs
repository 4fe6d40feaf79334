//! What the user compares with the peer, and how the app says it (PROTOCOL.md §8). Comparing
//! either of the first two is enough to mark the contact verified:
//!
//! - The **emoji and words** (the short authentication string, §8.2): 8 emoji with their names,
//!   48 bits, new for every key exchange and bound to it by a commitment, so a relay sitting in
//!   the middle gets one try per key exchange (a match by chance: 1 in 2⁴⁸) however much it
//!   computes. Read the words aloud on a call.
//! - The **safety number** (§8.1): 60 digits from both identity keys, the same for this contact in
//!   every session; each half costs about 2¹¹² hashes to match with another key. The **QR code**
//!   carries it as plain text (exactly `SafetyNumber::qr_text()`, §8.4), which a phone's camera app
//!   shows: compare those digits with the ones on the other screen.
//! - The **key picture** (§8.3): drawn from the same key-exchange secret as the emoji; a quick
//!   look side by side.

use sans_io_proto::Fingerprint;

use crate::model::{PeerSession, SasSymbol};

/// The verification material of the current session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// The peer's identity.
    pub peer: Fingerprint,
    /// The 60 digits.
    pub safety_number: String,
    /// The QR code's text, as the protocol library writes it.
    qr_text: String,
    /// This key exchange's emoji and words.
    pub sas: Vec<SasSymbol>,
    /// This key exchange's key picture.
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
            qr_text: session.qr_text.clone(),
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

    /// The words of the emoji, to read aloud ("dog · key · ...").
    pub fn words(&self) -> String {
        self.sas
            .iter()
            .map(|s| s.word.as_str())
            .collect::<Vec<_>>()
            .join(" · ")
    }

    /// The text inside the QR code (PROTOCOL.md §8.4: `E2E-CHAT SAFETY NUMBER` and the twelve
    /// groups on three lines), which a phone's scanner shows as is.
    pub fn qr_text(&self) -> &str {
        &self.qr_text
    }

    /// The QR code of [`Self::qr_text`] as modules (`true` = dark), row by row, and its width:
    /// what the screen draws.
    pub fn qr_modules(&self) -> Option<(usize, Vec<bool>)> {
        let code = qrcode::QrCode::new(self.qr_text.as_bytes()).ok()?;
        let dark = code
            .to_colors()
            .into_iter()
            .map(|c| c == qrcode::Color::Dark)
            .collect();
        Some((code.width(), dark))
    }

    /// What to tell the user about comparing.
    pub fn instructions(&self) -> &'static str {
        "Compare with your peer, by phone or face to face, one of these: the 8 emoji and their \
         words (new for each key exchange: a relay in the middle gets a single try to make them \
         match), or the 60-digit safety number (the same for this contact every time; a phone \
         scanning the QR code shows it as text). If either matches, nobody is in the middle: mark \
         the contact verified."
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sans_io_proto::{Handshake, SafetyNumber};

    /// A real session between test identities 0 and 1: what the driver would report.
    fn session() -> PeerSession {
        let (a, b) = (crate::test_identity(0), crate::test_identity(1));
        let now = std::time::Instant::now();
        let mut rng = rand::rngs::OsRng;
        let mut x = Handshake::new(&a, &mut rng, now);
        let mut y = Handshake::new(&b, &mut rng, now);
        while !(x.is_established() && y.is_established()) {
            while let Some(m) = x.poll_transmit() {
                y.handle_bytes(&m, &mut rng).unwrap();
            }
            while let Some(m) = y.poll_transmit() {
                x.handle_bytes(&m, &mut rng).unwrap();
            }
        }
        let s = x.into_session().unwrap();
        PeerSession::new(b.fingerprint(), &s.safety_number(), s.sas(), s.key_visual())
    }

    #[test]
    fn digits_show_in_three_lines_of_four_groups() {
        let v = Verification::new(&session());
        assert_eq!(v.safety_number.len(), 60);
        assert_eq!(v.groups().len(), 12);
        let text = v.display_lines();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], v.groups()[..4].join(" "));
    }

    #[test]
    fn the_qr_text_is_exactly_the_librarys() {
        let (a, b) = (crate::test_identity(0), crate::test_identity(1));
        let n = SafetyNumber::new(a.public(), b.public());
        let v = Verification::new(&session());
        assert_eq!(v.qr_text(), n.qr_text());
        // PROTOCOL.md §8.4: the title line, then three lines of four groups, no final newline.
        let lines: Vec<&str> = v.qr_text().split('\n').collect();
        assert_eq!(lines[0], "E2E-CHAT SAFETY NUMBER");
        assert_eq!(lines[1..].join("\n"), v.display_lines());
        assert!(n.matches_qr_text(v.qr_text()));
    }

    #[test]
    fn a_scanner_reads_the_librarys_text_from_the_drawn_code() {
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
    }

    #[test]
    fn the_emoji_are_the_sessions_with_their_words_and_the_instructions_name_both() {
        let s = session();
        let v = Verification::new(&s);
        assert_eq!(v.sas.len(), 8);
        assert!(
            v.sas
                .iter()
                .all(|e| !e.emoji.is_empty() && !e.word.is_empty())
        );
        assert_eq!(v.words().split(" · ").count(), 8);
        let table = sans_io_proto::identity::EMOJI_TABLE;
        for e in &v.sas {
            assert!(
                table
                    .iter()
                    .any(|t| t.symbol == e.emoji && t.name == e.word)
            );
        }
        let text = v.instructions();
        assert!(text.contains("8 emoji") && text.contains("60-digit safety number"));
        assert!(text.contains("either matches"));
    }
}
