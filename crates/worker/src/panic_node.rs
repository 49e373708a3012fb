//! `PanicForTest`, a node whose `process` panics: built only with the `panic-node`
//! cargo feature, for the end-to-end test of the panic path (tests-web/panic.test.mjs
//! builds a copy of the executor with it). No input makes a built-in node panic
//! (crates/runtime/tests/fuzz.rs keeps it so), so without this node the path from the
//! panic hook through the worker script to the page's NodeError could not be run.

use remotemedia_runtime::node::{Node, NodeFactory, NodeFailure};
use remotemedia_runtime::shape::Shape;
use remotemedia_runtime::RuntimeData;

/// The factory of `PanicForTest` (any input -> a panic, "PanicForTest was asked to panic").
pub fn factory() -> NodeFactory {
    NodeFactory {
        node_type: "PanicForTest",
        aliases: &[],
        summary: "any -> a Rust panic (test builds only)",
        params: &[],
        output: Shape::Any,
        create: |_| Ok(Box::new(Panics)),
    }
}

struct Panics;

impl Node for Panics {
    fn process(
        &mut self,
        _input: RuntimeData,
        _out: &mut Vec<RuntimeData>,
    ) -> Result<(), NodeFailure> {
        panic!("PanicForTest was asked to panic")
    }
}
