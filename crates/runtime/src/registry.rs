//! The registry of Rust node types: name, aliases, declared parameters and a
//! constructor for each.

use crate::manifest::{NodeSpec, PythonSection, RuntimeHint};
use crate::params::{ParamDefault, ParamKind, ParamSpec};
use crate::shape::{field, Shape};

pub use crate::node::{Constructor, NodeFactory};

/// The set of Rust node types an executor can build.
#[derive(Debug, Clone)]
pub struct NodeRegistry {
    factories: Vec<NodeFactory>,
}

impl NodeRegistry {
    /// An empty registry.
    pub fn empty() -> Self {
        NodeRegistry {
            factories: Vec::new(),
        }
    }

    /// Every built-in node type.
    pub fn builtin() -> Self {
        NodeRegistry {
            factories: crate::nodes::builtin_factories(),
        }
    }

    /// Adds (or replaces, by name) a node type.
    pub fn register(&mut self, factory: NodeFactory) {
        self.factories.retain(|f| f.node_type != factory.node_type);
        self.factories.push(factory);
    }

    /// The factory for a node type or one of its aliases.
    pub fn find(&self, node_type: &str) -> Option<&NodeFactory> {
        self.factories
            .iter()
            .find(|f| f.node_type == node_type || f.aliases.contains(&node_type))
    }

    /// The Rust factory a manifest node resolves to: its type is registered here and
    /// its `runtime_hint` is absent, `auto` or `rust`, or the hint is Python's but no
    /// Python node has that type (the original SDK's `CalculatorNode` under `cpython`:
    /// this runtime has it in Rust only; validation warns at `runtime_hint`). `python`
    /// is the manifest's Python section, whose modules may declare node types. `None`:
    /// the node runs in Python (or its type is unknown). The one rule the executor and
    /// validation share.
    pub fn resolve(&self, spec: &NodeSpec, python: Option<&PythonSection>) -> Option<&NodeFactory> {
        if spec.runtime_hint == Some(RuntimeHint::Python) && is_python_type(&spec.node_type, python)
        {
            return None;
        }
        self.find(&spec.node_type)
    }

    /// All registered names and aliases.
    pub fn names(&self) -> Vec<&'static str> {
        self.factories
            .iter()
            .flat_map(|f| std::iter::once(f.node_type).chain(f.aliases.iter().copied()))
            .collect()
    }

    /// All factories, in registration order.
    pub fn factories(&self) -> &[NodeFactory] {
        &self.factories
    }
}

/// A node type the Python worker always provides (`js-sdk/python/remotemedia/builtins.py`,
/// whose tests check it against this list). Types declared in a manifest's
/// `python.modules` are added per manifest by validation.
#[derive(Debug, Clone, Copy)]
pub struct PythonBuiltin {
    /// The `node_type` string of manifests.
    pub node_type: &'static str,
    /// One line on what it does: input -> output.
    pub summary: &'static str,
    /// Declared parameters (the Python node reads them from `self.config`).
    pub params: &'static [ParamSpec],
    /// What its output items look like (checked against `builtins.py` by the Python tests).
    pub output: Shape,
}

/// The Python built-ins: the one list the executor, validation, the SDK (through the
/// validation report) and the node catalog read.
pub const PYTHON_BUILTINS: &[PythonBuiltin] = &[
    PythonBuiltin {
        node_type: "TextProcessorNode",
        summary: "{text, operations}, or text -> {original_text, operations, results, processed_by: \"TextProcessorNode[<name>]\", node_config}, as the original SDK's node",
        params: &[ParamSpec::optional("operations", ParamKind::TextOrList)
            .default(ParamDefault::Text("uppercase"))
            .doc("Operations applied to each text: uppercase, lowercase, reverse, word_count, char_count, title_case, remove_spaces, first_word, last_word (an item's own `operations` win; an unknown one gives `results.unknown_operation_<op>`).")],
        output: const { Shape::OneOf(&[
            Shape::Object(&[
                field("original_text", Shape::Text),
                field("operations", Shape::Array(&Shape::Text)),
                field("results", Shape::Map(&Shape::OneOf(&[Shape::Text, Shape::Number]))),
                field("processed_by", Shape::Text),
                field("node_config", Shape::Map(&Shape::Any)),
            ]),
            // An object item without `text`, as the original answers it.
            Shape::Object(&[
                field("error", Shape::Text),
                field("input", Shape::Any),
                field("processed_by", Shape::Text),
            ]),
        ]) },
    },
    PythonBuiltin {
        node_type: "DataTransformNode",
        summary: "number, list of numbers, or {value} -> the same shape transformed",
        params: &[ParamSpec::optional(
            "operation",
            ParamKind::OneOf(&["passthrough", "double", "increment"]),
        )
        .default(ParamDefault::Text("passthrough"))
        .doc("What is done to each number.")],
        output: const { Shape::OneOf(&[
            Shape::Number,
            Shape::Array(&Shape::Number),
            Shape::Object(&[field("value", Shape::Number), field("operation", Shape::Text)]),
        ]) },
    },
];

/// Whether a Python node of type `node_type` exists: a built-in, or a class the
/// manifest's modules declare.
pub fn is_python_type(node_type: &str, python: Option<&PythonSection>) -> bool {
    PYTHON_BUILTINS.iter().any(|b| b.node_type == node_type)
        || python.is_some_and(|p| p.declared_node_types().iter().any(|t| t == node_type))
}

/// The names of [`PYTHON_BUILTINS`].
pub fn python_builtin_names() -> Vec<String> {
    PYTHON_BUILTINS
        .iter()
        .map(|b| b.node_type.to_string())
        .collect()
}
