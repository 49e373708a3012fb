//! Node parameters: declared specs (checked by validation) and typed getters
//! (used by node constructors).

use serde_json::{Map, Value};

use crate::limits::Limits;
use crate::wire::json_kind;

/// The JSON type a parameter takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// Any JSON number.
    Number,
    /// A whole number >= 0.
    Count,
    /// Any string.
    Text,
    /// `true` or `false`.
    Bool,
    /// A number or the string `"auto"`.
    NumberOrAuto,
    /// One of the listed strings (compared case-insensitively).
    OneOf(&'static [&'static str]),
    /// A string or an array of strings.
    TextOrList,
    /// A JSON object (a manifest, for `RemotePipelineNode`).
    Object,
}

impl ParamKind {
    /// How the expected type is named in messages.
    pub fn describe(self) -> String {
        match self {
            ParamKind::Number => "number".into(),
            ParamKind::Count => "whole number >= 0".into(),
            ParamKind::Text => "string".into(),
            ParamKind::Bool => "boolean".into(),
            ParamKind::NumberOrAuto => "number or \"auto\"".into(),
            ParamKind::OneOf(names) => format!("one of {}", names.join(", ")),
            ParamKind::TextOrList => "string or array of strings".into(),
            ParamKind::Object => "JSON object".into(),
        }
    }

    /// Whether `value` has this kind.
    pub fn accepts(self, value: &Value) -> bool {
        match self {
            ParamKind::Number => value.is_number(),
            ParamKind::Count => value.as_u64().is_some() || is_whole_f64(value),
            ParamKind::Text => value.is_string(),
            ParamKind::Bool => value.is_boolean(),
            ParamKind::NumberOrAuto => value.is_number() || value == "auto",
            ParamKind::OneOf(names) => value
                .as_str()
                .is_some_and(|s| names.iter().any(|n| n.eq_ignore_ascii_case(s))),
            ParamKind::Object => value.is_object(),
            ParamKind::TextOrList => {
                value.is_string()
                    || value
                        .as_array()
                        .is_some_and(|a| a.iter().all(Value::is_string))
            }
        }
    }
}

fn is_whole_f64(value: &Value) -> bool {
    value
        .as_f64()
        .is_some_and(|f| f >= 0.0 && f.fract() == 0.0 && f < 9.0e15)
}

/// The value a parameter takes when the manifest leaves it out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamDefault {
    /// A number.
    Number(f64),
    /// A whole number >= 0.
    Count(u64),
    /// A string.
    Text(&'static str),
    /// A boolean.
    Bool(bool),
}

impl ParamDefault {
    /// The default as JSON (for the node catalog).
    pub fn to_json(self) -> Value {
        match self {
            ParamDefault::Number(x) => {
                serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
            }
            ParamDefault::Count(n) => Value::from(n),
            ParamDefault::Text(s) => Value::from(s),
            ParamDefault::Bool(b) => Value::from(b),
        }
    }
}

/// One declared parameter of a node type: the one place its type, default and meaning
/// are written (validation, the constructors' getters and the node catalog all read it).
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    /// snake_case name.
    pub name: &'static str,
    /// Expected type.
    pub kind: ParamKind,
    /// Whether the manifest must give it.
    pub required: bool,
    /// The value used when it is left out; `None` when leaving it out means something
    /// else (told in `doc`), or when it is required.
    pub default: Option<ParamDefault>,
    /// What it does, with its unit (Hz, ms, dB, samples).
    pub doc: &'static str,
    /// Other names accepted for it: the original SDK's camelCase spellings
    /// (`samplingRate` for `sampling_rate`), and older names. The snake_case name wins
    /// when both are given.
    pub aliases: &'static [&'static str],
}

impl ParamSpec {
    /// An optional parameter.
    pub const fn optional(name: &'static str, kind: ParamKind) -> Self {
        ParamSpec {
            name,
            kind,
            required: false,
            default: None,
            doc: "",
            aliases: &[],
        }
    }

    /// A required parameter.
    pub const fn required(name: &'static str, kind: ParamKind) -> Self {
        ParamSpec {
            name,
            kind,
            required: true,
            default: None,
            doc: "",
            aliases: &[],
        }
    }

    /// With a default value.
    pub const fn default(mut self, value: ParamDefault) -> Self {
        self.default = Some(value);
        self
    }

    /// With its description.
    pub const fn doc(mut self, text: &'static str) -> Self {
        self.doc = text;
        self
    }

    /// With other accepted names.
    pub const fn aliases(mut self, names: &'static [&'static str]) -> Self {
        self.aliases = names;
        self
    }

    /// Whether `key` names this parameter (its name or an alias).
    pub fn is_named(&self, key: &str) -> bool {
        self.name == key || self.aliases.contains(&key)
    }

    /// Its value in `params`: under its name, else under the first alias given.
    pub fn value_in<'v>(&self, params: &'v Map<String, Value>) -> Option<&'v Value> {
        std::iter::once(self.name)
            .chain(self.aliases.iter().copied())
            .find_map(|key| params.get(key).filter(|v| !v.is_null()))
    }
}

/// A parameter whose value a constructor rejects (after the type check), for
/// example `chunk_size: 0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    /// The parameter's name.
    pub param: String,
    /// What is wrong with the value.
    pub message: String,
}

impl ParamError {
    /// An error about `param`.
    pub fn new(param: &str, message: impl Into<String>) -> Self {
        ParamError {
            param: param.to_string(),
            message: message.into(),
        }
    }
}

/// Typed read access to a node's `params` object, with the defaults of its declared
/// [`ParamSpec`]s. Types were checked by validation; getters still fall back rather than
/// panic (a getter for a parameter with no declared default is a bug, caught by the
/// registry's tests through a debug assertion).
#[derive(Debug, Clone, Copy)]
pub struct Params<'a> {
    values: &'a Map<String, Value>,
    specs: &'a [ParamSpec],
    limits: Limits,
}

impl<'a> Params<'a> {
    /// The `params` object of a manifest node, read against its type's specs, under
    /// the default [`Limits`].
    pub fn new(values: &'a Map<String, Value>, specs: &'a [ParamSpec]) -> Self {
        Params {
            values,
            specs,
            limits: Limits::default(),
        }
    }

    /// The same params under the executor's `limits`.
    pub fn with_limits(self, limits: Limits) -> Self {
        Params { limits, ..self }
    }

    /// The executor's limits, for sizes a node allocates from its params or input.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The raw value, if present and not null: under `name`, or under one of the
    /// declared parameter's aliases.
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        match self.specs.iter().find(|s| s.name == name) {
            Some(spec) => spec.value_in(self.values),
            None => self.values.get(name).filter(|v| !v.is_null()),
        }
    }

    /// The declared default of `name`, if it has one.
    fn declared_default(&self, name: &str) -> Option<ParamDefault> {
        self.specs
            .iter()
            .find(|s| s.name == name)
            .and_then(|s| s.default)
    }

    /// The declared default a getter falls back to (the parameter must have one).
    fn default_of(&self, name: &str) -> Option<ParamDefault> {
        let default = self.declared_default(name);
        debug_assert!(
            default.is_some(),
            "parameter {name} has no declared default"
        );
        default
    }

    /// A number, or its default.
    pub fn f64(&self, name: &str) -> f64 {
        self.get(name)
            .and_then(Value::as_f64)
            .unwrap_or_else(|| match self.default_of(name) {
                Some(ParamDefault::Number(x)) => x,
                Some(ParamDefault::Count(n)) => n as f64,
                _ => 0.0,
            })
    }

    /// A whole number >= 0, or its default. Values beyond `usize` (on wasm32, 2^32 and
    /// up) read as `usize::MAX`, so a range check rejects them on every target alike.
    pub fn count(&self, name: &str) -> usize {
        self.get(name)
            .and_then(|v| v.as_u64().or_else(|| v.as_f64().map(|f| f as u64)))
            .map(|v| usize::try_from(v).unwrap_or(usize::MAX))
            .unwrap_or_else(|| match self.default_of(name) {
                Some(ParamDefault::Count(n)) => n as usize,
                _ => 0,
            })
    }

    /// A boolean, or its default.
    pub fn bool(&self, name: &str) -> bool {
        self.get(name)
            .and_then(Value::as_bool)
            .unwrap_or_else(|| matches!(self.default_of(name), Some(ParamDefault::Bool(true))))
    }

    /// A string, or its default.
    pub fn text(&self, name: &str) -> &'a str {
        self.get(name)
            .and_then(Value::as_str)
            .unwrap_or_else(|| match self.default_of(name) {
                Some(ParamDefault::Text(s)) => s,
                _ => "",
            })
    }

    /// A whole number in `range`, or its default; an error naming the range otherwise.
    pub fn count_in(
        &self,
        name: &str,
        range: std::ops::RangeInclusive<usize>,
        unit: &str,
    ) -> Result<usize, ParamError> {
        let n = self.count(name);
        if range.contains(&n) {
            Ok(n)
        } else {
            Err(ParamError::new(
                name,
                format!("must be {} to {} {unit}", range.start(), range.end()),
            ))
        }
    }

    /// A positive sample rate in Hz (given, or its default); errors on 0, negatives,
    /// rates outside the [`limits`](crate::limits), or when it is missing with no
    /// default.
    pub fn sample_rate(&self, name: &str) -> Result<u32, ParamError> {
        let given = self.get(name).and_then(Value::as_f64);
        let rate = match (given, self.declared_default(name)) {
            (Some(rate), _) => rate,
            (None, Some(ParamDefault::Number(x))) => x,
            (None, Some(ParamDefault::Count(n))) => n as f64,
            _ => return Err(ParamError::new(name, "a sample rate in Hz is required")),
        };
        let (min, max) = (
            crate::limits::MIN_SAMPLE_RATE,
            crate::limits::MAX_SAMPLE_RATE,
        );
        if !(f64::from(min)..=f64::from(max)).contains(&rate) || rate.fract() != 0.0 {
            return Err(ParamError::new(
                name,
                format!("sample rate must be a whole number of Hz from {min} to {max}, got {rate}"),
            ));
        }
        Ok(rate as u32)
    }
}

/// Checks `params` against `specs`: wrong types and missing required parameters are
/// errors, unknown parameters are warnings (with the closest known names).
pub fn check(specs: &[ParamSpec], params: &Map<String, Value>) -> CheckResult {
    let mut result = CheckResult::default();
    for spec in specs {
        // The key whose value counts: the name, else the first alias given.
        let used = std::iter::once(spec.name)
            .chain(spec.aliases.iter().copied())
            .find(|k| params.get(*k).is_some_and(|v| !v.is_null()));
        if let Some(used) = used {
            for key in params.keys().filter(|k| spec.is_named(k) && *k != used) {
                result.warnings.push((
                    key.clone(),
                    format!("the same parameter as {used}, which is used; this one is ignored"),
                ));
            }
        }
        let key = used.unwrap_or(spec.name).to_string();
        match used.and_then(|k| params.get(k)) {
            None if spec.required => result.errors.push((
                spec.name.to_string(),
                format!(
                    "required parameter missing (expected {})",
                    spec.kind.describe()
                ),
            )),
            Some(value) if !spec.kind.accepts(value) => result.errors.push((
                key,
                format!(
                    "expected {}, got {} {}",
                    spec.kind.describe(),
                    json_kind(value),
                    value
                ),
            )),
            _ => {}
        }
    }
    for name in params.keys() {
        if !specs.iter().any(|s| s.is_named(name)) {
            let known: Vec<&str> = specs.iter().map(|s| s.name).collect();
            let hint = crate::suggest::closest(name, &known)
                .map(|c| format!("; did you mean {}?", c.join(" or ")))
                .unwrap_or_default();
            result
                .warnings
                .push((name.clone(), format!("unknown parameter, ignored{hint}")));
        }
    }
    result
}

/// Outcome of [`check`].
#[derive(Debug, Default)]
pub struct CheckResult {
    /// `(param, message)` pairs that make the manifest invalid.
    pub errors: Vec<(String, String)>,
    /// `(param, message)` pairs worth telling but not fatal.
    pub warnings: Vec<(String, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SPECS: &[ParamSpec] = &[ParamSpec::optional("sampling_rate", ParamKind::Number)
        .default(ParamDefault::Number(16000.0))
        .aliases(&["samplingRate", "sample_rate"])];

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!("an object"),
        }
    }

    #[test]
    fn an_alias_is_the_parameter_and_the_name_wins_over_it() {
        let camel = map(json!({"samplingRate": 8000}));
        let checked = check(SPECS, &camel);
        assert!(checked.errors.is_empty() && checked.warnings.is_empty());
        assert_eq!(Params::new(&camel, SPECS).f64("sampling_rate"), 8000.0);

        let both = map(json!({"samplingRate": 8000, "sampling_rate": 16000}));
        let checked = check(SPECS, &both);
        assert_eq!(checked.warnings.len(), 1, "{:?}", checked.warnings);
        assert_eq!(checked.warnings[0].0, "samplingRate");
        assert_eq!(Params::new(&both, SPECS).f64("sampling_rate"), 16000.0);

        // A type error names the key the manifest used.
        let wrong = map(json!({"sample_rate": "16k"}));
        assert_eq!(check(SPECS, &wrong).errors[0].0, "sample_rate");
        // Null is no value: the default, and no warning.
        let null = map(json!({"sampling_rate": null}));
        assert!(check(SPECS, &null).warnings.is_empty());
        assert_eq!(Params::new(&null, SPECS).f64("sampling_rate"), 16000.0);
    }
}
