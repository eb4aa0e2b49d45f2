//! What every framework adapter defines alike: the extractor types. The orphan rule makes each
//! adapter own its extractor types (to implement its framework's traits for them), and this
//! macro keeps them one definition, so the adapters cannot drift apart.

/// Defines `Claims<C>`, `Authenticated` and `ClaimsRejection` in the invoking adapter crate.
/// `$layer` names the adapter's layer or middleware in the rejection's docs. Not an API for
/// applications.
#[doc(hidden)]
#[macro_export]
macro_rules! adapter_extractors {
    ($layer:literal) => {
        /// The verified token of the request, with its claims as `C`. Derefs to
        /// [`Verified<C>`](portcullis_core::Verified): `claims.subject()`, `claims.claims()`,
        /// `claims.check(&requirement)`.
        #[derive(Debug, Clone)]
        #[allow(clippy::exhaustive_structs)] // an extractor: destructured in a handler's arguments
        pub struct Claims<C>(pub $crate::Verified<C>);

        impl<C> ::std::ops::Deref for Claims<C> {
            type Target = $crate::Verified<C>;

            fn deref(&self) -> &$crate::Verified<C> {
                &self.0
            }
        }

        /// The authenticated caller, whatever the kind of credential: how it authenticated,
        /// scopes, permissions, roles, claims. Derefs to
        /// [`Principal`](portcullis_core::Principal).
        #[derive(Debug, Clone)]
        #[allow(clippy::exhaustive_structs)] // an extractor: destructured in a handler's arguments
        pub struct Authenticated(pub $crate::Principal);

        impl ::std::ops::Deref for Authenticated {
            type Target = $crate::Principal;

            fn deref(&self) -> &$crate::Principal {
                &self.0
            }
        }

        #[doc = concat!(
            "Why [`Claims`] or [`Authenticated`] could not be extracted, as core decided it: 401 ",
            "for an anonymous request, 401 `invalid_token` for claims that do not fit `C`, 500 on ",
            "a route without ", $layer, " (a server bug, never an anonymous user). Rendered like ",
            "every rejection of the authenticator, gRPC form included."
        )]
        #[derive(Debug, Clone)]
        #[allow(clippy::exhaustive_structs)] // a newtype over core's `Refusal`, itself non-exhaustive
        pub struct ClaimsRejection(pub $crate::state::Refusal);

        impl ::std::fmt::Display for ClaimsRejection {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(&self.0, f)
            }
        }
    };
}
