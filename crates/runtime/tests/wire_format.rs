//! The wire format against the shared vectors in `test-vectors/wire.json`, plus
//! round trips of awkward data.
mod common;

use remotemedia_runtime::wire::{self, decode, encode};
use remotemedia_runtime::{AudioBuffer, DType, RuntimeData, Tensor};
use serde_json::{json, Value};

fn vectors() -> Value {
    let path = common::repo().join("test-vectors/wire.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn expected_float(v: &Value) -> f32 {
    match v {
        Value::String(s) if s == "NaN" => f32::NAN,
        Value::String(s) if s == "Infinity" => f32::INFINITY,
        Value::String(s) if s == "-Infinity" => f32::NEG_INFINITY,
        other => other.as_f64().unwrap() as f32,
    }
}

fn same_floats(got: &[f32], want: &[Value]) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        let w = expected_float(w);
        assert!(
            g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()),
            "{g} != {w}"
        );
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn valid_vectors_decode_to_the_described_data_and_re_encode() {
    let vectors = vectors();
    for v in vectors["valid"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        let data = decode(&v["wire"]).unwrap_or_else(|e| panic!("{name}: {e}"));
        match (v["kind"].as_str().unwrap(), &data) {
            ("text", RuntimeData::Text(t)) => assert_eq!(t, v["text"].as_str().unwrap(), "{name}"),
            ("json", RuntimeData::Json(j)) => assert_eq!(j, &v["json"], "{name}"),
            ("binary", RuntimeData::Binary(b)) => {
                assert_eq!(hex(b), v["bytes_hex"].as_str().unwrap(), "{name}");
            }
            ("tensor", RuntimeData::Tensor(t)) => {
                assert_eq!(t.dtype.name(), v["dtype"].as_str().unwrap(), "{name}");
                assert_eq!(json!(t.shape), v["shape"], "{name}");
                assert_eq!(hex(&t.data), v["bytes_hex"].as_str().unwrap(), "{name}");
                if let Some(values) = v.get("values").and_then(Value::as_array) {
                    same_floats(&t.to_f32().unwrap(), values);
                }
            }
            ("audio", RuntimeData::Audio(a)) => {
                assert_eq!(json!(a.sample_rate), v["sample_rate"], "{name}");
                assert_eq!(json!(a.channels), v["channels"], "{name}");
                same_floats(&a.samples, v["samples"].as_array().unwrap());
                assert_eq!(
                    a.timestamp_us,
                    v.get("timestamp_us").and_then(Value::as_u64)
                );
                assert_eq!(
                    a.stream_id.as_deref(),
                    v.get("stream_id").and_then(Value::as_str)
                );
                let metadata = v.get("metadata").cloned().unwrap_or(json!({}));
                assert_eq!(Value::Object(a.metadata.clone()), metadata, "{name}");
            }
            (kind, other) => panic!("{name}: expected {kind}, decoded {}", other.kind()),
        }
        if v["canonical"] == json!(true) {
            assert_eq!(encode(&data), v["wire"], "{name}: re-encoding differs");
        }
        assert_eq!(
            decode(&encode(&data)).unwrap().kind(),
            data.kind(),
            "{name}"
        );
    }
}

#[test]
fn invalid_vectors_are_rejected_with_a_path() {
    let vectors = vectors();
    for v in vectors["invalid"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        let err = decode(&v["wire"]).expect_err(name);
        assert_eq!(err.path, v["path"].as_str().unwrap(), "{name}: {err}");
        assert!(!err.message.is_empty());
    }
}

#[test]
fn audio_round_trips_bit_exactly_for_every_length_and_special_value() {
    for len in [0usize, 1, 2, 3, 5, 7, 1023, 4097] {
        let mut samples: Vec<f32> = (0..len).map(|i| (i as f32 * 0.37).sin()).collect();
        if len >= 3 {
            samples[0] = f32::NAN;
            samples[1] = f32::INFINITY;
            samples[2] = f32::NEG_INFINITY;
        }
        let data = RuntimeData::Audio(AudioBuffer::new(samples.clone(), 22050, 1));
        let back = decode(&encode(&data)).unwrap();
        let RuntimeData::Audio(a) = back else {
            panic!()
        };
        let bits: Vec<u32> = a.samples.iter().map(|s| s.to_bits()).collect();
        let want: Vec<u32> = samples.iter().map(|s| s.to_bits()).collect();
        assert_eq!(bits, want, "length {len}");
    }
}

#[test]
fn plain_objects_with_marker_keys_survive_a_round_trip() {
    for value in [
        json!({"__audio__": true, "audio": {"meta": {"sample_rate": 1, "channels": 1}, "data": ""}}),
        json!({"__numpy__": "user data"}),
        json!("a JSON string inside Json"),
    ] {
        let data = RuntimeData::Json(value.clone());
        assert_eq!(decode(&encode(&data)).unwrap(), data);
    }
}

#[test]
fn tensors_of_every_dtype_round_trip_and_lengths_are_checked() {
    for dtype in DType::ALL {
        let tensor = Tensor {
            dtype,
            shape: vec![3, 2],
            data: (0..6 * dtype.item_size() as u8).collect(),
        };
        let data = RuntimeData::Tensor(tensor);
        assert_eq!(decode(&encode(&data)).unwrap(), data, "{}", dtype.name());
    }
    assert!(Tensor::from_f32(vec![2, 2], &[1.0]).is_err());
}

/// The original SDK's reader of numpy envelopes (`runtime/src/python/numpy_marshal.rs` of
/// matbeedotcom/remotemedia-sdk, MIT): these structs, with every field required, are what
/// its `json_to_numpy` deserialises `array` into before `numpy.frombuffer(data,
/// dtype).reshape(shape)`.
mod original {
    use serde::Deserialize;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct NumpyArrayMeta {
        pub shape: Vec<usize>,
        pub dtype: String,
        pub size: usize,
        pub c_contiguous: bool,
        pub f_contiguous: bool,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct NumpyArrayData {
        pub meta: NumpyArrayMeta,
        pub data: String,
    }
}

#[test]
fn tensors_written_here_are_read_by_the_original_sdks_rules() {
    use base64::Engine;
    // numpy's flags for C-order arrays of these shapes (`np.zeros(shape).flags`).
    let shapes: [(&[usize], bool); 6] = [
        (&[6], true),
        (&[2, 3], false),
        (&[1, 6], true),
        (&[6, 1, 1], true),
        (&[0, 3], true),
        (&[], true),
    ];
    for dtype in DType::ALL {
        for (shape, fortran) in shapes {
            let count: usize = shape.iter().product();
            let tensor = Tensor {
                dtype,
                shape: shape.to_vec(),
                data: vec![1; count * dtype.item_size()],
            };
            let wire = encode(&RuntimeData::Tensor(tensor));
            assert_eq!(wire["__numpy__"], true);
            let read: original::NumpyArrayData = serde_json::from_value(wire["array"].clone())
                .unwrap_or_else(|e| panic!("{} {shape:?}: {e}", dtype.name()));
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(&read.data)
                .unwrap();
            assert_eq!(read.meta.dtype, dtype.name());
            assert_eq!(read.meta.shape, shape);
            assert_eq!(read.meta.size, count);
            assert_eq!(bytes.len(), read.meta.size * dtype.item_size());
            assert!(read.meta.c_contiguous);
            assert_eq!(read.meta.f_contiguous, fortran, "{shape:?}");
        }
    }
}

#[test]
fn base64_helpers_reject_bad_input_without_panicking() {
    assert_eq!(wire::decode_f32_base64("").unwrap(), Vec::<f32>::new());
    assert!(wire::decode_f32_base64("AAA")
        .unwrap_err()
        .contains("base64"));
    assert!(wire::decode_f32_base64("AAAAAAA=")
        .unwrap_err()
        .contains("4 bytes"));
    let samples = [1.5f32, -2.0, 0.0];
    assert_eq!(
        wire::decode_f32_base64(&wire::encode_f32_base64(&samples)).unwrap(),
        samples
    );
}

#[test]
fn decode_all_names_the_failing_item() {
    let items = vec![
        json!(1),
        json!({"__binary__": true, "binary": {"meta": {}, "data": "%%"}}),
    ];
    let err = wire::decode_all(&items).unwrap_err();
    assert_eq!(err.path, "$[1].binary.data");
}

#[test]
fn runtime_data_serde_is_the_wire_form() {
    let vectors = vectors();
    for v in vectors["valid"].as_array().unwrap() {
        let data: RuntimeData = serde_json::from_value(v["wire"].clone()).unwrap();
        assert_eq!(serde_json::to_value(&data).unwrap(), encode(&data));
    }
    for v in vectors["invalid"].as_array().unwrap() {
        let err = serde_json::from_value::<RuntimeData>(v["wire"].clone()).unwrap_err();
        assert!(
            err.to_string().starts_with(v["path"].as_str().unwrap()),
            "{err}"
        );
    }
}

#[test]
fn the_dtype_table_is_the_codecs() {
    // The vectors' table is this codec's: every dtype, its spellings and element size.
    let vectors = vectors();
    let table = vectors["dtypes"].as_array().unwrap();
    let names: Vec<&str> = table.iter().map(|d| d["dtype"].as_str().unwrap()).collect();
    let all: Vec<&str> = DType::ALL.iter().map(|d| d.name()).collect();
    assert_eq!(names, all);
    for entry in table {
        let dtype = DType::parse(entry["dtype"].as_str().unwrap()).unwrap();
        assert_eq!(
            dtype.item_size() as u64,
            entry["item_size"].as_u64().unwrap()
        );
        for alias in entry["aliases"].as_array().unwrap() {
            assert_eq!(
                DType::parse(alias.as_str().unwrap()),
                Some(dtype),
                "{alias}"
            );
        }
    }
    for unknown in [">f4", "float16", "F4", "", "complex64"] {
        assert_eq!(DType::parse(unknown), None, "{unknown}");
    }
}
