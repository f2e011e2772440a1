//! The document tree: every YAML/JSON node with the line it came from, mappings in source order.
//!
//! Owns conversion between YAML text and `Node` (both directions, via serde-saphyr) and field-path
//! navigation. It knows nothing of Kubernetes.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

/// One node of a document and the one-based line it starts on (0 when unknown).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// One-based line of the node in its source; 0 when unknown (built in code).
    pub line: u32,
    /// The value.
    pub value: Value,
}

/// The value of a node. Mappings keep their keys in source order.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`, `~` or an empty value.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer above `i64::MAX`.
    UInt(u64),
    /// A float.
    Float(f64),
    /// A string.
    String(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping with string keys, in source order.
    Map(Vec<(String, Node)>),
}

impl Value {
    /// A short name of the value's type, for error messages (`mapping`, `string`, ...).
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) | Value::UInt(_) => "integer",
            Value::Float(_) => "number",
            Value::String(_) => "string",
            Value::Seq(_) => "sequence",
            Value::Map(_) => "mapping",
        }
    }
}

impl Node {
    /// A node without source position.
    #[must_use]
    pub fn new(value: Value) -> Self {
        Node { line: 0, value }
    }

    /// Adds `offset` to the line of this node and every node below it (for documents parsed apart
    /// from the lines before them).
    pub fn shift_lines(&mut self, offset: u32) {
        if offset == 0 {
            return;
        }
        if self.line > 0 {
            self.line = self.line.saturating_add(offset);
        }
        match &mut self.value {
            Value::Seq(items) => items.iter_mut().for_each(|n| n.shift_lines(offset)),
            Value::Map(entries) => entries.iter_mut().for_each(|(_, n)| n.shift_lines(offset)),
            _ => {}
        }
    }

    /// The child under `key` when this is a mapping.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Mutable child under `key` when this is a mapping.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        match &mut self.value {
            Value::Map(entries) => entries.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string value, if this is a string.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The items, if this is a sequence.
    #[must_use]
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// Mutable items, if this is a sequence.
    pub fn as_seq_mut(&mut self) -> Option<&mut Vec<Node>> {
        match &mut self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The entries, if this is a mapping.
    #[must_use]
    pub fn as_map(&self) -> Option<&[(String, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// True for `null`.
    #[must_use]
    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// A short name of the node's type, for error messages (`mapping`, `string`, ...).
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        self.value.type_name()
    }

    /// The node at `path`, if every step exists.
    #[must_use]
    pub fn at(&self, path: &FieldPath) -> Option<&Node> {
        path.segments.iter().try_fold(self, |node, seg| match seg {
            Segment::Key(k) => node.get(k),
            Segment::Index(i) => node.as_seq().and_then(|items| items.get(*i)),
        })
    }

    /// Mutable node at `path`, if every step exists.
    pub fn at_mut(&mut self, path: &FieldPath) -> Option<&mut Node> {
        let mut node = self;
        for seg in &path.segments {
            node = match seg {
                Segment::Key(k) => node.get_mut(k)?,
                Segment::Index(i) => node.as_seq_mut()?.get_mut(*i)?,
            };
        }
        Some(node)
    }

    /// The line of the deepest existing node along `path` (the field itself when present, else the
    /// closest parent that is), or `None` when even the root has no position.
    #[must_use]
    pub fn line_of(&self, path: &FieldPath) -> Option<u32> {
        let mut node = self;
        let mut line = self.line;
        for seg in &path.segments {
            let next = match seg {
                Segment::Key(k) => node.get(k),
                Segment::Index(i) => node.as_seq().and_then(|items| items.get(*i)),
            };
            match next {
                Some(n) => {
                    node = n;
                    if n.line > 0 {
                        line = n.line;
                    }
                }
                None => break,
            }
        }
        (line > 0).then_some(line)
    }

    /// Converts to a `serde_json::Value` (used to hand pod specs to typed Kubernetes structs).
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        match &self.value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::UInt(u) => serde_json::Value::from(*u),
            Value::Float(f) => {
                serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, serde_json::Value::Number)
            }
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::Seq(items) => serde_json::Value::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => {
                serde_json::Value::Object(entries.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Value>::deserialize(deserializer)?;
        let line = u32::try_from(spanned.referenced.line()).unwrap_or(u32::MAX);
        Ok(Node { line, value: spanned.value })
    }
}

/// A mapping key: any scalar, stringified the way Kubernetes' YAML→JSON conversion does.
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a scalar mapping key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(Key(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key, E> {
                Ok(Key(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Key, E> {
                Ok(Key("null".to_owned()))
            }
        }
        deserializer.deserialize_any(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValueVisitor;
        impl<'de> Visitor<'de> for ValueVisitor {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
                Ok(Value::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
                Ok(Value::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
                Ok(i64::try_from(v).map_or(Value::UInt(v), Value::Int))
            }
            fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
                i64::try_from(v).map(Value::Int).map_err(|_| E::custom(format!("integer {v} is out of range")))
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
                u64::try_from(v)
                    .map(|u| self.visit_u64::<E>(u))
                    .map_err(|_| E::custom(format!("integer {v} is out of range")))?
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
                Ok(Value::Float(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
                Ok(Value::String(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
                Ok(Value::String(v))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
                Value::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
                while let Some(item) = seq.next_element::<Node>()? {
                    items.push(item);
                }
                Ok(Value::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
                let mut entries: Vec<(String, Node)> = Vec::with_capacity(map.size_hint().unwrap_or(0).min(1024));
                while let Some(Key(key)) = map.next_key::<Key>()? {
                    let value = map.next_value::<Node>()?;
                    if entries.iter().any(|(k, _)| *k == key) {
                        return Err(de::Error::custom(format!("duplicate mapping key \"{key}\"")));
                    }
                    entries.push((key, value));
                }
                Ok(Value::Map(entries))
            }
        }
        deserializer.deserialize_any(ValueVisitor)
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.value {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Int(i) => serializer.serialize_i64(*i),
            Value::UInt(u) => serializer.serialize_u64(*u),
            Value::Float(f) => serializer.serialize_f64(*f),
            Value::String(s) => serializer.serialize_str(s),
            Value::Seq(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Map(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

/// Reads a node as any serde type without an intermediate value tree (used to turn pod templates
/// into Kubernetes types). Errors are serde's plain value errors; wrap with `serde_path_to_error` for
/// the field path.
#[derive(Debug, Clone, Copy)]
pub struct NodeDeserializer<'a, E> {
    node: &'a Node,
    marker: std::marker::PhantomData<E>,
}

impl<'a, E> NodeDeserializer<'a, E> {
    /// A deserializer over `node`.
    #[must_use]
    pub fn new(node: &'a Node) -> Self {
        NodeDeserializer { node, marker: std::marker::PhantomData }
    }
}

impl<'de, E: de::Error> de::IntoDeserializer<'de, E> for &'de Node {
    type Deserializer = NodeDeserializer<'de, E>;
    fn into_deserializer(self) -> Self::Deserializer {
        NodeDeserializer::new(self)
    }
}

impl<'de, E: de::Error> Deserializer<'de> for NodeDeserializer<'de, E> {
    type Error = E;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match &self.node.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(i) => visitor.visit_i64(*i),
            Value::UInt(u) => visitor.visit_u64(*u),
            Value::Float(f) => visitor.visit_f64(*f),
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Seq(items) => {
                let mut seq = de::value::SeqDeserializer::new(items.iter());
                let value = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(value)
            }
            Value::Map(entries) => {
                let mut map = de::value::MapDeserializer::new(entries.iter().map(|(k, v)| (k.as_str(), v)));
                let value = visitor.visit_map(&mut map)?;
                map.end()?;
                Ok(value)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        if self.node.is_null() { visitor.visit_none() } else { visitor.visit_some(self) }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, E> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, E> {
        match &self.node.value {
            Value::String(s) => visitor.visit_enum(de::value::BorrowedStrDeserializer::new(s)),
            _ => Err(de::Error::invalid_type(de::Unexpected::Other(self.node.type_name()), &"a string")),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// A path from a document root, displayed as `spec.template.spec.containers[0].image`; keys that
/// contain dots or slashes are displayed in brackets: `metadata.annotations[seccomp.io/x]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldPath {
    segments: Vec<Segment>,
}

impl FieldPath {
    /// The empty path (the document root).
    #[must_use]
    pub fn root() -> Self {
        FieldPath::default()
    }

    /// Parses the display form (`a.b[0].c`, `a[some.key]`). Never fails: odd input yields odd keys.
    #[must_use]
    pub fn parse(text: &str) -> Self {
        let mut segments = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('[') {
                let end = after.find(']').unwrap_or(after.len());
                let inner = &after[..end];
                let inner_unquoted = inner.trim_matches('"');
                segments.push(
                    inner.parse::<usize>().map_or_else(|_| Segment::Key(inner_unquoted.to_owned()), Segment::Index),
                );
                rest = after.get(end + 1..).unwrap_or("");
            } else {
                let rest_trimmed = rest.strip_prefix('.').unwrap_or(rest);
                let end = rest_trimmed.find(['.', '[']).unwrap_or(rest_trimmed.len());
                if end > 0 {
                    segments.push(Segment::Key(rest_trimmed[..end].to_owned()));
                }
                rest = &rest_trimmed[end..];
                if end == 0 && rest.starts_with('.') {
                    rest = &rest[1..];
                }
            }
        }
        FieldPath { segments }
    }

    /// This path extended by a key.
    #[must_use]
    pub fn key(&self, key: &str) -> Self {
        let mut p = self.clone();
        p.segments.push(Segment::Key(key.to_owned()));
        p
    }

    /// This path extended by an index.
    #[must_use]
    pub fn index(&self, index: usize) -> Self {
        let mut p = self.clone();
        p.segments.push(Segment::Index(index));
        p
    }

    /// This path followed by `other`.
    #[must_use]
    pub fn join(&self, other: &FieldPath) -> Self {
        let mut p = self.clone();
        p.segments.extend(other.segments.iter().cloned());
        p
    }

    /// The steps.
    #[must_use]
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.segments.iter().enumerate() {
            match seg {
                Segment::Index(n) => write!(f, "[{n}]")?,
                Segment::Key(k) if k.contains(['.', '/', '[', ']']) || k.is_empty() => write!(f, "[{k}]")?,
                Segment::Key(k) if i == 0 => f.write_str(k)?,
                Segment::Key(k) => write!(f, ".{k}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case::dotted("spec.template.spec", 3)]
    #[case::indexed("spec.containers[0].image", 4)]
    #[case::bracketed_key("metadata.annotations[container.apparmor.security.beta.kubernetes.io/app]", 3)]
    #[case::root("", 0)]
    fn field_path_round_trips(#[case] text: &str, #[case] len: usize) {
        let path = FieldPath::parse(text);
        assert_eq!(path.segments().len(), len);
        assert_eq!(path.to_string(), text);
    }

    #[test]
    fn lines_and_order_are_kept() {
        let nodes: Vec<Node> = serde_saphyr::from_multiple("b: 1\na:\n  - x: true\n").unwrap();
        let root = &nodes[0];
        let keys: Vec<&str> = root.as_map().unwrap().iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["b", "a"]);
        assert_eq!(root.line_of(&FieldPath::parse("a[0].x")), Some(3));
        assert_eq!(root.line_of(&FieldPath::parse("a[0].missing")), Some(3));
    }

    #[test]
    fn numeric_keys_become_strings() {
        let node: Node = serde_saphyr::from_str("80: http\ntrue: x\n").unwrap();
        assert_eq!(node.get("80").and_then(Node::as_str), Some("http"));
        assert_eq!(node.get("true").and_then(Node::as_str), Some("x"));
    }
}
