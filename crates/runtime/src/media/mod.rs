//! Audio files in (`docs/formats.md`): which container a file is, and a streaming
//! decoder for the first audio track of every container and codec the project reads.
//!
//! Containers and codecs are symphonia's (MPL-2.0), but for WebM/Matroska, read here;
//! Opus is `opus-pure`'s (BSD-3-Clause), since symphonia has no Opus decoder. Both are pure Rust, so the browser's and the
//! native CLI's outputs are the same.
//!
//! - [`container`]: the container from the first bytes, and header checks;
//! - [`decode`]: [`FileDecoder`], codec delay and padding, the whole-file helpers;
//! - `codecs`: names for codecs it cannot decode, codec-private data forms; `opus`: the
//!   Opus codec; `mp4`: the MP4 boxes symphonia does not expose (sample entry, edit
//!   list); `matroska`: the WebM/Matroska reader (symphonia 0.5's panicked on crafted files).

mod codecs;
pub mod container;
pub mod decode;
mod matroska;
mod mp4;
mod opus;

pub use codecs::SUPPORTED_CODECS;
pub use container::{sniff, Container};
pub use decode::{decode_audio_file, decode_audio_file_limited, FileDecoder, SUPPORTED_CONTAINERS};
