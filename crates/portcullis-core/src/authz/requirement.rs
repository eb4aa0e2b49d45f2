use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::{ClaimPath, DEFAULT_PERMISSIONS_CLAIM, DEFAULT_ROLES_CLAIM};

/// What a route requires of a verified token. Cheap to clone, `Send + Sync`, and its `Debug`
/// output names the policy (for logs and the audit event of a denial).
///
/// Build one with the functions of [`authz`](super) (`scope`, `role`, `all_of`, ...) or load it
/// from configuration through serde.
#[derive(Clone)]
pub struct Requirement(pub(super) Node);

#[derive(Clone)]
pub(super) enum Node {
    Scope(String),
    /// `value` is a member of the string array at `claim`.
    Member {
        kind: MemberKind,
        claim: ClaimPath,
        value: String,
    },
    ClaimEq {
        path: ClaimPath,
        value: Value,
    },
    ClaimIncludes {
        path: ClaimPath,
        value: String,
    },
    Matches {
        path: ClaimPath,
        predicate: Arc<dyn Fn(&Value) -> bool + Send + Sync>,
    },
    All(Vec<Node>),
    Any(Vec<Node>),
    Not(Box<Node>),
}

/// How a member requirement was written, so it renders (and serializes) as it was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum MemberKind {
    Permission,
    Role,
}

/// The token's scope: granted if the scope claim (`scope` string or array, else `scp`) lists it.
pub fn scope(name: impl Into<String>) -> Requirement {
    Requirement(Node::Scope(name.into()))
}

/// Every one of these scopes.
pub fn scopes_all<I: IntoIterator<Item = S>, S: Into<String>>(names: I) -> Requirement {
    Requirement(Node::All(
        names.into_iter().map(|n| Node::Scope(n.into())).collect(),
    ))
}

/// At least one of these scopes (none given: never satisfied).
pub fn scopes_any<I: IntoIterator<Item = S>, S: Into<String>>(names: I) -> Requirement {
    Requirement(Node::Any(
        names.into_iter().map(|n| Node::Scope(n.into())).collect(),
    ))
}

/// `name` is in the `permissions` array (Auth0 RBAC).
pub fn permission(name: impl Into<String>) -> Requirement {
    permission_in(DEFAULT_PERMISSIONS_CLAIM, name)
}

/// `name` is in the string array at `claim`.
pub fn permission_in(claim: impl Into<ClaimPath>, name: impl Into<String>) -> Requirement {
    Requirement(Node::Member {
        kind: MemberKind::Permission,
        claim: claim.into(),
        value: name.into(),
    })
}

/// `name` is in the `roles` array.
pub fn role(name: impl Into<String>) -> Requirement {
    role_at(DEFAULT_ROLES_CLAIM, name)
}

/// `name` is in the roles at `path`: `groups`, Keycloak's `realm_access.roles`,
/// `resource_access.<client>.roles`, ...
pub fn role_at(path: impl Into<ClaimPath>, name: impl Into<String>) -> Requirement {
    Requirement(Node::Member {
        kind: MemberKind::Role,
        claim: path.into(),
        value: name.into(),
    })
}

/// The claim at `path` equals `value` exactly (JSON equality: `"1"` is not `1`).
pub fn claim_eq(path: impl Into<ClaimPath>, value: impl Into<Value>) -> Requirement {
    Requirement(Node::ClaimEq {
        path: path.into(),
        value: value.into(),
    })
}

/// The claim at `path` includes `value`: a member of a string array, or a word of a
/// space-delimited string.
pub fn claim_includes(path: impl Into<ClaimPath>, value: impl Into<String>) -> Requirement {
    Requirement(Node::ClaimIncludes {
        path: path.into(),
        value: value.into(),
    })
}

/// A custom check on the claim at `path`; an absent claim fails without calling `predicate`.
/// Not expressible in configuration.
pub fn claim_matches(
    path: impl Into<ClaimPath>,
    predicate: impl Fn(&Value) -> bool + Send + Sync + 'static,
) -> Requirement {
    Requirement(Node::Matches {
        path: path.into(),
        predicate: Arc::new(predicate),
    })
}

/// Every requirement (none given: satisfied, as in logic; configuration refuses empty lists).
pub fn all_of(requirements: impl IntoIterator<Item = Requirement>) -> Requirement {
    Requirement(Node::All(requirements.into_iter().map(|r| r.0).collect()))
}

/// At least one requirement (none given: never satisfied).
pub fn any_of(requirements: impl IntoIterator<Item = Requirement>) -> Requirement {
    Requirement(Node::Any(requirements.into_iter().map(|r| r.0).collect()))
}

/// The requirement does not hold.
pub fn not(requirement: Requirement) -> Requirement {
    Requirement(Node::Not(Box::new(requirement.0)))
}

/// What a requirement is checked against: a verified token's scopes and claims.
pub(crate) trait Subject {
    /// Whether the scope claim grants `scope` (by the one reading rule).
    fn has_scope(&self, scope: &str) -> bool;
    /// All claims, for paths.
    fn claims(&self) -> &Map<String, Value>;
}

impl Requirement {
    /// Whether `subject` satisfies the requirement.
    pub(crate) fn holds(&self, subject: &dyn Subject) -> bool {
        self.0.holds(subject)
    }

    /// Scopes that would satisfy this requirement, for the challenge's `scope` attribute: every
    /// scope the requirement asks for outside a `not`.
    pub fn scope_hint(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.0.collect_scopes(false, &mut out);
        out.dedup();
        out
    }
}

impl Node {
    fn holds(&self, subject: &dyn Subject) -> bool {
        match self {
            Node::Scope(name) => subject.has_scope(name),
            Node::Member { claim, value, .. } => match claim.resolve(subject.claims()) {
                Some(Value::Array(items)) => items.iter().any(|i| i.as_str() == Some(value)),
                // A single role is often sent as a plain string.
                Some(Value::String(one)) => one == value,
                _ => false,
            },
            Node::ClaimEq { path, value } => path.resolve(subject.claims()) == Some(value),
            Node::ClaimIncludes { path, value } => match path.resolve(subject.claims()) {
                Some(Value::Array(items)) => items.iter().any(|i| i.as_str() == Some(value)),
                Some(Value::String(words)) => words.split(' ').any(|w| w == value),
                _ => false,
            },
            Node::Matches { path, predicate } => {
                path.resolve(subject.claims()).is_some_and(|v| predicate(v))
            }
            Node::All(nodes) => nodes.iter().all(|n| n.holds(subject)),
            Node::Any(nodes) => nodes.iter().any(|n| n.holds(subject)),
            Node::Not(node) => !node.holds(subject),
        }
    }

    fn collect_scopes(&self, negated: bool, out: &mut Vec<String>) {
        match self {
            Node::Scope(name) if !negated && !out.contains(name) => out.push(name.clone()),
            Node::All(nodes) | Node::Any(nodes) => {
                nodes.iter().for_each(|n| n.collect_scopes(negated, out))
            }
            Node::Not(node) => node.collect_scopes(!negated, out),
            _ => {}
        }
    }
}

impl fmt::Debug for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A compact policy expression: `all(scope(read:users), claim_eq(tenant = "acme"))`.
impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, name: &str, nodes: &[Node]| {
            write!(f, "{name}(")?;
            for (i, n) in nodes.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{n}")?;
            }
            f.write_str(")")
        };
        match self {
            Node::Scope(name) => write!(f, "scope({name})"),
            Node::Member {
                kind: MemberKind::Permission,
                claim,
                value,
            } => write!(f, "permission({claim} has {value})"),
            Node::Member {
                kind: MemberKind::Role,
                claim,
                value,
            } => write!(f, "role({claim} has {value})"),
            Node::ClaimEq { path, value } => write!(f, "claim_eq({path} = {value})"),
            Node::ClaimIncludes { path, value } => write!(f, "claim_includes({path} has {value})"),
            Node::Matches { path, .. } => write!(f, "claim_matches({path}, <predicate>)"),
            Node::All(nodes) => list(f, "all", nodes),
            Node::Any(nodes) => list(f, "any", nodes),
            Node::Not(node) => write!(f, "not({node})"),
        }
    }
}
