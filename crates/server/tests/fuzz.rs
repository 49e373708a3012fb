//! Hostile protobufs: random bytes, and valid messages with bytes flipped, decoded as the
//! server decodes them and converted as it converts them; and the WebSocket's JSON
//! frames, random and damaged. Nothing may panic; every failure is an error value.

use proptest::prelude::*;
use prost::Message;
use remotemedia_runtime::remote_json::{ClientMessage, ServerMessage};
use remotemedia_server::convert::{buffer_to_data, json_to_manifest, manifest_to_json};
use remotemedia_server::proto::{
    self, data_buffer::DataType, stream_request::Request, DataBuffer, ExecuteRequest, StreamRequest,
};

/// Converts everything a request holds, as the services would.
fn convert_all(request: &StreamRequest) {
    let buffers: Vec<&DataBuffer> = match &request.request {
        Some(Request::Init(init)) => {
            if let Some(m) = &init.manifest {
                let _ = manifest_to_json(m);
            }
            init.data_inputs.values().collect()
        }
        Some(Request::DataChunk(chunk)) => chunk
            .buffer
            .iter()
            .chain(chunk.named_buffers.values())
            .collect(),
        _ => Vec::new(),
    };
    for buffer in buffers {
        let _ = buffer_to_data(buffer);
    }
}

fn seed_messages() -> Vec<Vec<u8>> {
    let audio = DataBuffer {
        data_type: Some(DataType::Audio(proto::AudioBuffer {
            samples: vec![0, 0, 128, 63, 0, 0, 128, 191],
            sample_rate: 16000,
            channels: 1,
            format: proto::AudioFormat::F32 as i32,
            num_samples: 2,
            metadata_json: Some(br#"{"a": 1}"#.to_vec()),
        })),
        metadata: Default::default(),
    };
    let numpy = DataBuffer {
        data_type: Some(DataType::Numpy(proto::NumpyBuffer {
            data: vec![1; 24],
            shape: vec![2, 3],
            dtype: "float32".into(),
            strides: vec![12, 4],
            c_contiguous: true,
            f_contiguous: false,
        })),
        metadata: Default::default(),
    };
    let chunk = StreamRequest {
        request: Some(Request::DataChunk(proto::DataChunk {
            node_id: "vad".into(),
            buffer: Some(audio.clone()),
            named_buffers: [("x".to_string(), numpy)].into_iter().collect(),
            sequence: 3,
            timestamp_ms: 0,
        })),
    };
    let init = StreamRequest {
        request: Some(Request::Init(proto::StreamInit {
            manifest: Some(proto::PipelineManifest {
                version: "v1".into(),
                nodes: vec![proto::NodeManifest {
                    id: "calc".into(),
                    node_type: "CalculatorNode".into(),
                    params: r#"{"operation": "add"}"#.into(),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            data_inputs: [("calc".to_string(), audio)].into_iter().collect(),
            ..Default::default()
        })),
    };
    vec![chunk.encode_to_vec(), init.encode_to_vec()]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(request) = StreamRequest::decode(bytes.as_slice()) {
            convert_all(&request);
        }
        let _ = ExecuteRequest::decode(bytes.as_slice());
    }

    #[test]
    fn random_json_frames_never_panic(text in "\\PC{0,300}") {
        // The WebSocket's text frames: parsed, and an init's manifest converted.
        if let Ok(ClientMessage::Init { manifest }) = ClientMessage::parse(&text) {
            let _ = json_to_manifest(&manifest);
        }
        let _ = ServerMessage::parse(&text);
    }

    #[test]
    fn damaged_json_frames_never_panic(at in any::<prop::sample::Index>(), cut in any::<bool>(), byte in 0x20u8..0x7f) {
        let seed = ClientMessage::Chunk {
            sequence: 1,
            item: remotemedia_runtime::RuntimeData::Audio(remotemedia_runtime::AudioBuffer::new(vec![0.5; 8], 16000, 2)),
            last: true,
        }
        .to_text();
        let i = at.index(seed.len());
        let text = if cut { seed[..i].to_string() } else { format!("{}{}{}", &seed[..i], byte as char, &seed[i..]) };
        let _ = ClientMessage::parse(&text);
    }

    #[test]
    fn flipped_messages_never_panic(
        which in 0usize..2,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = seed_messages()[which].clone();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if let Ok(request) = StreamRequest::decode(bytes.as_slice()) {
            convert_all(&request);
        }
    }
}

#[test]
fn seeds_decode_and_convert() {
    for bytes in seed_messages() {
        let request = StreamRequest::decode(bytes.as_slice()).expect("a seed decodes");
        convert_all(&request);
    }
}
