//! `AudioDecoderNode`: audio file bytes -> interleaved f32 audio, through
//! [`crate::media`] (every container and codec of `docs/formats.md`).

use crate::data::RuntimeData;
use crate::node::{Node, NodeFailure};
use crate::registry::NodeFactory;

pub use crate::media::{decode_audio_file, decode_audio_file_limited};

pub(crate) fn factories() -> Vec<NodeFactory> {
    vec![NodeFactory {
        node_type: "AudioDecoderNode",
        aliases: &["AudioDecoder"],
        summary: "binary (audio file bytes: WAV, RF64, AIFF, CAF, FLAC, MP3, Ogg Vorbis/Opus, WebM/Matroska, MP4/M4A/MOV with AAC-LC or ALAC) -> audio",
        params: const { &[] },
        create: |p| {
            Ok(Box::new(AudioDecoder {
                max_samples: p.limits().max_output_values,
            }))
        },
    }]
}

/// Decodes each binary item as a whole audio file. Audio items pass through.
pub struct AudioDecoder {
    /// The executor's [`Limits::max_output_values`](crate::Limits::max_output_values):
    /// most samples (all channels) one file may decode to.
    max_samples: usize,
}

impl Node for AudioDecoder {
    fn process(
        &mut self,
        input: RuntimeData,
        out: &mut Vec<RuntimeData>,
    ) -> Result<(), NodeFailure> {
        match input {
            RuntimeData::Binary(bytes) => out.push(RuntimeData::Audio(decode_audio_file_limited(
                bytes,
                self.max_samples,
            )?)),
            RuntimeData::Audio(a) => out.push(RuntimeData::Audio(a)),
            other => {
                return Err(NodeFailure::new(format!(
                    "AudioDecoderNode takes binary file bytes, got {}",
                    other.kind()
                )))
            }
        }
        Ok(())
    }
}
