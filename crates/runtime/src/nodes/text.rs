//! `TextCollectorNode`: buffers streamed text and emits complete sentences.

use regex_lite::Regex;

use crate::data::RuntimeData;
use crate::node::NodeFactory;
use crate::node::{Node, NodeFailure};
use crate::params::{ParamDefault, ParamError, ParamKind, ParamSpec};
use crate::shape::Shape;

/// Sentence ends: `.`, `!`, `?`, `;` or a newline, possibly repeated.
pub const DEFAULT_SPLIT_PATTERN: &str = r"[.!?;\n]+";

pub(crate) fn factories() -> Vec<NodeFactory> {
    vec![NodeFactory {
        node_type: "TextCollectorNode",
        aliases: &["TextCollector"],
        summary: "text -> complete sentences (split_pattern); flush emits the rest",
        params: const {
            &[
                ParamSpec::optional("split_pattern", ParamKind::Text)
                    .default(ParamDefault::Text(DEFAULT_SPLIT_PATTERN))
                    .doc("Regex that ends a sentence."),
                ParamSpec::optional("min_sentence_length", ParamKind::Count)
                    .default(ParamDefault::Count(3))
                    .doc("Shortest sentence emitted, in characters; shorter ones wait for more text."),
            ]
        },
        output: Shape::Text,
        create: |p| {
            let pattern = p.text("split_pattern");
            let split = Regex::new(pattern)
                .map_err(|e| ParamError::new("split_pattern", format!("not a valid regex: {e}")))?;
            Ok(Box::new(TextCollector {
                split,
                min_len: p.count("min_sentence_length"),
                buffer: String::new(),
            }))
        },
    }]
}

/// Sentence assembly state.
pub struct TextCollector {
    split: Regex,
    min_len: usize,
    buffer: String,
}

impl TextCollector {
    fn push_sentence(&self, sentence: &str, out: &mut Vec<RuntimeData>) {
        let sentence = sentence.trim();
        if sentence.chars().count() >= self.min_len {
            out.push(RuntimeData::Text(sentence.to_string()));
        }
    }
}

impl Node for TextCollector {
    fn process(
        &mut self,
        input: RuntimeData,
        out: &mut Vec<RuntimeData>,
    ) -> Result<(), NodeFailure> {
        let RuntimeData::Text(text) = input else {
            return Err(NodeFailure::new(format!(
                "TextCollectorNode takes text, got {}",
                input.kind()
            )));
        };
        self.buffer.push_str(&text);
        let mut consumed = 0;
        let ends: Vec<usize> = self
            .split
            .find_iter(&self.buffer)
            .map(|m| m.end())
            .collect();
        for end in ends {
            // A terminator at the very end may continue ("..." split over items).
            if end == self.buffer.len() {
                break;
            }
            self.push_sentence(&self.buffer[consumed..end], out);
            consumed = end;
        }
        self.buffer.drain(..consumed);
        Ok(())
    }

    fn flush(&mut self, out: &mut Vec<RuntimeData>) -> Result<(), NodeFailure> {
        let rest = std::mem::take(&mut self.buffer);
        self.push_sentence(&rest, out);
        Ok(())
    }
}
