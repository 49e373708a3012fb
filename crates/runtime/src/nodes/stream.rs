//! The format a stateful audio node fixes on its first item, and the one check that
//! every later item keeps it (resampler, transform, chunker, VAD, accumulator).

use crate::data::AudioBuffer;
use crate::node::NodeFailure;

/// Sample rate (Hz) and channel count of an audio stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamFormat {
    /// Frames per second, in Hz.
    pub sample_rate: u32,
    /// Interleaved channels.
    pub channels: u16,
}

impl StreamFormat {
    /// The format of one item.
    pub fn of(audio: &AudioBuffer) -> Self {
        StreamFormat {
            sample_rate: audio.sample_rate,
            channels: audio.channels,
        }
    }
}

impl std::fmt::Display for StreamFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} Hz x{}", self.sample_rate, self.channels)
    }
}

/// Remembers a stream's format from its first item and rejects items of another.
#[derive(Debug, Clone, Default)]
pub struct FormatGuard {
    fixed: Option<StreamFormat>,
}

impl FormatGuard {
    /// The format of `audio`, after checking it is the stream's.
    ///
    /// Errors (naming `node_type` and both formats) when an earlier item fixed
    /// another sample rate or channel count.
    pub fn check(
        &mut self,
        audio: &AudioBuffer,
        node_type: &str,
    ) -> Result<StreamFormat, NodeFailure> {
        let got = StreamFormat::of(audio);
        match self.fixed {
            Some(fixed) if fixed != got => Err(NodeFailure::new(format!(
                "{node_type}: the audio format changed mid-stream ({fixed} -> {got}); a stream keeps one sample rate and channel count"
            ))),
            _ => {
                self.fixed = Some(got);
                Ok(got)
            }
        }
    }

    /// The stream's format, once its first item was seen.
    pub fn fixed(&self) -> Option<StreamFormat> {
        self.fixed
    }
}
