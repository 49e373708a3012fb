//! The part of [encoding_rs](https://crates.io/crates/encoding_rs) 0.8 (MIT OR Apache-2.0,
//! Henri Sivonen) that symphonia 0.5 calls, without its legacy CJK decoders and tables:
//! see this crate's README for why. Semantics follow encoding_rs's `Encoding::decode`,
//! which implements the WHATWG Encoding Standard's "decode".
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::borrow::Cow;

/// The encodings this stand-in decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Utf8,
    Utf16Be,
    Utf16Le,
    ShiftJis,
}

/// A character encoding, compared by identity as in encoding_rs.
#[derive(Debug, PartialEq, Eq)]
pub struct Encoding {
    name: &'static str,
    kind: Kind,
}

static UTF_8_INIT: Encoding = Encoding {
    name: "UTF-8",
    kind: Kind::Utf8,
};
static UTF_16BE_INIT: Encoding = Encoding {
    name: "UTF-16BE",
    kind: Kind::Utf16Be,
};
static UTF_16LE_INIT: Encoding = Encoding {
    name: "UTF-16LE",
    kind: Kind::Utf16Le,
};
static SHIFT_JIS_INIT: Encoding = Encoding {
    name: "Shift_JIS",
    kind: Kind::ShiftJis,
};

/// UTF-8.
pub static UTF_8: &Encoding = &UTF_8_INIT;
/// UTF-16, big-endian.
pub static UTF_16BE: &Encoding = &UTF_16BE_INIT;
/// UTF-16, little-endian.
pub static UTF_16LE: &Encoding = &UTF_16LE_INIT;
/// Shift_JIS: ASCII and half-width katakana only here; double-byte characters become
/// U+FFFD.
pub static SHIFT_JIS: &Encoding = &SHIFT_JIS_INIT;

impl Encoding {
    /// The encoding's WHATWG name (`"UTF-16BE"`).
    pub fn name(&'static self) -> &'static str {
        self.name
    }

    /// Decodes a whole buffer: a byte-order mark (UTF-8 `EF BB BF`, UTF-16BE `FE FF`,
    /// UTF-16LE `FF FE`) wins over `self` and is removed; malformed sequences become
    /// U+FFFD. Returns the text, the encoding used and whether anything was replaced.
    pub fn decode<'a>(&'static self, bytes: &'a [u8]) -> (Cow<'a, str>, &'static Encoding, bool) {
        let (encoding, rest) = match bytes {
            [0xEF, 0xBB, 0xBF, rest @ ..] => (UTF_8, rest),
            [0xFE, 0xFF, rest @ ..] => (UTF_16BE, rest),
            [0xFF, 0xFE, rest @ ..] => (UTF_16LE, rest),
            _ => (self, bytes),
        };
        let (text, had_errors) = match encoding.kind {
            Kind::Utf8 => match String::from_utf8_lossy(rest) {
                Cow::Borrowed(s) => (Cow::Borrowed(s), false),
                Cow::Owned(s) => (Cow::Owned(s), true),
            },
            Kind::Utf16Be => utf16(rest, u16::from_be_bytes),
            Kind::Utf16Le => utf16(rest, u16::from_le_bytes),
            Kind::ShiftJis => shift_jis(rest),
        };
        (text, encoding, had_errors)
    }
}

/// UTF-16 code units to text; unpaired surrogates and an odd last byte become U+FFFD.
fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> (Cow<'static, str>, bool) {
    let units = bytes.chunks_exact(2).map(|p| unit([p[0], p[1]]));
    let mut had_errors = bytes.len() % 2 == 1;
    let mut text: String = char::decode_utf16(units)
        .map(|c| {
            c.unwrap_or_else(|_| {
                had_errors = true;
                char::REPLACEMENT_CHARACTER
            })
        })
        .collect();
    if bytes.len() % 2 == 1 {
        text.push(char::REPLACEMENT_CHARACTER);
    }
    (Cow::Owned(text), had_errors)
}

/// Shift_JIS's single-byte part: ASCII (0x00-0x7F, as WHATWG maps it) and half-width
/// katakana (0xA1-0xDF -> U+FF61-U+FF9F). A lead byte (0x81-0x9F, 0xE0-0xFC) and its
/// trail byte become one U+FFFD, as does every other byte.
fn shift_jis(bytes: &[u8]) -> (Cow<'_, str>, bool) {
    if bytes.is_ascii() {
        // ASCII only: the text is the bytes (`is_ascii` makes this infallible).
        return (String::from_utf8_lossy(bytes), false);
    }
    let mut text = String::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        i += 1;
        match b {
            0x00..=0x80 => text.push(char::from(b)),
            0xA1..=0xDF => {
                text.push(char::from_u32(0xFF61 + u32::from(b - 0xA1)).unwrap_or('\u{FFFD}'))
            }
            0x81..=0x9F | 0xE0..=0xFC => {
                // A double-byte character: its trail byte goes with it when it is one.
                if matches!(bytes.get(i), Some(0x40..=0x7E | 0x80..=0xFC)) {
                    i += 1;
                }
                text.push(char::REPLACEMENT_CHARACTER);
            }
            _ => text.push(char::REPLACEMENT_CHARACTER),
        }
    }
    (Cow::Owned(text), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_with_and_without_byte_order_marks() {
        let hi_be = [0x00, b'h', 0x00, b'i'];
        assert_eq!(UTF_16BE.decode(&hi_be), (Cow::from("hi"), UTF_16BE, false));
        // A little-endian BOM wins over the big-endian encoding asked for.
        let hi_le_bom = [0xFF, 0xFE, b'h', 0x00, b'i', 0x00];
        assert_eq!(
            UTF_16BE.decode(&hi_le_bom),
            (Cow::from("hi"), UTF_16LE, false)
        );
        let utf8_bom = [0xEF, 0xBB, 0xBF, b'o', b'k'];
        assert_eq!(UTF_16BE.decode(&utf8_bom), (Cow::from("ok"), UTF_8, false));
        // U+1F600 as a surrogate pair.
        let emoji = [0xD8, 0x3D, 0xDE, 0x00];
        assert_eq!(UTF_16BE.decode(&emoji).0, "\u{1F600}");
    }

    #[test]
    fn malformed_utf16_is_replaced_and_flagged() {
        // An unpaired high surrogate, then "a".
        let (text, _, had_errors) = UTF_16BE.decode(&[0xD8, 0x00, 0x00, b'a']);
        assert_eq!((text.as_ref(), had_errors), ("\u{FFFD}a", true));
        // An odd trailing byte.
        let (text, _, had_errors) = UTF_16BE.decode(&[0x00, b'a', 0x00]);
        assert_eq!((text.as_ref(), had_errors), ("a\u{FFFD}", true));
        assert_eq!(UTF_16BE.decode(&[]), (Cow::from(""), UTF_16BE, false));
    }

    #[test]
    fn shift_jis_single_bytes_decode_and_double_bytes_are_replaced() {
        assert_eq!(
            SHIFT_JIS.decode(b"Track 1"),
            (Cow::from("Track 1"), SHIFT_JIS, false)
        );
        // Half-width katakana "ｱ" (0xB1), then the double-byte "あ" (0x82 0xA0), then "!".
        let (text, _, had_errors) = SHIFT_JIS.decode(&[0xB1, 0x82, 0xA0, b'!']);
        assert_eq!((text.as_ref(), had_errors), ("\u{FF71}\u{FFFD}!", true));
        // A lead byte at the end, and bytes no Shift_JIS character starts with.
        assert_eq!(SHIFT_JIS.decode(&[0xFD, 0x81]).0, "\u{FFFD}\u{FFFD}");
    }
}
