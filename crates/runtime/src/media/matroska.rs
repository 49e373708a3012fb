//! A Matroska/WebM demuxer for the first audio track: its header (codec, codec private
//! data, rate, channels) and its packets, read lazily from the bytes in memory.
//!
//! Why not symphonia's: symphonia 0.5's Matroska reader panicked on crafted and cut files
//! (an `unwrap` of the timestamp scale, `assert`s on stream positions; found by
//! `tests/fuzz.rs`), and a panic would take a browser worker down. This reader never
//! indexes past the bytes, never allocates from a size a file states, and handles what
//! `MediaRecorder` writes: clusters of unknown size, SimpleBlocks, and all three lacings.
//! Element ids and semantics: the Matroska specification (RFC 9559).

use std::collections::VecDeque;
use std::ops::Range;

const EBML: u32 = 0x1A45_DFA3;
const SEGMENT: u32 = 0x1853_8067;
const TRACKS: u32 = 0x1654_AE6B;
const TRACK_ENTRY: u32 = 0xAE;
const TRACK_NUMBER: u32 = 0xD7;
const TRACK_TYPE: u32 = 0x83;
const CODEC_ID: u32 = 0x86;
const CODEC_PRIVATE: u32 = 0x63A2;
const CODEC_DELAY: u32 = 0x56AA;
const AUDIO: u32 = 0xE1;
const SAMPLING_FREQUENCY: u32 = 0xB5;
const CHANNELS: u32 = 0x9F;
const BIT_DEPTH: u32 = 0x6264;
const CLUSTER: u32 = 0x1F43_B675;
const SIMPLE_BLOCK: u32 = 0xA3;
const BLOCK_GROUP: u32 = 0xA0;
const BLOCK: u32 = 0xA1;
const DISCARD_PADDING: u32 = 0x75A2;
/// Segment-level elements: one of these ends a cluster of unknown size.
const TOP_LEVEL: [u32; 8] = [
    CLUSTER,
    TRACKS,
    0x114D_9B74, // SeekHead
    0x1549_A966, // Info
    0x1C53_BB6B, // Cues
    0x1254_C367, // Tags
    0x1043_A770, // Chapters
    0x1941_A469, // Attachments
];

/// Matroska `TrackType` of audio tracks.
const TYPE_AUDIO: u64 = 2;
/// Matroska `TrackType` of video tracks.
const TYPE_VIDEO: u64 = 1;

/// One track of the `Tracks` element.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Track {
    pub(crate) number: u64,
    pub(crate) kind: u64,
    pub(crate) codec_id: String,
    pub(crate) codec_private: Vec<u8>,
    /// `CodecDelay`, in nanoseconds.
    pub(crate) codec_delay_ns: u64,
    pub(crate) sample_rate: Option<f64>,
    pub(crate) channels: Option<u64>,
    pub(crate) bit_depth: Option<u64>,
}

/// What the header says: the tracks, and where the clusters start.
#[derive(Debug)]
pub(crate) struct Header {
    pub(crate) tracks: Vec<Track>,
    /// Offset of the first segment-level element after `Tracks`.
    clusters: usize,
    /// End of the segment (the file's end for a segment of unknown size).
    segment_end: usize,
}

impl Header {
    /// The first audio track.
    pub(crate) fn audio(&self) -> Option<&Track> {
        self.tracks.iter().find(|t| t.kind == TYPE_AUDIO)
    }

    /// How many video tracks there are.
    pub(crate) fn videos(&self) -> usize {
        self.tracks.iter().filter(|t| t.kind == TYPE_VIDEO).count()
    }

    /// The packets of track `number`, from the first cluster on.
    pub(crate) fn packets(&self, number: u64) -> Packets {
        Packets {
            track: number,
            pos: self.clusters,
            segment_end: self.segment_end,
            cluster: None,
            queue: VecDeque::new(),
        }
    }
}

/// Reads the EBML header, the segment and its `Tracks`. Errors for a file that is not
/// Matroska, or whose tracks cannot be found before the first cluster.
pub(crate) fn read_header(bytes: &[u8]) -> Result<Header, String> {
    let (id, body, size) = element_at(bytes, 0).ok_or("the EBML header is cut short")?;
    if id != EBML {
        return Err("it does not start with an EBML header".into());
    }
    let mut pos = end_of(bytes, body, size).ok_or("the EBML header's size is unknown")?;
    // The segment: the first SEGMENT element after the EBML header (Void may precede it).
    let (segment_body, segment_end) = loop {
        let (id, body, size) = element_at(bytes, pos).ok_or("it has no Segment element")?;
        if id == SEGMENT {
            break (
                body,
                size.map_or(bytes.len(), |s| body.saturating_add(s).min(bytes.len())),
            );
        }
        pos =
            end_of(bytes, body, size).ok_or("an element before the Segment has an unknown size")?;
    };
    pos = segment_body;
    while pos < segment_end {
        let Some((id, body, size)) = element_at(bytes, pos) else {
            break;
        };
        if id == CLUSTER {
            break;
        }
        let Some(end) = end_of(bytes, body, size) else {
            break;
        };
        if id == TRACKS {
            let tracks = elements(&bytes[body..end])
                .filter(|(id, _)| *id == TRACK_ENTRY)
                .take(128)
                .map(|(_, entry)| track(entry))
                .collect();
            return Ok(Header {
                tracks,
                clusters: end,
                segment_end,
            });
        }
        pos = end;
    }
    Err("it has no Tracks element before its first cluster".into())
}

fn track(entry: &[u8]) -> Track {
    let mut t = Track::default();
    for (id, data) in elements(entry) {
        match id {
            TRACK_NUMBER => t.number = unsigned(data).unwrap_or(0),
            TRACK_TYPE => t.kind = unsigned(data).unwrap_or(0),
            CODEC_ID => {
                t.codec_id = String::from_utf8_lossy(data)
                    .trim_end_matches('\0')
                    .to_string()
            }
            CODEC_PRIVATE => t.codec_private = data.to_vec(),
            CODEC_DELAY => t.codec_delay_ns = unsigned(data).unwrap_or(0),
            AUDIO => {
                for (id, data) in elements(data) {
                    match id {
                        SAMPLING_FREQUENCY => t.sample_rate = float(data),
                        CHANNELS => t.channels = unsigned(data),
                        BIT_DEPTH => t.bit_depth = unsigned(data),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    t
}

/// One packet (one frame of a block) of the track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Packet {
    /// Where its bytes are in the file.
    pub(crate) range: Range<usize>,
    /// The block's `DiscardPadding` in nanoseconds: the samples to drop from the end
    /// of the last frame of its block (ffmpeg writes it on a stream's last block).
    pub(crate) discard_padding_ns: u64,
}

/// The packets of one track, cluster by cluster.
pub(crate) struct Packets {
    track: u64,
    pos: usize,
    segment_end: usize,
    /// Inside a cluster: `Some(Some(end))`, or `Some(None)` when its size is unknown.
    cluster: Option<Option<usize>>,
    queue: VecDeque<Packet>,
}

impl Packets {
    /// The next packet of the track, or `None` at the end of the file (a block cut short
    /// by the end of a truncated file is dropped).
    pub(crate) fn next(&mut self, bytes: &[u8]) -> Option<Packet> {
        loop {
            if let Some(p) = self.queue.pop_front() {
                return Some(p);
            }
            if let Some(Some(end)) = self.cluster {
                if self.pos >= end {
                    self.cluster = None;
                }
            }
            if self.pos >= self.segment_end.min(bytes.len()) {
                return None;
            }
            let (id, body, size) = element_at(bytes, self.pos)?;
            let end = size.map(|s| body.saturating_add(s).min(bytes.len()));
            if self.cluster == Some(None) && TOP_LEVEL.contains(&id) {
                // A cluster of unknown size ends where the next segment-level element starts.
                self.cluster = None;
            }
            match (self.cluster.is_some(), id) {
                (false, CLUSTER) => {
                    self.cluster = Some(end);
                    self.pos = body;
                }
                (true, SIMPLE_BLOCK) => {
                    let end = end?;
                    self.block(bytes, body..end, 0);
                    self.pos = end;
                }
                (true, BLOCK_GROUP) => {
                    let end = end?;
                    let group = &bytes[body..end];
                    let padding = elements(group)
                        .find(|(id, _)| *id == DISCARD_PADDING)
                        .and_then(|(_, d)| signed(d))
                        .map_or(0, |p| p.max(0) as u64);
                    if let Some((_, block)) = elements(group).find(|(id, _)| *id == BLOCK) {
                        let start = offset_in(bytes, block);
                        self.block(bytes, start..start + block.len(), padding);
                    }
                    self.pos = end;
                }
                _ => self.pos = end?,
            }
        }
    }

    /// Queues the frames of a block of this track (Matroska 10.2 and 10.3: the track
    /// number, a 16-bit time code, flags, then the frames, laced or not).
    fn block(&mut self, bytes: &[u8], range: Range<usize>, padding: u64) {
        let block = &bytes[range.clone()];
        let Some((track, n)) = vint(block, false) else {
            return;
        };
        if track != self.track || block.len() < n + 3 {
            return;
        }
        let lacing = (block[n + 2] >> 1) & 3;
        let mut at = n + 3;
        let frames = match lacing {
            0 => vec![block.len() - at],
            lacing => {
                let Some(&count) = block.get(at) else { return };
                at += 1;
                let count = usize::from(count) + 1;
                match lace_sizes(block, &mut at, lacing, count) {
                    Some(sizes) => sizes,
                    None => return,
                }
            }
        };
        let last = frames.len() - 1;
        for (i, size) in frames.into_iter().enumerate() {
            let Some(end) = at.checked_add(size).filter(|e| *e <= block.len()) else {
                return;
            };
            self.queue.push_back(Packet {
                range: range.start + at..range.start + end,
                discard_padding_ns: if i == last { padding } else { 0 },
            });
            at = end;
        }
    }
}

/// The sizes of `count` laced frames (Xiph 1, fixed 2, EBML 3); `at` moves past the
/// lace header. `None` when the sizes do not fit the block.
fn lace_sizes(block: &[u8], at: &mut usize, lacing: u8, count: usize) -> Option<Vec<usize>> {
    let mut sizes = Vec::with_capacity(count);
    match lacing {
        1 => {
            for _ in 1..count {
                let mut size = 0usize;
                loop {
                    let b = *block.get(*at)?;
                    *at += 1;
                    size = size.checked_add(usize::from(b))?;
                    if b != 255 {
                        break;
                    }
                }
                sizes.push(size);
            }
        }
        3 => {
            let (first, n) = vint(block.get(*at..)?, false)?;
            *at += n;
            let mut size = i64::try_from(first).ok()?;
            sizes.push(usize::try_from(size).ok()?);
            for _ in 2..count {
                let (raw, n) = vint(block.get(*at..)?, false)?;
                *at += n;
                // A signed vint: the raw value less half its range.
                let bias = (1i64 << (7 * n - 1)) - 1;
                size = size.checked_add(i64::try_from(raw).ok()? - bias)?;
                sizes.push(usize::try_from(size).ok()?);
            }
        }
        _ => {
            let each = block.len().checked_sub(*at)? / count;
            return Some(vec![each; count]);
        }
    }
    let used: usize = sizes.iter().try_fold(0usize, |a, s| a.checked_add(*s))?;
    let rest = block.len().checked_sub(*at)?.checked_sub(used)?;
    sizes.push(rest);
    Some(sizes)
}

/// The element at `pos`: `(id, where its body starts, its size; None if unknown)`.
fn element_at(bytes: &[u8], pos: usize) -> Option<(u32, usize, Option<usize>)> {
    let rest = bytes.get(pos..)?;
    let (id, id_len) = vint(rest, true)?;
    let (size, size_len) = vint(rest.get(id_len..)?, false)?;
    let unknown = size == (1u64 << (7 * size_len)) - 1;
    let size = if unknown {
        None
    } else {
        Some(usize::try_from(size).unwrap_or(usize::MAX))
    };
    Some((id as u32, pos + id_len + size_len, size))
}

/// Where an element of known size ends, clamped to the file (a cut file's last
/// element ends with it).
fn end_of(bytes: &[u8], body: usize, size: Option<usize>) -> Option<usize> {
    size.map(|s| body.saturating_add(s).min(bytes.len()))
}

/// The offset of `part`, a slice of `bytes`, in `bytes`.
fn offset_in(bytes: &[u8], part: &[u8]) -> usize {
    part.as_ptr() as usize - bytes.as_ptr() as usize
}

/// The child elements in `bytes` as `(id, body)`; stops at one of unknown size or
/// past the end.
fn elements(bytes: &[u8]) -> impl Iterator<Item = (u32, &[u8])> + '_ {
    let mut pos = 0;
    std::iter::from_fn(move || {
        let (id, body, size) = element_at(bytes, pos)?;
        let end = body.checked_add(size?)?;
        let data = bytes.get(body..end)?;
        pos = end;
        Some((id, data))
    })
}

/// An EBML variable-length integer and its length in bytes; `keep_marker` for ids.
fn vint(bytes: &[u8], keep_marker: bool) -> Option<(u64, usize)> {
    let first = *bytes.first()?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 || (keep_marker && len > 4) {
        return None;
    }
    let mut value = if keep_marker {
        u64::from(first)
    } else {
        u64::from(first) & ((1u64 << (8 - len)) - 1)
    };
    for b in bytes.get(1..len)? {
        value = (value << 8) | u64::from(*b);
    }
    Some((value, len))
}

/// A big-endian unsigned integer of 0 to 8 bytes.
fn unsigned(data: &[u8]) -> Option<u64> {
    (data.len() <= 8).then(|| data.iter().fold(0u64, |v, b| (v << 8) | u64::from(*b)))
}

/// A big-endian signed integer of 1 to 8 bytes.
fn signed(data: &[u8]) -> Option<i64> {
    if data.is_empty() || data.len() > 8 {
        return None;
    }
    let mut value = if data[0] & 0x80 != 0 { -1i64 } else { 0 };
    for b in data {
        value = (value << 8) | i64::from(*b);
    }
    Some(value)
}

/// A big-endian IEEE float of 4 or 8 bytes.
fn float(data: &[u8]) -> Option<f64> {
    match data.len() {
        4 => Some(f64::from(f32::from_be_bytes(data.try_into().ok()?))),
        8 => Some(f64::from_be_bytes(data.try_into().ok()?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vints_and_numbers() {
        assert_eq!(vint(&[0x81], false), Some((1, 1)));
        assert_eq!(vint(&[0x40, 0x02], false), Some((2, 2)));
        assert_eq!(
            vint(&[0x1A, 0x45, 0xDF, 0xA3], true),
            Some((0x1A45_DFA3, 4))
        );
        assert_eq!(vint(&[0x00], false), None);
        assert_eq!(signed(&[0xFF, 0xFE]), Some(-2));
        assert_eq!(unsigned(&[0x01, 0x00]), Some(256));
        assert_eq!(float(&[0x47, 0x3B, 0x80, 0x00]), Some(48000.0));
    }

    /// EBML header, a segment of unknown size with one audio track, and one cluster of
    /// unknown size holding a SimpleBlock of two Xiph-laced frames and a BlockGroup
    /// with DiscardPadding.
    fn file() -> Vec<u8> {
        let entry = [
            &[0xD7, 0x81, 0x01, 0x83, 0x81, 0x02, 0x86, 0x86][..],
            b"A_OPUS",
            &[0xE1, 0x86, 0xB5, 0x84, 0x47, 0x3B, 0x80, 0x00],
        ]
        .concat();
        let tracks = [
            &[
                0x16,
                0x54,
                0xAE,
                0x6B,
                0x80 | (entry.len() + 2) as u8,
                0xAE,
                0x80 | entry.len() as u8,
            ][..],
            &entry,
        ]
        .concat();
        let simple = [0xA3, 0x89, 0x81, 0, 0, 0x82, 1, 2, 0xAA, 0xBB, 0xCC];
        let group = [
            0xA0, 0x8C, 0xA1, 0x85, 0x81, 0, 1, 0x80, 0xDD, 0x75, 0xA2, 0x82, 0x0D, 0xAC,
        ];
        let cluster = [
            &[
                0x1F, 0x43, 0xB6, 0x75, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
            ][..],
            &simple,
            &group,
        ]
        .concat();
        [
            &[0x1A, 0x45, 0xDF, 0xA3, 0x80][..],
            &[
                0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
            ],
            &tracks,
            &cluster,
        ]
        .concat()
    }

    #[test]
    fn reads_tracks_and_laced_frames_in_clusters_of_unknown_size() {
        let bytes = file();
        let header = read_header(&bytes).unwrap();
        let audio = header.audio().unwrap();
        assert_eq!(
            (audio.number, audio.codec_id.as_str(), audio.sample_rate),
            (1, "A_OPUS", Some(48000.0))
        );
        let mut packets = header.packets(1);
        let mut got = Vec::new();
        while let Some(p) = packets.next(&bytes) {
            got.push((bytes[p.range].to_vec(), p.discard_padding_ns));
        }
        assert_eq!(
            got,
            vec![(vec![0xAA, 0xBB], 0), (vec![0xCC], 0), (vec![0xDD], 3500)]
        );
    }

    #[test]
    fn cut_anywhere_it_ends_or_errs_without_panicking() {
        let bytes = file();
        for cut in 0..bytes.len() {
            if let Ok(header) = read_header(&bytes[..cut]) {
                let mut packets = header.packets(1);
                while packets.next(&bytes[..cut]).is_some() {}
            }
        }
    }
}
