//! Python nodes natively (embedded CPython, the `python` feature): the same
//! `remotemedia` package as the browser's, numpy arrays in and out with the original
//! SDK's dtypes and tensor metadata, errors with tracebacks, and a mixed Rust and Python
//! manifest on the real recording.
#![cfg(feature = "python")]
mod common;

use remotemedia_runtime::executor::{CancelFlag, Executor};
use remotemedia_runtime::{native_python, wire, DType, RunError, RuntimeData, Tensor};
use serde_json::{json, Value};

fn executor() -> Executor {
    Executor::default().with_external(native_python::provider())
}

fn run(manifest: Value, inputs: Vec<RuntimeData>) -> Result<Vec<RuntimeData>, RunError> {
    let executor = executor();
    let manifest = executor.parse(&manifest)?;
    pollster::block_on(executor.run(&manifest, inputs, &CancelFlag::new()))
        .map(|r| r.outputs.into_iter().map(|o| o.data).collect())
}

fn has_numpy() -> bool {
    std::process::Command::new("/usr/bin/python3")
        .args(["-c", "import numpy"])
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn numpy_arrays_of_the_original_dtypes_go_in_and_out_with_their_metadata() {
    assert!(
        has_numpy(),
        "numpy is missing for /usr/bin/python3: scripts/setup.sh installs Debian's python3-numpy"
    );
    // The node sees an ndarray of the sent dtype, and answers with numpy's own view of it:
    // its transpose (not C-contiguous until written), and numpy's flags of what is written.
    let module = "import numpy as np\n\
        from remotemedia import Node\n\
        class Transpose(Node):\n\
        \x20   def process(self, data):\n\
        \x20       assert isinstance(data, np.ndarray), type(data)\n\
        \x20       out = np.ascontiguousarray(data.T)\n\
        \x20       yield data.T\n\
        \x20       yield {'dtype': data.dtype.name, 'c': bool(out.flags.c_contiguous), 'f': bool(out.flags.f_contiguous), 'size': int(out.size)}\n";
    let manifest = json!({
        "version": "v1", "metadata": {"name": "numpy"},
        "nodes": [{"id": "t", "node_type": "Transpose", "runtime_hint": "cpython"}],
        "python": {"packages": ["numpy"], "modules": {"transpose": module}},
    });
    for dtype in DType::ALL {
        let n = dtype.item_size();
        let data: Vec<u8> = (0..6 * n)
            .map(|i| if i % n == 0 { (i / n) as u8 % 2 } else { 0 })
            .collect();
        let input = RuntimeData::Tensor(Tensor {
            dtype,
            shape: vec![2, 3],
            data: data.clone(),
        });
        let out =
            run(manifest.clone(), vec![input]).unwrap_or_else(|e| panic!("{}: {e}", dtype.name()));
        let [RuntimeData::Tensor(t), RuntimeData::Json(seen)] = &out[..] else {
            panic!("{}: {out:?}", dtype.name())
        };
        assert_eq!(seen["dtype"], dtype.name());
        assert_eq!((t.dtype, t.shape.as_slice()), (dtype, &[3usize, 2][..]));
        // Row-major transpose of the 2x3 input, element by element.
        for (r, c) in (0..3).flat_map(|r| (0..2).map(move |c| (r, c))) {
            let at = (r * 2 + c) * n;
            let from = (c * 3 + r) * n;
            assert_eq!(
                t.data[at..at + n],
                data[from..from + n],
                "{} [{r}][{c}]",
                dtype.name()
            );
        }
        let meta = &wire::encode(&out[0])["array"]["meta"];
        assert_eq!(meta["c_contiguous"], seen["c"], "{}", dtype.name());
        assert_eq!(meta["f_contiguous"], seen["f"], "{}", dtype.name());
        assert_eq!(meta["size"], seen["size"]);
    }
}

#[test]
fn python_errors_carry_the_node_and_traceback_and_the_next_run_works() {
    let manifest = json!({
        "version": "v1", "metadata": {"name": "boom"},
        "nodes": [{"id": "b", "node_type": "Boom"}],
        "python": {"modules": {"boom": "from remotemedia import Node\nclass Boom(Node):\n    def process(self, data):\n        raise ValueError(f'bad {data}')\n"}},
    });
    match run(manifest, vec![RuntimeData::Json(3.into())]) {
        Err(RunError::Node {
            node_id,
            language,
            message,
            traceback,
            ..
        }) => {
            assert_eq!((node_id.as_str(), language.as_str()), ("b", "python"));
            assert_eq!(message, "ValueError: bad 3");
            assert!(traceback.unwrap().contains("<manifest module boom>"));
        }
        other => panic!("{other:?}"),
    }
    let missing = json!({
        "version": "v1", "metadata": {"name": "needs"},
        "nodes": [{"id": "t", "node_type": "TextProcessorNode"}],
        "python": {"packages": ["no_such_package_here"]},
    });
    let err = run(missing, vec![]).unwrap_err().to_string();
    assert!(
        err.contains("'no_such_package_here'") && err.contains("not installed"),
        "{err}"
    );
    let text = run(
        json!({"version": "v1", "metadata": {"name": "t"}, "nodes": [{"id": "t", "node_type": "TextProcessorNode"}]}),
        vec![RuntimeData::Text("abc".into())],
    )
    .unwrap();
    assert_eq!(text.len(), 1);
}

#[test]
fn a_mixed_manifest_runs_rust_and_python_on_the_recording() {
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(common::repo().join("examples/pipelines/mixed.json")).unwrap(),
    )
    .unwrap();
    let result = {
        let executor = executor();
        let manifest = executor.parse(&manifest).unwrap();
        pollster::block_on(executor.run(
            &manifest,
            vec![RuntimeData::Binary(common::lena_bytes("flac"))],
            &CancelFlag::new(),
        ))
        .unwrap()
    };
    let json = result.to_json();
    let before = &json["outputs"][json["outputs_by_node"]["levels_before"][0]
        .as_u64()
        .unwrap() as usize];
    let after =
        &json["outputs"][json["outputs_by_node"]["levels_after"][0].as_u64().unwrap() as usize];
    // PeakNormalize (Python) scaled the peak to 0.5 (-6.02 dBFS).
    let peak_db = after["peak_db"].as_f64().unwrap_or(f64::NAN);
    assert!((peak_db - 20.0 * 0.5f64.log10()).abs() < 0.01, "{after}");
    assert_ne!(before["peak_db"], after["peak_db"]);
}
