//! The float tensors an ONNX model file holds: its initializers and `Constant` nodes, in
//! the main graph and in every subgraph (an exporter may put a model's weights in the
//! branches of an `If`, as Silero VAD's does, one branch per sample rate).
//!
//! Only the weights are read; the graph itself is not executed. The messages below are
//! the subset of `onnx.proto` (the ONNX project, Apache-2.0) these need, with its field
//! numbers, decoded by prost: unknown fields are skipped, a truncated or hostile file is
//! a decode error, and prost's recursion limit bounds nested graphs.

use std::collections::HashMap;

use prost::Message;

/// `ModelProto`: the file.
#[derive(Clone, PartialEq, Message)]
struct ModelProto {
    #[prost(message, optional, tag = "7")]
    graph: Option<GraphProto>,
}

/// `GraphProto`: nodes and initializers.
#[derive(Clone, PartialEq, Message)]
struct GraphProto {
    #[prost(message, repeated, tag = "1")]
    node: Vec<NodeProto>,
    #[prost(message, repeated, tag = "5")]
    initializer: Vec<TensorProto>,
}

/// `NodeProto`: its outputs (a `Constant`'s names its tensor) and attributes.
#[derive(Clone, PartialEq, Message)]
struct NodeProto {
    #[prost(string, repeated, tag = "2")]
    output: Vec<String>,
    #[prost(string, tag = "4")]
    op_type: String,
    #[prost(message, repeated, tag = "5")]
    attribute: Vec<AttributeProto>,
}

/// `AttributeProto`: a tensor (`Constant`'s `value`) or subgraphs (`If`, `Loop`).
#[derive(Clone, PartialEq, Message)]
struct AttributeProto {
    #[prost(message, optional, tag = "5")]
    t: Option<TensorProto>,
    #[prost(message, optional, tag = "6")]
    g: Option<GraphProto>,
    #[prost(message, repeated, tag = "11")]
    graphs: Vec<GraphProto>,
}

/// `TensorProto`: dimensions, element type, and the data as typed values or raw
/// little-endian bytes.
#[derive(Clone, PartialEq, Message)]
struct TensorProto {
    #[prost(int64, repeated, tag = "1")]
    dims: Vec<i64>,
    #[prost(int32, tag = "2")]
    data_type: i32,
    #[prost(float, repeated, tag = "4")]
    float_data: Vec<f32>,
    #[prost(string, tag = "8")]
    name: String,
    #[prost(bytes = "vec", tag = "9")]
    raw_data: Vec<u8>,
}

/// `TensorProto.DataType.FLOAT`.
const FLOAT: i32 = 1;

/// A float32 tensor: its shape and its values in row-major order
/// (`data.len()` is the product of `dims`).
#[derive(Debug, Clone, PartialEq)]
pub struct FloatTensor {
    /// The dimensions, outermost first.
    pub dims: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<f32>,
}

/// Every float32 tensor of an ONNX file by name: initializers and `Constant` node
/// values, from the main graph and all subgraphs. Tensors of other element types, and
/// tensors whose data does not fill their shape, are left out.
///
/// Errors: the bytes are not an ONNX model (a protobuf decode error, named), or it has
/// no graph.
pub fn float_tensors(bytes: &[u8]) -> Result<HashMap<String, FloatTensor>, String> {
    let model = ModelProto::decode(bytes).map_err(|e| format!("not an ONNX model file: {e}"))?;
    let graph = model
        .graph
        .ok_or_else(|| "the ONNX model file has no graph".to_string())?;
    let mut out = HashMap::new();
    collect(&graph, &mut out);
    Ok(out)
}

fn collect(graph: &GraphProto, out: &mut HashMap<String, FloatTensor>) {
    for tensor in &graph.initializer {
        insert(tensor, &tensor.name, out);
    }
    for node in &graph.node {
        for attribute in &node.attribute {
            if let (Some(tensor), "Constant", Some(name)) =
                (&attribute.t, node.op_type.as_str(), node.output.first())
            {
                insert(tensor, name, out);
            }
            for sub in attribute.g.iter().chain(&attribute.graphs) {
                collect(sub, out);
            }
        }
    }
}

fn insert(tensor: &TensorProto, name: &str, out: &mut HashMap<String, FloatTensor>) {
    if tensor.data_type != FLOAT {
        return;
    }
    let Some(dims) = tensor
        .dims
        .iter()
        .map(|&d| usize::try_from(d).ok())
        .collect::<Option<Vec<usize>>>()
    else {
        return;
    };
    let Some(len) = dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d)) else {
        return;
    };
    let data: Vec<f32> = if tensor.raw_data.is_empty() {
        tensor.float_data.clone()
    } else {
        tensor
            .raw_data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    };
    if data.len() == len {
        out.insert(name.to_string(), FloatTensor { dims, data });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(name: &str, dims: Vec<i64>, values: &[f32]) -> TensorProto {
        TensorProto {
            dims,
            data_type: FLOAT,
            float_data: Vec::new(),
            name: name.into(),
            raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }

    #[test]
    fn finds_initializers_and_constants_in_subgraphs() {
        let branch = GraphProto {
            node: vec![NodeProto {
                output: vec!["w".into()],
                op_type: "Constant".into(),
                attribute: vec![AttributeProto {
                    t: Some(tensor("", vec![2, 2], &[1.0, 2.0, 3.0, 4.0])),
                    g: None,
                    graphs: vec![],
                }],
            }],
            initializer: vec![],
        };
        let model = ModelProto {
            graph: Some(GraphProto {
                node: vec![NodeProto {
                    output: vec!["y".into()],
                    op_type: "If".into(),
                    attribute: vec![AttributeProto {
                        t: None,
                        g: Some(branch),
                        graphs: vec![],
                    }],
                }],
                initializer: vec![
                    tensor("b", vec![3], &[5.0, 6.0, 7.0]),
                    // Does not fill its shape: left out.
                    tensor("short", vec![4], &[1.0]),
                ],
            }),
        };
        let found = float_tensors(&model.encode_to_vec()).unwrap();
        assert_eq!(found["w"].dims, vec![2, 2]);
        assert_eq!(found["w"].data, vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(found["b"].data, vec![5.0, 6.0, 7.0]);
        assert!(!found.contains_key("short"));
    }

    #[test]
    fn bad_bytes_are_errors() {
        assert!(float_tensors(b"not a protobuf \xff\xff\xff\xff").is_err());
        // A length prefix far past the end.
        assert!(float_tensors(&[0x3a, 0xff, 0xff, 0xff, 0x0f]).is_err());
        // Graphs nested in `If` attributes past prost's recursion limit (100).
        let wrap = |field: u8, inner: Vec<u8>| {
            let mut out = vec![(field << 3) | 2];
            prost::encoding::encode_varint(inner.len() as u64, &mut out);
            out.extend(inner);
            out
        };
        let mut graph = Vec::new();
        for _ in 0..200 {
            graph = wrap(1, wrap(5, wrap(6, graph)));
        }
        let err = float_tensors(&wrap(7, graph)).unwrap_err();
        assert!(err.contains("recursion"), "{err}");
    }
}
