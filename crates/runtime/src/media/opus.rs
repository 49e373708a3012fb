//! Opus packets to interleaved f32 at 48 kHz, with `opus-pure` (pure Rust, RFC 6716;
//! BSD-3-Clause), for Ogg and WebM/Matroska files. The stream's `OpusHead` (RFC 7845
//! 5.1: the Ogg identification header, and Matroska's `CodecPrivate`) gives the channel
//! count, the channel mapping, the output gain and the pre-skip.
//!
//! Why `opus-pure`: of the three pure-Rust decoders in the registry, measured on the
//! same Ogg Opus files against libopus (`docs/formats.md`), it and `opus-rs` agree with
//! libopus to 80-83 dB SNR and `opus-decoder` to 87-98 dB, but `opus-pure` decodes at
//! 200-460x real time where `opus-decoder` managed 1-2x; it has no dependencies and
//! builds for `wasm32-unknown-unknown`.

/// Output rate of every Opus stream, in Hz: Opus decodes to 48 kHz natively.
pub(crate) const OPUS_RATE: u32 = 48_000;

/// Largest Opus packet duration: 120 ms at 48 kHz, in frames.
const MAX_PACKET_FRAMES: usize = 5760;

/// The fields of an `OpusHead` this decoder uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OpusHead {
    pub(crate) channels: u8,
    pub(crate) pre_skip: u16,
    pub(crate) output_gain_q8: i16,
    pub(crate) mapping_family: u8,
}

impl OpusHead {
    /// Parses the 19-byte (or longer, for mapping families other than 0) header.
    pub(crate) fn parse(bytes: &[u8]) -> Result<OpusHead, String> {
        if bytes.len() < 19 || &bytes[0..8] != b"OpusHead" {
            return Err("the Opus stream has no valid OpusHead header".into());
        }
        let head = OpusHead {
            channels: bytes[9],
            pre_skip: u16::from_le_bytes([bytes[10], bytes[11]]),
            output_gain_q8: i16::from_le_bytes([bytes[16], bytes[17]]),
            mapping_family: bytes[18],
        };
        if head.channels == 0 {
            return Err("the OpusHead header says 0 channels".into());
        }
        Ok(head)
    }
}

enum Inner {
    Single(Box<opus_pure::OpusDecoder>),
    Multi(opus_pure::OpusMSDecoder),
}

/// One Opus stream's decoder, which drops the pre-skip and applies the output gain.
pub(crate) struct OpusStream {
    inner: Inner,
    channels: usize,
    /// Frames of the pre-skip still to drop.
    skip: usize,
    gain: f32,
    scratch: Vec<f32>,
}

impl OpusStream {
    /// A decoder for the stream `head` describes.
    pub(crate) fn new(head: &OpusHead) -> Result<OpusStream, String> {
        let channels = usize::from(head.channels);
        let inner = match head.mapping_family {
            0 if channels <= 2 => opus_pure::OpusDecoder::new(OPUS_RATE as i32, channels)
                .map(|d| Inner::Single(Box::new(d))),
            1 => opus_pure::OpusMSDecoder::new(OPUS_RATE as i32, channels, 1).map(Inner::Multi),
            family => {
                return Err(format!(
                    "Opus channel mapping family {family} with {channels} channels is not supported (families 0 and 1 are)"
                ))
            }
        }
        .map_err(|e| format!("the Opus stream's header is not supported: {e}"))?;
        Ok(OpusStream {
            inner,
            channels,
            skip: usize::from(head.pre_skip),
            gain: 10f32.powf(f32::from(head.output_gain_q8) / (20.0 * 256.0)),
            scratch: vec![0.0; MAX_PACKET_FRAMES * channels],
        })
    }

    /// Interleaved channels of the output.
    pub(crate) fn channels(&self) -> usize {
        self.channels
    }

    /// Decodes one packet and appends its frames to `out`, less `trim_start` frames at
    /// its start and `trim_end` at its end (the container's end trimming) and less what
    /// remains of the pre-skip. Errors for a packet that does not decode.
    pub(crate) fn decode(
        &mut self,
        packet: &[u8],
        trim_start: usize,
        trim_end: usize,
        out: &mut Vec<f32>,
    ) -> Result<(), String> {
        let frames = match &mut self.inner {
            Inner::Single(d) => d.decode(packet, MAX_PACKET_FRAMES, &mut self.scratch),
            Inner::Multi(d) => d.decode(packet, MAX_PACKET_FRAMES, &mut self.scratch),
        }
        .map_err(|e| format!("an Opus packet does not decode: {e}"))?;
        let frames = frames.min(MAX_PACKET_FRAMES);
        let end = frames - trim_end.min(frames);
        let start = trim_start.min(end);
        let skipped = self.skip.min(end - start);
        self.skip -= skipped;
        let kept = &self.scratch[(start + skipped) * self.channels..end * self.channels];
        if self.gain == 1.0 {
            out.extend_from_slice(kept);
        } else {
            out.extend(kept.iter().map(|s| s * self.gain));
        }
        Ok(())
    }
}
