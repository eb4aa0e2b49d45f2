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

/// Forwards the [`Authenticator`](crate::authenticator::Authenticator)'s options to an adapter's
/// layer or middleware type `$ty` (a struct with one field, `authenticator`), so that every
/// option reaches both adapters at once. Not an API for applications.
#[doc(hidden)]
#[macro_export]
macro_rules! adapter_options {
    ($ty:ident) => {
        impl From<$crate::authenticator::Authenticator> for $ty {
            fn from(authenticator: $crate::authenticator::Authenticator) -> Self {
                Self { authenticator }
            }
        }

        impl $ty {
            /// Requires a valid bearer token in the `Authorization` header on every request.
            pub fn new(verifier: $crate::Verifier) -> Self {
                $crate::authenticator::Authenticator::new(verifier).into()
            }

            /// Lets requests without any credential through as anonymous (`Option<Claims<C>>`
            /// is `None`). A credential that is present but invalid is still rejected.
            pub fn optional(self) -> Self {
                self.authenticator.optional().into()
            }

            /// Where tokens may come from (query string and cookie are opt-in).
            pub fn rules(self, rules: $crate::credential::BearerRules) -> Self {
                self.authenticator.rules(rules).into()
            }

            /// The challenge's `realm` and detail level.
            pub fn challenge(self, options: $crate::challenge::ChallengeOptions) -> Self {
                self.authenticator.challenge(options).into()
            }

            /// A custom rejection renderer (the default is core's `ProblemJson`).
            pub fn renderer(self, renderer: impl $crate::render::Renderer) -> Self {
                self.authenticator.renderer(renderer).into()
            }

            /// The base URL clients address this service by (see
            /// [`Authenticator::public_url`](portcullis_core::authenticator::Authenticator::public_url)).
            pub fn public_url(self, url: $crate::request::PublicUrl) -> Self {
                self.authenticator.public_url(url).into()
            }

            /// The DPoP policy: allowed by default, or disabled or required; proof window,
            /// algorithms and replay store (see [`dpop`](portcullis_core::dpop)).
            pub fn dpop(self, policy: $crate::dpop::DpopPolicy) -> Self {
                self.authenticator.dpop(policy).into()
            }

            /// The proxies whose forwarding headers are believed (see
            /// [`Authenticator::trusted_proxies`](portcullis_core::authenticator::Authenticator::trusted_proxies)).
            pub fn trusted_proxies(self, proxies: $crate::request::TrustedProxies) -> Self {
                self.authenticator.trusted_proxies(proxies).into()
            }
        }
    };
}
