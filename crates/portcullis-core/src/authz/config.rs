//! Requirements as configuration. The serde shape (externally tagged, snake_case):
//!
//! ```toml
//! [routes."/admin"]
//! all = [
//!   { scope = "read:users" },
//!   { claim_eq = { path = "tenant", value = "acme" } },
//!   { any = [ { role = "admin" }, { role = { path = "realm_access.roles", value = "ops" } } ] },
//! ]
//! ```
//!
//! Forms: `scope`, `scopes_all`, `scopes_any`, `permission` (a name, or `{ claim, value }`),
//! `role` (a name, or `{ path, value }`), `claim_eq { path, value }`,
//! `claim_includes { path, value }`, `all`, `any`, `not`. Unknown fields, empty lists and empty
//! path segments are errors at load time, each naming where it is.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::requirement::{MemberKind, Node};
use super::{ClaimPath, DEFAULT_PERMISSIONS_CLAIM, DEFAULT_ROLES_CLAIM, Requirement};

/// A requirement configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequirementError {
    /// The document does not have the requirement shape (unknown form, wrong type).
    #[error("invalid requirement at {path}: {message}")]
    Shape {
        /// Where, e.g. `all[1].claim_eq`.
        path: String,
        /// The parser's message.
        message: String,
    },
    /// A well-formed requirement that would silently misbehave.
    #[error("invalid requirement at {path}: {why}")]
    Invalid {
        /// Where, e.g. `all[1].any`.
        path: String,
        /// What is wrong.
        why: &'static str,
    },
    /// The requirement uses `claim_matches`, which has no configuration form.
    #[error("claim_matches has no configuration form")]
    NotSerializable,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Spec {
    Scope(String),
    ScopesAll(Vec<String>),
    ScopesAny(Vec<String>),
    Permission(MemberSpec),
    Role(MemberSpec),
    ClaimEq { path: String, value: Value },
    ClaimIncludes { path: String, value: String },
    All(Vec<Spec>),
    Any(Vec<Spec>),
    Not(Box<Spec>),
}

/// `"admin"`, or `{ path = "realm_access.roles", value = "admin" }` (`claim` for permissions).
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum MemberSpec {
    Name(String),
    At {
        #[serde(alias = "claim")]
        path: String,
        value: String,
    },
}

impl Requirement {
    /// Parses a requirement from JSON; errors name the place in the document.
    pub fn from_json(text: &str) -> Result<Self, RequirementError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let spec: Spec =
            serde_path_to_error::deserialize(&mut de).map_err(|e| RequirementError::Shape {
                path: e.path().to_string(),
                message: e.inner().to_string(),
            })?;
        de.end().map_err(|e| RequirementError::Shape {
            path: ".".into(),
            message: e.to_string(),
        })?;
        spec.into_node(".").map(Requirement)
    }

    /// The configuration form of this requirement (fails for `claim_matches`).
    pub fn to_json(&self) -> Result<Value, RequirementError> {
        serde_json::to_value(Spec::from_node(&self.0)?)
            .map_err(|_| RequirementError::NotSerializable)
    }
}

impl<'de> Deserialize<'de> for Requirement {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spec = Spec::deserialize(deserializer)?;
        spec.into_node(".")
            .map(Requirement)
            .map_err(serde::de::Error::custom)
    }
}

impl Serialize for Requirement {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Spec::from_node(&self.0)
            .map_err(serde::ser::Error::custom)?
            .serialize(serializer)
    }
}

fn join(at: &str, next: &str) -> String {
    if at == "." {
        next.to_owned()
    } else {
        format!("{at}.{next}")
    }
}

fn checked_path(path: String, at: &str) -> Result<ClaimPath, RequirementError> {
    let path = ClaimPath::new(path);
    if path.is_well_formed() {
        Ok(path)
    } else {
        Err(RequirementError::Invalid {
            path: join(at, "path"),
            why: "a claim path needs non-empty segments separated by '.'",
        })
    }
}

fn non_empty<T>(items: Vec<T>, at: &str) -> Result<Vec<T>, RequirementError> {
    if items.is_empty() {
        return Err(RequirementError::Invalid {
            path: at.to_owned(),
            why: "an empty list is refused in configuration (all = always, any = never)",
        });
    }
    Ok(items)
}

fn list(specs: Vec<Spec>, at: &str) -> Result<Vec<Node>, RequirementError> {
    non_empty(specs, at)?
        .into_iter()
        .enumerate()
        .map(|(i, s)| s.into_node(&format!("{at}[{i}]")))
        .collect()
}

impl Spec {
    fn into_node(self, at: &str) -> Result<Node, RequirementError> {
        Ok(match self {
            Spec::Scope(name) => Node::Scope(name),
            Spec::ScopesAll(names) => Node::All(
                non_empty(names, &join(at, "scopes_all"))?
                    .into_iter()
                    .map(Node::Scope)
                    .collect(),
            ),
            Spec::ScopesAny(names) => Node::Any(
                non_empty(names, &join(at, "scopes_any"))?
                    .into_iter()
                    .map(Node::Scope)
                    .collect(),
            ),
            Spec::Permission(m) => member(
                m,
                MemberKind::Permission,
                DEFAULT_PERMISSIONS_CLAIM,
                &join(at, "permission"),
            )?,
            Spec::Role(m) => member(m, MemberKind::Role, DEFAULT_ROLES_CLAIM, &join(at, "role"))?,
            Spec::ClaimEq { path, value } => Node::ClaimEq {
                path: checked_path(path, &join(at, "claim_eq"))?,
                value,
            },
            Spec::ClaimIncludes { path, value } => Node::ClaimIncludes {
                path: checked_path(path, &join(at, "claim_includes"))?,
                value,
            },
            Spec::All(specs) => Node::All(list(specs, &join(at, "all"))?),
            Spec::Any(specs) => Node::Any(list(specs, &join(at, "any"))?),
            Spec::Not(spec) => Node::Not(Box::new(spec.into_node(&join(at, "not"))?)),
        })
    }

    fn from_node(node: &Node) -> Result<Self, RequirementError> {
        let scopes = |nodes: &[Node]| -> Option<Vec<String>> {
            nodes
                .iter()
                .map(|n| match n {
                    Node::Scope(s) => Some(s.clone()),
                    _ => None,
                })
                .collect()
        };
        Ok(match node {
            Node::Scope(name) => Spec::Scope(name.clone()),
            Node::Member { kind, claim, value } => {
                let default = match kind {
                    MemberKind::Permission => DEFAULT_PERMISSIONS_CLAIM,
                    MemberKind::Role => DEFAULT_ROLES_CLAIM,
                };
                let m = if claim.as_str() == default {
                    MemberSpec::Name(value.clone())
                } else {
                    MemberSpec::At {
                        path: claim.as_str().to_owned(),
                        value: value.clone(),
                    }
                };
                match kind {
                    MemberKind::Permission => Spec::Permission(m),
                    MemberKind::Role => Spec::Role(m),
                }
            }
            Node::ClaimEq { path, value } => Spec::ClaimEq {
                path: path.as_str().to_owned(),
                value: value.clone(),
            },
            Node::ClaimIncludes { path, value } => Spec::ClaimIncludes {
                path: path.as_str().to_owned(),
                value: value.clone(),
            },
            Node::Matches { .. } => return Err(RequirementError::NotSerializable),
            Node::All(nodes) => match scopes(nodes) {
                Some(names) if !names.is_empty() => Spec::ScopesAll(names),
                _ => Spec::All(
                    nodes
                        .iter()
                        .map(Spec::from_node)
                        .collect::<Result<_, _>>()?,
                ),
            },
            Node::Any(nodes) => match scopes(nodes) {
                Some(names) if !names.is_empty() => Spec::ScopesAny(names),
                _ => Spec::Any(
                    nodes
                        .iter()
                        .map(Spec::from_node)
                        .collect::<Result<_, _>>()?,
                ),
            },
            Node::Not(node) => Spec::Not(Box::new(Spec::from_node(node)?)),
        })
    }
}

fn member(
    spec: MemberSpec,
    kind: MemberKind,
    default: &str,
    at: &str,
) -> Result<Node, RequirementError> {
    let (claim, value) = match spec {
        MemberSpec::Name(value) => (ClaimPath::new(default), value),
        MemberSpec::At { path, value } => (checked_path(path, at)?, value),
    };
    Ok(Node::Member { kind, claim, value })
}
