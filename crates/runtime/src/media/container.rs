//! Which container a file is, from its first bytes (never its name), and the header
//! fields that must be checked before symphonia reads them.

use crate::node::NodeFailure;

/// An audio file's container, as its first bytes say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// RIFF/WAVE.
    Wav,
    /// RF64/WAVE (EBU Tech 3306): WAVE with 64-bit sizes in a `ds64` chunk.
    Rf64,
    /// AIFF or AIFC (`FORM` ... `AIFF`/`AIFC`).
    Aiff,
    /// Apple Core Audio Format (`caff`).
    Caf,
    /// Native FLAC (`fLaC`).
    Flac,
    /// MPEG audio frames, optionally after an ID3v2 tag.
    Mp3,
    /// Ogg (`OggS`): Vorbis, Opus or FLAC inside.
    Ogg,
    /// Matroska or WebM (the EBML magic `1A 45 DF A3`).
    Matroska,
    /// ISO base media: MP4, M4A, MOV, 3GP (an `ftyp`, `moov`, `wide`, `free` or `mdat` box first).
    Mp4,
    /// ADTS AAC frames (`.aac`).
    Adts,
    /// None of the above.
    Unknown,
}

impl Container {
    /// The name used in error messages and `docs/formats.md`.
    pub fn name(self) -> &'static str {
        match self {
            Container::Wav => "WAV",
            Container::Rf64 => "RF64",
            Container::Aiff => "AIFF",
            Container::Caf => "CAF",
            Container::Flac => "FLAC",
            Container::Mp3 => "MP3",
            Container::Ogg => "Ogg",
            Container::Matroska => "WebM/Matroska",
            Container::Mp4 => "MP4",
            Container::Adts => "ADTS",
            Container::Unknown => "unknown",
        }
    }
}

/// The container of a file, from its first bytes.
pub fn sniff(bytes: &[u8]) -> Container {
    let at = |range: std::ops::Range<usize>| bytes.get(range).unwrap_or(&[]);
    match at(0..4) {
        b"RIFF" if at(8..12) == b"WAVE" => return Container::Wav,
        b"RF64" | b"BW64" if at(8..12) == b"WAVE" => return Container::Rf64,
        b"FORM" if matches!(at(8..12), b"AIFF" | b"AIFC") => return Container::Aiff,
        b"caff" => return Container::Caf,
        b"fLaC" => return Container::Flac,
        b"OggS" => return Container::Ogg,
        [0x1A, 0x45, 0xDF, 0xA3] => return Container::Matroska,
        b"ID3\x03" | b"ID3\x04" | b"ID3\x02" => return Container::Mp3,
        _ => {}
    }
    if matches!(
        at(4..8),
        b"ftyp" | b"moov" | b"wide" | b"free" | b"mdat" | b"skip"
    ) {
        return Container::Mp4;
    }
    match at(0..2) {
        // ADTS: syncword 0xFFF, layer 00.
        [0xFF, b] if b & 0xF6 == 0xF0 => Container::Adts,
        // MPEG audio: 11-bit sync, layer bits not 00.
        [0xFF, b] if b & 0xE0 == 0xE0 && b & 0x06 != 0 => Container::Mp3,
        _ => Container::Unknown,
    }
}

/// Checks the header fields symphonia trusts (it panics building a time base from a
/// 0 Hz WAV or FLAC), and rewrites an RF64 header as the WAVE header symphonia reads
/// (sizes clamped to 32 bits; a file that large is refused by the output limit anyway).
pub(crate) fn prepare(container: Container, bytes: &mut [u8]) -> Result<(), NodeFailure> {
    match container {
        Container::Wav => check_wav(bytes),
        Container::Rf64 => {
            rf64_to_wave(bytes)?;
            check_wav(bytes)
        }
        Container::Flac => check_flac(bytes),
        Container::Aiff => check_aiff(bytes),
        Container::Caf => check_caf(bytes),
        _ => Ok(()),
    }
}

fn rate_and_channels(name: &str, rate: f64, channels: u32) -> Result<(), NodeFailure> {
    let max = f64::from(crate::limits::MAX_SAMPLE_RATE);
    if rate.is_finite() && (1.0..=max).contains(&rate) && channels > 0 {
        return Ok(());
    }
    Err(NodeFailure::new(format!(
        "the {name} header is invalid: {channels} channels at {rate} Hz (rates are 1 to {max} Hz)"
    )))
}

/// AIFF's `COMM` chunk: channels (16 bits), frames, sample size, then the rate as an
/// 80-bit IEEE extended float.
fn check_aiff(bytes: &[u8]) -> Result<(), NodeFailure> {
    let mut at = 12usize;
    while let Some(id) = bytes.get(at..at + 4) {
        let size = bytes
            .get(at + 4..at + 8)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .ok_or("the AIFF file is cut short")?;
        if id == b"COMM" {
            let comm = bytes
                .get(at + 8..at + 26)
                .ok_or("the AIFF header is cut short")?;
            let channels = u32::from(u16::from_be_bytes([comm[0], comm[1]]));
            let exponent = i32::from(u16::from_be_bytes([comm[8], comm[9]]) & 0x7FFF);
            let mantissa = u64::from_be_bytes(comm[10..18].try_into().expect("8 bytes"));
            let rate = mantissa as f64 * 2f64.powi(exponent - 16383 - 63);
            return rate_and_channels("AIFF", rate, channels);
        }
        at = at
            .checked_add(8)
            .and_then(|a| a.checked_add(size + (size & 1)))
            .ok_or("the AIFF file is damaged")?;
    }
    Err("the AIFF file has no COMM chunk".into())
}

/// CAF's `desc` chunk, the first after the file header: the rate as a 64-bit float,
/// then the format, and channels per frame at byte 24.
fn check_caf(bytes: &[u8]) -> Result<(), NodeFailure> {
    let desc = bytes
        .get(8..8 + 12 + 32)
        .ok_or("the CAF header is cut short")?;
    if &desc[0..4] != b"desc" {
        return Err("the CAF file does not start with a desc chunk".into());
    }
    let body = &desc[12..];
    let rate = f64::from_be_bytes(body[0..8].try_into().expect("8 bytes"));
    let channels = u32::from_be_bytes(body[24..28].try_into().expect("4 bytes"));
    rate_and_channels("CAF", rate, channels)?;
    // symphonia takes a format with bits per channel as uncompressed, and divides by
    // its bytes per packet.
    let bytes_per_packet = u32::from_be_bytes(body[16..20].try_into().expect("4 bytes"));
    let bits_per_channel = u32::from_be_bytes(body[28..32].try_into().expect("4 bytes"));
    if bits_per_channel != 0 && bytes_per_packet == 0 {
        return Err("the CAF header is invalid: uncompressed audio with 0 bytes per frame".into());
    }
    // symphonia reads every chunk but `data` into memory at its stated size: each must
    // fit in the file. `data` may be cut short, or of unknown size (-1) at the end.
    let mut at = 8usize;
    while let Some(header) = bytes.get(at..at + 12) {
        let size = i64::from_be_bytes(header[4..12].try_into().expect("8 bytes"));
        let left = (bytes.len() - at - 12) as i64;
        if &header[0..4] == b"data" && (size == -1 || size > left) {
            break;
        }
        if size < 0 || size > left {
            return Err(NodeFailure::new(format!(
                "the CAF file is damaged: its '{}' chunk claims {size} bytes, {left} are left",
                String::from_utf8_lossy(&header[0..4])
            )));
        }
        // The packet table reserves room for the packets it claims; each takes a byte
        // or more after the table's 24-byte header.
        if &header[0..4] == b"pakt" {
            let claimed = bytes
                .get(at + 12..at + 20)
                .map_or(-1, |b| i64::from_be_bytes(b.try_into().expect("8 bytes")));
            if claimed < 0 || claimed > size - 24 {
                return Err(NodeFailure::new(format!(
                    "the CAF file is damaged: its packet table claims {claimed} packets in {size} bytes"
                )));
            }
        }
        at += 12 + size as usize;
    }
    Ok(())
}

fn u16_le(bytes: &[u8], at: usize) -> Option<u16> {
    bytes
        .get(at..at.checked_add(2)?)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
}

fn u32_le(bytes: &[u8], at: usize) -> Option<u32> {
    bytes
        .get(at..at.checked_add(4)?)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The RIFF chunks after the 12-byte file header: `(offset of the chunk, id, size)`.
fn riff_chunks(bytes: &[u8]) -> impl Iterator<Item = (usize, [u8; 4], u32)> + '_ {
    let mut at = 12usize;
    std::iter::from_fn(move || {
        let id: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
        let size = u32_le(bytes, at + 4)?;
        let here = at;
        // A size that reaches past what usize can address (RF64's 0xFFFFFFFF data size
        // in 32-bit WebAssembly) ends the walk after this chunk, not before it.
        at = (size as usize)
            .checked_add(size as usize & 1)
            .and_then(|s| at.checked_add(8)?.checked_add(s))
            .unwrap_or(usize::MAX);
        Some((here, id, size))
    })
}

fn check_wav(bytes: &[u8]) -> Result<(), NodeFailure> {
    let Some((at, _, _)) = riff_chunks(bytes).find(|(_, id, _)| id == b"fmt ") else {
        return Err("the WAV file has no fmt chunk".into());
    };
    match (
        u16_le(bytes, at + 10),
        u32_le(bytes, at + 12),
        u16_le(bytes, at + 20),
    ) {
        (Some(c), Some(r), Some(a)) if c > 0 && a > 0 && crate::limits::sample_rate_ok(r) => Ok(()),
        (Some(c), Some(r), Some(_)) => Err(NodeFailure::new(format!(
            "the WAV header is invalid: {c} channels at {r} Hz (rates are 1 to {} Hz)",
            crate::limits::MAX_SAMPLE_RATE
        ))),
        _ => Err("the WAV header is cut short".into()),
    }
}

/// RF64 stores the RIFF and data sizes in `ds64` and writes 0xFFFFFFFF in their place.
fn rf64_to_wave(bytes: &mut [u8]) -> Result<(), NodeFailure> {
    let ds64 = riff_chunks(bytes)
        .find(|(_, id, _)| id == b"ds64")
        .map(|(at, _, _)| at)
        .ok_or("the RF64 file has no ds64 chunk")?;
    let u64_at = |at: usize| {
        bytes
            .get(at..at + 8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
    };
    let data_size = u64_at(ds64 + 16).ok_or("the RF64 ds64 chunk is cut short")?;
    let clamp = |v: u64| u32::try_from(v).unwrap_or(u32::MAX).to_le_bytes();
    let riff_size = clamp(bytes.len() as u64 - 8);
    bytes[0..4].copy_from_slice(b"RIFF");
    bytes[4..8].copy_from_slice(&riff_size);
    let data = riff_chunks(bytes)
        .find(|(_, id, _)| id == b"data")
        .map(|(at, _, _)| at);
    // The data chunk's 0xFFFFFFFF size makes the walk stop there, so it is found last.
    if let Some(at) = data {
        let available = (bytes.len() - at - 8) as u64;
        bytes[at + 4..at + 8].copy_from_slice(&clamp(data_size.min(available)));
    }
    Ok(())
}

fn check_flac(bytes: &[u8]) -> Result<(), NodeFailure> {
    // STREAMINFO follows the 4-byte block header: the rate is its bits 80..100.
    let info = bytes.get(8..8 + 34).ok_or("the FLAC header is cut short")?;
    let rate =
        (u32::from(info[10]) << 12) | (u32::from(info[11]) << 4) | (u32::from(info[12]) >> 4);
    let max_block = u16::from_be_bytes([info[2], info[3]]);
    if !crate::limits::sample_rate_ok(rate) || max_block < 16 {
        return Err(NodeFailure::new(format!(
            "the FLAC header is invalid: {rate} Hz, blocks of up to {max_block} samples"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_content() {
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVEfmt "), Container::Wav);
        assert_eq!(sniff(b"RF64\xff\xff\xff\xffWAVEds64"), Container::Rf64);
        assert_eq!(sniff(b"FORM\0\0\0\0AIFC"), Container::Aiff);
        assert_eq!(sniff(b"\x1a\x45\xdf\xa3\x9f"), Container::Matroska);
        assert_eq!(sniff(b"\0\0\0\x20ftypM4A "), Container::Mp4);
        assert_eq!(sniff(b"\xff\xf1\x50\x80"), Container::Adts);
        assert_eq!(sniff(b"\xff\xfb\x90\x64"), Container::Mp3);
        assert_eq!(sniff(b"{\"a\": 1}"), Container::Unknown);
        assert_eq!(sniff(b""), Container::Unknown);
    }

    #[test]
    fn rf64_with_a_cut_ds64_is_an_error() {
        let mut bytes = b"RF64\xff\xff\xff\xffWAVEds64\x1c\0\0\0\0\0".to_vec();
        assert!(prepare(Container::Rf64, &mut bytes).is_err());
    }
}
