//! Text from the network (messages, display names, relay errors) made safe to show, and
//! right-to-left text put in an order egui draws readably.
//!
//! - Bidi controls (embeddings, overrides, isolates, marks) are removed: peer text cannot reorder
//!   what is drawn around it, nor make "gnp.exe" look like "exe.png".
//! - Control characters are removed; in messages a newline stays a newline (it is drawn inside the
//!   peer's bubble, never as a line of its own), in names every kind of line break becomes a space.
//! - egui lays text out left to right and shapes each run of one font with harfrust, which
//!   already reverses a run of Hebrew or Arabic letters. [`display_order`] runs the Unicode
//!   Bidirectional Algorithm (the `unicode-bidi` crate) on each line and reorders the *runs*
//!   accordingly, leaving letters of right-to-left scripts in logical order for the shaper. A
//!   right-to-left paragraph is wrapped first, in logical order ([`wrap_logical`]), so its first
//!   words are on its first line.

use unicode_bidi::BidiInfo;

/// Longest display name or petname shown, in characters.
pub const MAX_NAME_CHARS: usize = 32;

/// Whether `c` is a Unicode bidirectional formatting character.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters never shown: controls (other than those handled by the callers), bidi formatting,
/// and the byte-order mark.
fn is_invisible_trouble(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || is_bidi_control(c) || c == '\u{FEFF}'
}

/// A message text as shown: bidi controls and control characters removed; line and paragraph
/// separators become newlines; tabs become a space.
pub fn clean_message(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            '\r' => None,
            '\u{2028}' | '\u{2029}' | '\u{0085}' | '\u{000B}' | '\u{000C}' => Some('\n'),
            '\t' => Some(' '),
            c if is_invisible_trouble(c) => None,
            c => Some(c),
        })
        .collect()
}

/// A name (display name, petname, relay text) as shown: one line, no controls, no bidi
/// formatting, runs of white space collapsed, at most `max` characters. Empty if nothing is left.
pub fn clean_line(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() || matches!(c, '\u{2028}' | '\u{2029}') {
            space = !out.is_empty();
            continue;
        }
        if is_invisible_trouble(c) || c == '\n' || c == '\t' {
            continue;
        }
        if out.chars().count() + usize::from(space) >= max {
            break;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.push(c);
    }
    out
}

/// A display name or petname as shown ([`clean_line`] at [`MAX_NAME_CHARS`]).
pub fn clean_name(text: &str) -> String {
    clean_line(text, MAX_NAME_CHARS)
}

/// Whether `c` belongs to a right-to-left script whose runs the shaper reverses by itself.
fn is_rtl_letter(c: char) -> bool {
    let u = u32::from(c);
    let digit = matches!(u, 0x0660..=0x0669 | 0x06F0..=0x06F9);
    !digit && matches!(u, 0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF)
}

fn mirror(c: char) -> char {
    match c {
        '(' => ')',
        ')' => '(',
        '[' => ']',
        ']' => '[',
        '{' => '}',
        '}' => '{',
        '<' => '>',
        '>' => '<',
        '«' => '»',
        '»' => '«',
        '‹' => '›',
        '›' => '‹',
        c => c,
    }
}

/// One line (no newline) in the order to hand to egui so that it reads correctly: the runs of
/// the bidi algorithm in visual order; inside a right-to-left run, its pieces in reverse order
/// (mirroring brackets), each run of right-to-left letters kept in logical order because
/// harfrust reverses it when shaping. Pure left-to-right text comes back unchanged.
pub fn display_order(line: &str) -> String {
    if !line.chars().any(is_rtl_letter) {
        return line.to_owned();
    }
    let info = BidiInfo::new(line, None);
    let mut out = String::with_capacity(line.len());
    for para in &info.paragraphs {
        let range = para.range.clone();
        let (levels, runs) = info.visual_runs(para, range);
        for run in runs {
            let text = &line[run.clone()];
            if levels[run.start].is_ltr() {
                out.push_str(text);
                continue;
            }
            // Split into pieces: maximal runs of RTL letters (kept), single other characters.
            let mut pieces: Vec<String> = Vec::new();
            for c in text.chars() {
                match pieces.last_mut() {
                    Some(last)
                        if is_rtl_letter(c) && last.chars().last().is_some_and(is_rtl_letter) =>
                    {
                        last.push(c);
                    }
                    // Combining marks stay with the letter before them.
                    Some(last)
                        if unicode_bidi::bidi_class(c) == unicode_bidi::BidiClass::NSM
                            && !last.is_empty() =>
                    {
                        last.push(c);
                    }
                    _ => pieces.push(mirror(c).to_string()),
                }
            }
            for piece in pieces.iter().rev() {
                out.push_str(piece);
            }
        }
    }
    out
}

/// Every line of a message in display order (see [`display_order`]).
pub fn display_text(text: &str) -> String {
    text.split('\n')
        .map(display_order)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Breaks one paragraph (no newline) into lines no wider than `max_width`, by words, in logical
/// order (a word wider than a line is cut between characters). The caller reorders each line
/// for display afterwards: wrapping after reordering would put the end of a right-to-left
/// paragraph on its first line.
pub fn wrap_logical(paragraph: &str, max_width: f32, measure: impl Fn(&str) -> f32) -> Vec<String> {
    // Widths are summed word by word (each measured once), so long texts stay cheap.
    let space = measure(" ");
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut width = 0.0;
    for word in paragraph.split(' ') {
        let w = measure(word);
        let extra = if line.is_empty() { w } else { space + w };
        if width + extra <= max_width {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
            width += extra;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
            width = 0.0;
        }
        if w <= max_width {
            line.push_str(word);
            width = w;
            continue;
        }
        // A word wider than a line is cut between characters.
        for c in word.chars() {
            let cw = measure(c.encode_utf8(&mut [0u8; 4]));
            if width + cw > max_width && !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                width = 0.0;
            }
            line.push(c);
            width += cw;
        }
    }
    lines.push(line);
    lines
}

/// Whether a line's first strong character is right-to-left (the line should be right-aligned).
pub fn starts_rtl(text: &str) -> bool {
    for c in text.chars() {
        match unicode_bidi::bidi_class(c) {
            unicode_bidi::BidiClass::R | unicode_bidi::BidiClass::AL => return true,
            unicode_bidi::BidiClass::L => return false,
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_overrides_and_controls_are_removed_from_messages() {
        // "invoice\u{202E}fdp.exe" would show as "invoiceexe.pdf".
        assert_eq!(clean_message("invoice\u{202E}fdp.exe"), "invoicefdp.exe");
        for c in [
            '\u{061C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}',
            '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
        ] {
            assert!(!clean_message(&format!("a{c}b")).contains(c), "{c:?} kept");
            assert!(
                !clean_name(&format!("a{c}b")).contains(c),
                "{c:?} kept in a name"
            );
        }
        assert_eq!(clean_message("a\u{0}\u{7}\u{1b}[31mb"), "a[31mb");
        assert_eq!(clean_message("one\r\ntwo\u{2028}three"), "one\ntwo\nthree");
    }

    #[test]
    fn names_are_one_line_and_bounded() {
        assert_eq!(
            clean_name("Bob\n12:00 You: hi\u{2029}x"),
            "Bob 12:00 You: hi x"
        );
        assert_eq!(clean_name("  \t  "), "");
        assert_eq!(clean_name(&"x".repeat(100)).chars().count(), MAX_NAME_CHARS);
        assert_eq!(clean_name(" Ann  \u{202E} Lee "), "Ann Lee");
    }

    #[test]
    fn latin_text_is_unchanged() {
        assert_eq!(display_order("hello (world) 123"), "hello (world) 123");
    }

    #[test]
    fn hebrew_words_come_in_reverse_order_each_kept_for_the_shaper() {
        // Logical "שלום עולם" reads right to left: egui reverses each word when shaping, so the
        // words themselves must be swapped.
        assert_eq!(display_order("שלום עולם"), "עולם שלום");
        // A Latin word inside Hebrew keeps its place in the right-to-left flow.
        assert_eq!(display_order("שלום Bob עולם"), "עולם Bob שלום");
        // Brackets in a right-to-left run are mirrored.
        assert_eq!(display_order("(שלום)"), "(שלום)");
        // Numbers stay left to right.
        assert_eq!(display_order("שלום 123"), "123 שלום");
    }

    #[test]
    fn hebrew_inside_english_keeps_the_english_order() {
        assert_eq!(
            display_order("I said שלום עולם today"),
            "I said עולם שלום today"
        );
        assert!(!starts_rtl("I said שלום"));
        assert!(starts_rtl("שלום Bob"));
        assert!(starts_rtl("  مرحبا"));
    }

    #[test]
    fn hostile_text_never_panics_and_keeps_its_characters() {
        use rand::{Rng, SeedableRng};
        let alphabet: Vec<char> =
            "aZ 1(]«\n\t\r\u{0}\u{7f}\u{85}\u{200B}\u{200D}\u{2028}\u{202E}\u{2067}\u{FEFF}\
             שלום\u{05B8}\u{05BC}مرحبا\u{064B}١٢漢字😀\u{1F3FB}\u{10FFFF}"
                .chars()
                .collect();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..5_000 {
            let len = rng.gen_range(0..40);
            let s: String = (0..len)
                .map(|_| alphabet[rng.gen_range(0..alphabet.len())])
                .collect();
            let clean = clean_message(&s);
            assert!(!clean.chars().any(is_bidi_control));
            let shown = display_text(&clean);
            // Reordering moves characters (and mirrors brackets), never drops or adds any.
            let count = |t: &str| t.chars().filter(|c| !"()[]{}<>«»‹›".contains(*c)).count();
            assert_eq!(count(&shown), count(&clean), "{s:?}");
            let name = clean_name(&s);
            assert!(!name.contains('\n') && name.chars().count() <= MAX_NAME_CHARS);
        }
    }

    #[test]
    fn wrapping_happens_in_logical_order_by_words() {
        let measure = |s: &str| s.chars().count() as f32;
        assert_eq!(
            wrap_logical("one two three four", 9.0, measure),
            ["one two", "three", "four"]
        );
        assert_eq!(
            wrap_logical("abcdefghij", 4.0, measure),
            ["abcd", "efgh", "ij"]
        );
        assert_eq!(wrap_logical("", 4.0, measure), [""]);
        // A right-to-left paragraph: its first words stay on the first line.
        let lines = wrap_logical("אחת שתיים שלוש ארבע", 10.0, measure);
        assert_eq!(lines, ["אחת שתיים", "שלוש ארבע"]);
        assert_eq!(display_order(&lines[0]), "שתיים אחת");
    }

    #[test]
    fn every_line_is_ordered_on_its_own() {
        assert_eq!(display_text("שלום עולם\nhi"), "עולם שלום\nhi");
    }
}
