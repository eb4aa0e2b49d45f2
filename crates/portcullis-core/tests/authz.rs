//! Requirements across claim shapes, the combinator algebra, configuration round-trips and
//! errors, and the challenge a denial renders.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

use std::sync::LazyLock;

use portcullis_core::authz::{
    Requirement, RequirementError, all_of, any_of, claim_eq, claim_includes, claim_matches, not,
    permission, permission_in, role, role_at, scope, scopes_all, scopes_any,
};
use portcullis_core::challenge::ChallengeOptions;
use portcullis_core::testing::TestIssuer;
use portcullis_core::{AuthError, Challenge, Verified, Verifier};
use serde_json::{Value, json};

static ISSUER: LazyLock<TestIssuer> = LazyLock::new(|| TestIssuer::new().expect("keys"));
static VERIFIER: LazyLock<Verifier> =
    LazyLock::new(|| ISSUER.verifier().expect("jwks").build().expect("config"));

/// A verified token whose claims are `claims` on top of the registered ones.
fn token(claims: Value) -> Verified<Value> {
    let mut builder = ISSUER.token();
    for (name, value) in claims.as_object().expect("object") {
        builder = builder.claim(name, value.clone());
    }
    let jwt = builder.sign().expect("sign");
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("rt")
        .block_on(VERIFIER.verify::<Value>(&jwt))
        .expect("valid token")
}

fn passes(claims: Value, requirement: &Requirement) -> bool {
    token(claims).check(requirement).is_ok()
}

#[test]
fn claim_shapes_table() {
    let cases: Vec<(&str, Value, Requirement, bool)> = vec![
        (
            "scope string",
            json!({"scope": "read:users write:users"}),
            scope("read:users"),
            true,
        ),
        (
            "scope string, prefix only",
            json!({"scope": "read:users"}),
            scope("read"),
            false,
        ),
        (
            "scope array",
            json!({"scope": ["read:users"]}),
            scope("read:users"),
            true,
        ),
        (
            "scp string",
            json!({"scp": "read:users"}),
            scope("read:users"),
            true,
        ),
        (
            "scp array",
            json!({"scp": ["a", "read:users"]}),
            scope("read:users"),
            true,
        ),
        (
            "scope wins over scp",
            json!({"scope": "a", "scp": "read:users"}),
            scope("read:users"),
            false,
        ),
        ("no scope claim", json!({}), scope("read:users"), false),
        (
            "scope of wrong type",
            json!({"scope": 7}),
            scope("7"),
            false,
        ),
        (
            "non-string scope members ignored",
            json!({"scope": [1, "x"]}),
            scope("1"),
            false,
        ),
        (
            "scopes_all",
            json!({"scope": "a b c"}),
            scopes_all(["a", "c"]),
            true,
        ),
        (
            "scopes_all missing one",
            json!({"scope": "a b"}),
            scopes_all(["a", "c"]),
            false,
        ),
        (
            "scopes_any",
            json!({"scope": "b"}),
            scopes_any(["a", "b"]),
            true,
        ),
        (
            "scopes_any none",
            json!({"scope": "c"}),
            scopes_any(["a", "b"]),
            false,
        ),
        (
            "permission",
            json!({"permissions": ["read:users"]}),
            permission("read:users"),
            true,
        ),
        (
            "permission absent",
            json!({"permissions": ["write:users"]}),
            permission("read:users"),
            false,
        ),
        (
            "permission non-string members",
            json!({"permissions": [1, true, null]}),
            permission("1"),
            false,
        ),
        (
            "permission claim is a string",
            json!({"permissions": "read:users"}),
            permission("read:users"),
            true,
        ),
        (
            "permission in custom claim",
            json!({"perms": ["x"]}),
            permission_in("perms", "x"),
            true,
        ),
        ("role", json!({"roles": ["admin"]}), role("admin"), true),
        ("role missing claim", json!({}), role("admin"), false),
        (
            "keycloak realm role",
            json!({"realm_access": {"roles": ["admin"]}}),
            role_at("realm_access.roles", "admin"),
            true,
        ),
        (
            "keycloak client role",
            json!({"resource_access": {"api": {"roles": ["ops"]}}}),
            role_at("resource_access.api.roles", "ops"),
            true,
        ),
        (
            "keycloak other client",
            json!({"resource_access": {"web": {"roles": ["ops"]}}}),
            role_at("resource_access.api.roles", "ops"),
            false,
        ),
        (
            "path through a non-object",
            json!({"realm_access": ["roles"]}),
            role_at("realm_access.roles", "roles"),
            false,
        ),
        (
            "groups",
            json!({"groups": ["ops"]}),
            role_at("groups", "ops"),
            true,
        ),
        (
            "claim_eq string",
            json!({"tenant": "acme"}),
            claim_eq("tenant", "acme"),
            true,
        ),
        (
            "claim_eq other",
            json!({"tenant": "evil"}),
            claim_eq("tenant", "acme"),
            false,
        ),
        (
            "claim_eq no coercion",
            json!({"level": "1"}),
            claim_eq("level", 1),
            false,
        ),
        (
            "claim_eq number",
            json!({"level": 1}),
            claim_eq("level", 1),
            true,
        ),
        (
            "claim_eq nested",
            json!({"org": {"id": "o1"}}),
            claim_eq("org.id", "o1"),
            true,
        ),
        (
            "claim_eq missing",
            json!({}),
            claim_eq("tenant", "acme"),
            false,
        ),
        (
            "claim_includes array",
            json!({"groups": ["ops", "dev"]}),
            claim_includes("groups", "ops"),
            true,
        ),
        (
            "claim_includes words",
            json!({"groups": "ops dev"}),
            claim_includes("groups", "dev"),
            true,
        ),
        (
            "claim_includes wrong type",
            json!({"groups": {"ops": true}}),
            claim_includes("groups", "ops"),
            false,
        ),
        (
            "claim_matches",
            json!({"email": "a@acme.com"}),
            claim_matches("email", |v| {
                v.as_str().is_some_and(|s| s.ends_with("@acme.com"))
            }),
            true,
        ),
        (
            "claim_matches absent",
            json!({}),
            claim_matches("email", |_| true),
            false,
        ),
        ("empty path", json!({"": "x"}), claim_eq("", "x"), false),
        ("empty any_of", json!({"scope": "a"}), any_of([]), false),
        ("empty all_of", json!({}), all_of([]), true),
        ("not", json!({"roles": ["guest"]}), not(role("admin")), true),
    ];
    let mut failures = Vec::new();
    for (name, claims, requirement, want) in &cases {
        if passes(claims.clone(), requirement) != *want {
            failures.push(format!("{name}: {requirement} should be {want}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn combinator_algebra() {
    let atoms = [scope("a"), scope("b"), role("r")];
    let subjects = [
        json!({}),
        json!({"scope": "a"}),
        json!({"scope": "b", "roles": ["r"]}),
        json!({"scope": "a b", "roles": ["r"]}),
    ];
    for claims in subjects {
        let t = token(claims.clone());
        let holds = |r: &Requirement| t.check(r).is_ok();
        for x in &atoms {
            for y in &atoms {
                // De Morgan, both ways.
                assert_eq!(
                    holds(&not(all_of([x.clone(), y.clone()]))),
                    holds(&any_of([not(x.clone()), not(y.clone())])),
                    "{claims}"
                );
                assert_eq!(
                    holds(&not(any_of([x.clone(), y.clone()]))),
                    holds(&all_of([not(x.clone()), not(y.clone())])),
                    "{claims}"
                );
                assert_eq!(holds(&not(not(x.clone()))), holds(x));
            }
        }
        // Empty sets keep the identities: any() is false, all() is true, not(any()) == all().
        assert!(!holds(&any_of([])));
        assert!(holds(&all_of([])));
        assert_eq!(holds(&not(any_of([]))), holds(&all_of([])));
    }
}

#[test]
fn denial_names_the_scopes_and_renders_a_challenge() {
    let t = token(json!({"scope": "openid"}));
    let requirement = all_of([
        scopes_any(["read:users", "admin"]),
        not(scope("banned")),
        role("x"),
    ]);
    let err = t.check(&requirement).unwrap_err();
    assert_eq!(
        err,
        AuthError::InsufficientScope {
            scopes: vec!["read:users".into(), "admin".into()]
        }
    );
    let c = Challenge::from_error(&err, &ChallengeOptions::default());
    assert_eq!(c.status, 403);
    assert_eq!(
        c.www_authenticate.as_deref(),
        Some(
            "Bearer error=\"insufficient_scope\", error_description=\"insufficient scope\", scope=\"read:users admin\""
        )
    );
    assert_eq!(
        requirement.to_string(),
        "all(any(scope(read:users), scope(admin)), not(scope(banned)), role(roles has x))"
    );
}

#[test]
fn configuration_round_trips() {
    let documents = [
        json!({"scope": "read:users"}),
        json!({"all": [{"scope": "read:users"}, {"claim_eq": {"path": "tenant", "value": "acme"}}]}),
        json!({"any": [{"role": "admin"}, {"role": {"path": "realm_access.roles", "value": "ops"}}]}),
        json!({"not": {"permission": "delete:users"}}),
        json!({"permission": {"path": "perms", "value": "x"}}),
        json!({"scopes_all": ["a", "b"]}),
        json!({"scopes_any": ["a", "b"]}),
        json!({"claim_includes": {"path": "groups", "value": "ops"}}),
        json!({"claim_eq": {"path": "n", "value": {"nested": [1, 2]}}}),
    ];
    for doc in documents {
        let requirement = Requirement::from_json(&doc.to_string()).expect("valid configuration");
        assert_eq!(requirement.to_json().expect("serializable"), doc);
        let via_serde: Requirement = serde_json::from_value(doc.clone()).expect("serde");
        assert_eq!(serde_json::to_value(&via_serde).expect("serialize"), doc);
    }
    // The issue's own TOML example.
    #[derive(serde::Deserialize)]
    struct Routes {
        admin: Requirement,
    }
    let routes: Routes = toml::from_str(
        r#"admin = { all = [ { scope = "read:users" }, { claim_eq = { path = "tenant", value = "acme" } } ] }"#,
    )
    .expect("toml");
    assert!(passes(
        json!({"scope": "read:users", "tenant": "acme"}),
        &routes.admin
    ));
    assert!(!passes(
        json!({"scope": "read:users", "tenant": "evil"}),
        &routes.admin
    ));
    assert!(matches!(
        claim_matches("x", |_| true).to_json(),
        Err(RequirementError::NotSerializable)
    ));
}

#[test]
fn configuration_errors_name_the_place() {
    let cases = [
        (r#"{"all": [{"scope": "a"}, {"any": []}]}"#, "all[1].any"),
        (
            r#"{"all": [{"claim_eq": {"path": "a..b", "value": 1}}]}"#,
            "all[0].claim_eq.path",
        ),
        (r#"{"role": {"path": "", "value": "admin"}}"#, "role.path"),
        (r#"{"scopes_any": []}"#, "scopes_any"),
        (r#"{"not": {"all": [{"scope": 5}]}}"#, "not.all[0].scope"),
        (r#"{"all": [{"scope": "a"}, {"sope": "b"}]}"#, "all[1]"),
        (
            r#"{"claim_eq": {"path": "t", "value": 1, "extra": 2}}"#,
            "claim_eq",
        ),
    ];
    for (doc, place) in cases {
        let err = Requirement::from_json(doc).expect_err(doc);
        let path = match &err {
            RequirementError::Shape { path, .. } | RequirementError::Invalid { path, .. } => {
                path.clone()
            }
            other => panic!("{doc}: {other}"),
        };
        assert!(
            path.starts_with(place),
            "{doc}: error at {path:?}, expected {place:?} ({err})"
        );
    }
}

#[test]
fn requirement_is_shareable() {
    fn shareable<T: Clone + Send + Sync + std::fmt::Debug + 'static>() {}
    shareable::<Requirement>();
}
