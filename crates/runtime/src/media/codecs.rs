//! Names for the codecs a file may hold, so an unsupported one is an error that names
//! it and its container instead of a generic failure.

use symphonia::core::codecs::{self, CodecType};

use super::container::Container;
use super::mp4;

/// The codecs `AudioDecoderNode` decodes, as error messages list them.
pub const SUPPORTED_CODECS: &str =
    "PCM (integer, float, mu-law, A-law), FLAC, MP3, Vorbis, Opus, AAC-LC and ALAC";

/// The name of the codec in the first audio track, read from the container's own
/// fields where symphonia does not know it (its `CodecType` is then `CODEC_TYPE_NULL`).
pub(crate) fn codec_name(container: Container, bytes: &[u8], codec: CodecType) -> String {
    if codec != codecs::CODEC_TYPE_NULL {
        if let Some(d) = symphonia::default::get_codecs().get_codec(codec) {
            return d.long_name.to_string();
        }
        return match codec {
            codecs::CODEC_TYPE_EAC3 => "E-AC-3".into(),
            codecs::CODEC_TYPE_AC4 => "AC-4".into(),
            codecs::CODEC_TYPE_DCA => "DTS".into(),
            codecs::CODEC_TYPE_WMA => "WMA".into(),
            codecs::CODEC_TYPE_SPEEX => "Speex".into(),
            codecs::CODEC_TYPE_MP1 => "MPEG-1 Layer I".into(),
            codecs::CODEC_TYPE_MP2 => "MPEG Layer II".into(),
            other => format!("codec {other}"),
        };
    }
    match container {
        Container::Mp4 => match mp4::tracks(bytes).1 {
            Some(track) => mp4_entry_name(&track.sample_entry),
            None => "an unknown codec".into(),
        },
        Container::Matroska => matroska_codec_ids(bytes)
            .into_iter()
            .find(|id| id.starts_with("A_"))
            .map(|id| matroska_name(&id))
            .unwrap_or_else(|| "an unknown codec".into()),
        _ => "an unknown codec".into(),
    }
}

/// HE-AAC, which symphonia's AAC decoder would decode as its AAC-LC core at half the
/// rate, named from the AudioSpecificConfig's object type (ISO/IEC 14496-3 1.6.2.1):
/// 5 is SBR (HE-AAC), 29 is PS (HE-AAC v2).
pub(crate) fn unsupported_aac_profile(extra_data: Option<&[u8]>) -> Option<&'static str> {
    match extra_data?.first()? >> 3 {
        5 => Some("HE-AAC (AAC with SBR)"),
        29 => Some("HE-AAC v2 (AAC with SBR and PS)"),
        _ => None,
    }
}

fn mp4_entry_name(entry: &[u8; 4]) -> String {
    match entry {
        b"ac-3" => "AC-3".into(),
        b"ec-3" => "E-AC-3".into(),
        b"ac-4" => "AC-4".into(),
        b"dtsc" | b"dtsh" | b"dtsl" | b"dtse" => "DTS".into(),
        b"samr" => "AMR-NB".into(),
        b"sawb" => "AMR-WB".into(),
        b"mha1" | b"mhm1" => "MPEG-H 3D Audio".into(),
        other => format!("'{}'", String::from_utf8_lossy(other)),
    }
}

fn matroska_name(id: &str) -> String {
    match id {
        "A_AC3" => "AC-3".into(),
        "A_EAC3" => "E-AC-3".into(),
        "A_DTS" => "DTS".into(),
        "A_TRUEHD" => "Dolby TrueHD".into(),
        "A_AAC/MPEG4/LC/SBR" | "A_AAC/MPEG2/LC/SBR" => "HE-AAC (AAC with SBR)".into(),
        other => other.to_string(),
    }
}

/// The `CodecID` strings of a Matroska file's tracks (`A_OPUS`, `V_VP8`, ...): the
/// element 0x86 with a one-byte size, in the first 1 MiB (the Tracks element comes
/// before the clusters). Used for messages only.
pub(crate) fn matroska_codec_ids(bytes: &[u8]) -> Vec<String> {
    let head = &bytes[..bytes.len().min(1 << 20)];
    let mut ids = Vec::new();
    for at in 0..head.len().saturating_sub(4) {
        if head[at] != 0x86 || head[at + 1] & 0x80 == 0 {
            continue;
        }
        let len = usize::from(head[at + 1] & 0x7F);
        let Some(id) = head.get(at + 2..at + 2 + len) else {
            continue;
        };
        let plausible = len >= 3
            && (id.starts_with(b"A_") || id.starts_with(b"V_") || id.starts_with(b"S_"))
            && id.iter().all(|b| b.is_ascii_graphic());
        if plausible {
            ids.push(String::from_utf8_lossy(id).into_owned());
        }
    }
    ids
}

/// The 24-byte ALACSpecificConfig inside a magic cookie written in QuickTime's atom
/// form (`frma` then an `alac` atom: what ffmpeg writes into CAF files), which
/// symphonia's ALAC decoder does not read. `None` when the cookie is not in that form.
pub(crate) fn alac_config_from_atoms(cookie: &[u8]) -> Option<Vec<u8>> {
    // The atom: size 36, "alac", version and flags (4), then the config.
    let at = cookie.windows(8).position(|w| w == b"\0\0\0\x24alac")?;
    cookie.get(at + 12..at + 36).map(<[u8]>::to_vec)
}
