use std::path::Path;
use std::sync::Arc;

use super::{KeySet, KeySource, KeysFuture, Refresh};
use crate::error::ConfigError;

/// A fixed key set: from a JWKS document in configuration or a file. Never fetches.
#[derive(Debug, Clone)]
pub struct StaticJwks {
    set: Arc<KeySet>,
}

impl StaticJwks {
    /// Parses a JWKS document. Fails if the document is invalid or no key in it is usable, so a
    /// typo is a start-up error instead of every request failing with `unknown_key`.
    pub fn from_json(document: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        let set = KeySet::from_jwks_json(document.as_ref())?;
        if set.is_empty() {
            return Err(ConfigError::InvalidKeySet(
                "no usable key (see the portcullis::audit log for why each was refused)".into(),
            ));
        }
        Ok(Self { set: Arc::new(set) })
    }

    /// Reads and parses a JWKS file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| ConfigError::Io {
            path: path.display().to_string(),
            source: Arc::new(e),
        })?;
        Self::from_json(bytes)
    }

    /// The parsed set.
    pub fn key_set(&self) -> &Arc<KeySet> {
        &self.set
    }
}

impl KeySource for StaticJwks {
    fn current(&self) -> Option<Arc<KeySet>> {
        Some(Arc::clone(&self.set))
    }

    fn refresh<'a>(&'a self, _why: Refresh<'a>) -> KeysFuture<'a> {
        let set = Arc::clone(&self.set);
        Box::pin(async move { Ok(set) })
    }
}
