//! Who is calling (the SigV4 access key of the request) and whether their policy allows it.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use crate::error::Denial;
use crate::policy::{Access, Policy};

/// One set of credentials and what they may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Who this is, for records and logs (`poller`, `administrator`).
    pub name: String,
    /// The access key ID requests are signed with.
    pub access_key_id: String,
    /// The secret key (signatures are not verified: the key ID names the principal).
    pub secret_access_key: String,
    /// The ARN AWS names in a refusal (`arn:aws:sts::<account>:assumed-role/<role>/<session>`).
    pub arn: String,
    /// The identity policy.
    pub policy: Policy,
}

/// A refused call, as recorded for tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The principal's name, or the unknown access key ID.
    pub principal: String,
    /// The refusal.
    pub denial: Denial,
}

/// The principals one world issued credentials to, and every refusal since.
#[derive(Debug, Clone, Default)]
pub struct Authorizer {
    principals: Arc<RwLock<HashMap<String, Arc<Principal>>>>,
    refusals: Arc<Mutex<Vec<Refusal>>>,
    granted: Arc<Mutex<BTreeSet<(String, String)>>>,
}

impl Authorizer {
    /// Issues `principal`'s credentials (replacing any with the same access key ID).
    pub fn add(&self, principal: Principal) {
        self.principals
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(principal.access_key_id.clone(), Arc::new(principal));
    }

    /// The principal whose access key signed a request with this `Authorization` header.
    pub fn caller(&self, authorization: Option<&str>) -> Result<Arc<Principal>, Denial> {
        let Some(access_key_id) = authorization.and_then(access_key_id) else {
            return Err(self.refused("anonymous", Denial::MissingAuthentication));
        };
        let found = self
            .principals
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(access_key_id)
            .cloned();
        found.ok_or_else(|| {
            self.refused(
                access_key_id,
                Denial::UnknownAccessKey {
                    access_key_id: access_key_id.to_owned(),
                },
            )
        })
    }

    /// `Ok` when `principal`'s policy allows every one of `accesses`, else the first refused.
    pub fn check(&self, principal: &Principal, accesses: &[Access]) -> Result<(), Denial> {
        match accesses
            .iter()
            .find(|access| !principal.policy.allows(access))
        {
            None => {
                let mut granted = self.granted.lock().unwrap_or_else(PoisonError::into_inner);
                for access in accesses {
                    granted.insert((principal.name.clone(), access.action.clone()));
                }
                Ok(())
            }
            Some(access) => Err(self.refused(
                &principal.name,
                Denial::NotAuthorized {
                    principal: principal.arn.clone(),
                    action: access.action.clone(),
                    resource: access.resource.clone(),
                },
            )),
        }
    }

    /// [`Authorizer::caller`] then [`Authorizer::check`].
    pub fn authorize(
        &self,
        authorization: Option<&str>,
        accesses: &[Access],
    ) -> Result<Arc<Principal>, Denial> {
        let principal = self.caller(authorization)?;
        self.check(&principal, accesses)?;
        Ok(principal)
    }

    /// Every refusal so far, oldest first.
    pub fn refusals(&self) -> Vec<Refusal> {
        self.refusals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Every (principal name, action) allowed so far: what each principal's code actually used.
    pub fn granted(&self) -> BTreeSet<(String, String)> {
        self.granted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn refused(&self, principal: &str, denial: Denial) -> Denial {
        tracing::warn!(principal, %denial, "local IAM refused a call");
        self.refusals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Refusal {
                principal: principal.to_owned(),
                denial: denial.clone(),
            });
        denial
    }
}

/// The access key ID of a SigV4 `Authorization` header
/// (`AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request, ...`).
pub fn access_key_id(authorization: &str) -> Option<&str> {
    let credential = authorization.split("Credential=").nth(1)?;
    let key = credential.split('/').next()?;
    (!key.is_empty()).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_access_key_of_a_sigv4_header() {
        let header = "AWS4-HMAC-SHA256 Credential=ASIAPOLLER/20261206/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=ab";
        assert_eq!(access_key_id(header), Some("ASIAPOLLER"));
        assert_eq!(access_key_id("Bearer xoxb"), None);
    }

    #[test]
    fn unknown_keys_and_unsigned_requests_are_refused_and_recorded() {
        let authorizer = Authorizer::default();
        assert_eq!(
            authorizer.caller(None).unwrap_err(),
            Denial::MissingAuthentication
        );
        let header = "AWS4-HMAC-SHA256 Credential=ASIANOBODY/20261206/us-east-1/ssm/aws4_request";
        assert!(matches!(
            authorizer.caller(Some(header)).unwrap_err(),
            Denial::UnknownAccessKey { .. }
        ));
        assert_eq!(authorizer.refusals().len(), 2);
    }
}
