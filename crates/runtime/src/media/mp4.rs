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

/// The boxes in `bytes`, as `(type, body)`; stops at the first malformed one.
fn children(bytes: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> + '_ {
    let mut rest = bytes;
    std::iter::from_fn(move || {
        let size = u32::from_be_bytes(rest.get(0..4)?.try_into().ok()?) as u64;
        let kind: [u8; 4] = rest.get(4..8)?.try_into().ok()?;
        let (header, size) = match size {
            0 => (8, rest.len() as u64),
            1 => (16, u64::from_be_bytes(rest.get(8..16)?.try_into().ok()?)),
            n => (8, n),
        };
        let size = usize::try_from(size).ok()?;
        if size < header || size > rest.len() {
            return None;
        }
        let body = &rest[header..size];
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
