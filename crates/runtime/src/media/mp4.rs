//! What symphonia's MP4 reader leaves out and this decoder needs: the first audio
//! track's sample entry (to name a codec it cannot decode), the video tracks (to say
//! why a file has no audio) and the audio track's edit list (AAC encoder priming and
//! remainder, ISO/IEC 14496-12 8.6.6). Reads boxes only; never
//! allocates from a size the file states.

/// The first audio track of an MP4 file, as far as this decoder needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AudioTrack {
    /// The sample entry's four-character code (`mp4a`, `alac`, `ac-3`, `Opus`, ...).
    pub(crate) sample_entry: [u8; 4],
    /// `(frames to skip at the start, frames to keep)` from the first non-empty edit,
    /// in the track's media time scale (its sample rate, for audio).
    pub(crate) edit: Option<(u64, Option<u64>)>,
}

/// The number of video tracks and the first audio track (`hdlr` type `soun`), if any.
pub(crate) fn tracks(bytes: &[u8]) -> (usize, Option<AudioTrack>) {
    let Some(moov) = children(bytes).find(|(kind, _)| kind == b"moov") else {
        return (0, None);
    };
    let movie_scale = children(moov.1)
        .find(|(kind, _)| kind == b"mvhd")
        .and_then(|(_, body)| time_scale(body, 12, 20));
    let mut videos = 0;
    let mut audio = None;
    for (_, trak) in children(moov.1).filter(|(kind, _)| kind == b"trak") {
        let Some(mdia) = child(trak, b"mdia") else {
            continue;
        };
        let handler = child(mdia, b"hdlr").and_then(|h| h.get(8..12));
        if handler == Some(b"vide") {
            videos += 1;
        }
        if handler != Some(b"soun") || audio.is_some() {
            continue;
        }
        let media_scale = child(mdia, b"mdhd").and_then(|b| time_scale(b, 12, 20));
        let stsd = child(mdia, b"minf")
            .and_then(|m| child(m, b"stbl"))
            .and_then(|s| child(s, b"stsd"));
        // stsd: version/flags, entry count, then the sample entries as boxes.
        let entry = stsd
            .and_then(|s| s.get(8..))
            .and_then(|e| children(e).next());
        let mut track = AudioTrack::default();
        if let Some((kind, _)) = entry {
            track.sample_entry = kind;
        }
        track.edit = child(trak, b"edts")
            .and_then(|e| child(e, b"elst"))
            .and_then(|elst| first_edit(elst, movie_scale?, media_scale?));
        audio = Some(track);
    }
    (videos, audio)
}

/// Boxes whose children are boxes, among those symphonia reads.
const CONTAINERS: [&[u8; 4]; 11] = [
    b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"mvex", b"moof", b"traf",
    b"udta",
];

/// Checks that the `moov` and `moof` boxes are whole and that every sample table in
/// them has room for the entries it claims. symphonia's MP4 reader reserves memory for
/// the claimed count before reading, so a crafted count would ask for gigabytes and
/// abort the process (or the browser worker). `mdat` may be cut short: decoding then
/// ends where the data does.
pub(crate) fn check_tables(bytes: &[u8]) -> Result<(), String> {
    let mut rest = bytes;
    while let Some((kind, header, size)) = box_header(rest) {
        let whole = size <= rest.len();
        if matches!(&kind, b"moov" | b"moof") {
            if !whole {
                return Err(format!(
                    "the file is cut short: its '{}' box needs {size} bytes, {} are left",
                    String::from_utf8_lossy(&kind),
                    rest.len()
                ));
            }
            check_children(&rest[header..size])?;
        }
        if !whole {
            break;
        }
        rest = &rest[size..];
    }
    Ok(())
}

fn check_children(body: &[u8]) -> Result<(), String> {
    let mut rest = body;
    while !rest.is_empty() {
        let Some((kind, header, size)) = box_header(rest) else {
            return Err("a box header is damaged".into());
        };
        if size > rest.len() {
            return Err(format!(
                "its '{}' box runs past the box that holds it",
                String::from_utf8_lossy(&kind)
            ));
        }
        let inner = &rest[header..size];
        if CONTAINERS.contains(&&kind) {
            check_children(inner)?;
            check_required(&kind, inner)?;
        }
        if &kind == b"stsd" {
            check_sample_entries(inner)?;
        }
        // (bytes before the count, bytes per entry) of each table symphonia reads.
        let table = match &kind {
            b"stsc" => Some((4, 12)),
            b"stts" | b"ctts" => Some((4, 8)),
            b"stco" | b"stss" => Some((4, 4)),
            b"co64" => Some((4, 8)),
            b"stsz" if inner.get(4..8).is_some_and(|s| s == [0; 4]) => Some((8, 4)),
            b"elst" => Some((4, if inner.first() == Some(&1) { 20 } else { 12 })),
            b"trun" => inner.get(1..4).map(|f| (4, trun_entry_size(f))),
            _ => None,
        };
        if let Some((at, entry)) = table {
            let count = inner
                .get(at..at + 4)
                .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
                .ok_or_else(|| {
                    format!("its '{}' box is cut short", String::from_utf8_lossy(&kind))
                })?;
            if count.saturating_mul(entry) > inner.len() {
                return Err(format!(
                    "its '{}' box claims {count} entries in {} bytes",
                    String::from_utf8_lossy(&kind),
                    inner.len()
                ));
            }
        }
        rest = &rest[size..];
    }
    Ok(())
}

/// The children symphonia requires of each box (it unwraps them).
fn check_required(kind: &[u8; 4], body: &[u8]) -> Result<(), String> {
    let required: &[&[u8; 4]] = match kind {
        b"moov" => &[b"mvhd"],
        b"trak" => &[b"tkhd", b"mdia"],
        b"mdia" => &[b"mdhd", b"hdlr", b"minf"],
        b"minf" => &[b"stbl"],
        b"stbl" => &[b"stsd", b"stts", b"stsc", b"stsz"],
        b"moof" => &[b"mfhd"],
        b"traf" => &[b"tfhd"],
        _ => &[],
    };
    for want in required {
        if child(body, want).is_none() {
            return Err(format!(
                "its '{}' box has no '{}' box",
                String::from_utf8_lossy(kind),
                String::from_utf8_lossy(*want)
            ));
        }
    }
    Ok(())
}

/// An `mp4a` entry's `esds` must hold an ES descriptor with a decoder configuration
/// and an SL configuration (symphonia unwraps all three).
fn check_sample_entries(stsd: &[u8]) -> Result<(), String> {
    for (kind, entry) in stsd.get(8..).map(children).into_iter().flatten() {
        if &kind != b"mp4a" {
            continue;
        }
        let version = entry.get(8..10).map(|v| u16::from_be_bytes([v[0], v[1]]));
        let fields = 28
            + match version {
                Some(1) => 16,
                Some(2) => 36,
                _ => 0,
            };
        let Some(esds) = entry.get(fields..).and_then(|b| child(b, b"esds")) else {
            continue;
        };
        if !es_descriptor_is_whole(esds) {
            return Err("its 'esds' box is damaged".into());
        }
    }
    Ok(())
}

/// Whether an `esds` body (version and flags, then descriptors) holds an ES descriptor
/// (0x03) whose sub-descriptors include a DecoderConfig (0x04) and an SLConfig (0x06),
/// each within its parent's length (ISO/IEC 14496-1 7.2.6).
fn es_descriptor_is_whole(esds: &[u8]) -> bool {
    let Some((0x03, es)) = descriptor(esds.get(4..).unwrap_or(&[])) else {
        return false;
    };
    let Some(&flags) = es.get(2) else {
        return false;
    };
    let mut at = 3;
    if flags & 0x80 != 0 {
        at += 2;
    }
    if flags & 0x40 != 0 {
        at += 1 + usize::from(es.get(at).copied().unwrap_or(0));
    }
    if flags & 0x20 != 0 {
        at += 2;
    }
    let (mut config, mut sl) = (false, false);
    let mut rest = es.get(at..).unwrap_or(&[]);
    while let Some((tag, body)) = descriptor(rest) {
        config |= tag == 0x04 && body.len() >= 13;
        sl |= tag == 0x06;
        let used = body.as_ptr() as usize - rest.as_ptr() as usize + body.len();
        rest = &rest[used..];
    }
    config && sl
}

/// The descriptor at the start of `bytes`: its tag and body (a length of one to four
/// 7-bit bytes), when the body fits.
fn descriptor(bytes: &[u8]) -> Option<(u8, &[u8])> {
    let tag = *bytes.first()?;
    let mut len = 0usize;
    let mut at = 1;
    for _ in 0..4 {
        let b = *bytes.get(at)?;
        at += 1;
        len = (len << 7) | usize::from(b & 0x7F);
        if b & 0x80 == 0 {
            break;
        }
    }
    Some((tag, bytes.get(at..at.checked_add(len)?)?))
}

/// Bytes per sample of a `trun` box with these flags (ISO/IEC 14496-12 8.8.8).
/// Duration, size, flags and composition offset are per sample, 4 bytes each, when
/// the flags' second byte says so (0x01, 0x02, 0x04, 0x08).
fn trun_entry_size(flags: &[u8]) -> usize {
    flags[1].count_ones().min(4) as usize * 4
}

/// `(type, header length, whole size)` of the box at the start of `bytes`.
fn box_header(bytes: &[u8]) -> Option<([u8; 4], usize, usize)> {
    let size = u32::from_be_bytes(bytes.get(0..4)?.try_into().ok()?) as u64;
    let kind: [u8; 4] = bytes.get(4..8)?.try_into().ok()?;
    let (header, size) = match size {
        0 => (8, bytes.len() as u64),
        1 => (16, u64::from_be_bytes(bytes.get(8..16)?.try_into().ok()?)),
        n => (8, n),
    };
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    (size >= header).then_some((kind, header, size))
}

/// The boxes in `bytes`, as `(type, body)`; stops at the first malformed one.
fn children(bytes: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> + '_ {
    let mut rest = bytes;
    std::iter::from_fn(move || {
        let (kind, header, size) = box_header(rest)?;
        let body = rest.get(header..size)?;
        rest = &rest[size..];
        Some((kind, body))
    })
}

fn child<'a>(bytes: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    children(bytes).find(|(k, _)| k == kind).map(|(_, b)| b)
}

/// The time scale of an `mvhd` or `mdhd` body: at `v0` in version 0, `v1` in version 1.
fn time_scale(body: &[u8], v0: usize, v1: usize) -> Option<u32> {
    let at = if *body.first()? == 1 { v1 } else { v0 };
    let scale = u32::from_be_bytes(body.get(at..at + 4)?.try_into().ok()?);
    (scale > 0).then_some(scale)
}

/// The first edit that is not an empty one (media time -1): its media time and its
/// duration converted from the movie's time scale to the media's.
fn first_edit(elst: &[u8], movie_scale: u32, media_scale: u32) -> Option<(u64, Option<u64>)> {
    let version = *elst.first()?;
    let count = u32::from_be_bytes(elst.get(4..8)?.try_into().ok()?);
    let entry_size = if version == 1 { 20 } else { 12 };
    for i in 0..count.min(64) as usize {
        let at = 8 + i * entry_size;
        let entry = elst.get(at..at + entry_size)?;
        let (duration, media_time) = if version == 1 {
            (
                u64::from_be_bytes(entry[0..8].try_into().ok()?),
                i64::from_be_bytes(entry[8..16].try_into().ok()?),
            )
        } else {
            (
                u64::from(u32::from_be_bytes(entry[0..4].try_into().ok()?)),
                i64::from(i32::from_be_bytes(entry[4..8].try_into().ok()?)),
            )
        };
        if media_time < 0 {
            continue;
        }
        // A zero duration means "to the end" (fragmented files write it).
        let keep = (duration > 0).then(|| {
            let frames = u128::from(duration) * u128::from(media_scale) / u128::from(movie_scale);
            u64::try_from(frames).unwrap_or(u64::MAX)
        });
        return Some((media_time as u64, keep));
    }
    None
}
