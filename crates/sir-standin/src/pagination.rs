//! `maxResults` / `nextToken` handling shared by every List operation.
//!
//! Tokens are opaque to clients (hex) but stateless here: they carry the listing they belong to
//! and the offset to resume from, so a token from one case's comments is rejected on another's.

use crate::error::{ApiError, FieldErrors};
use crate::validate::PAGE_SIZE_MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PageRequest {
    offset: usize,
    limit: usize,
}

impl PageRequest {
    /// Validates `maxResults` (1..=25, default 25) and decodes `nextToken` for listing `scope`.
    pub(crate) fn parse(
        scope: &str,
        next_token: Option<&str>,
        max_results: Option<i64>,
    ) -> Result<Self, ApiError> {
        let mut errors = FieldErrors::default();
        if let Some(max_results) = max_results {
            errors.range("maxResults", max_results, 1, PAGE_SIZE_MAX);
        }
        let offset = match next_token {
            Some(token) => match decode_token(scope, token) {
                Some(offset) => offset,
                None => {
                    errors.push(
                        "nextToken",
                        "Member must be a token returned by a previous call to this operation",
                    );
                    0
                }
            },
            None => 0,
        };
        errors.finish()?;
        let limit = usize::try_from(max_results.unwrap_or(PAGE_SIZE_MAX)).unwrap_or(1);
        Ok(PageRequest { offset, limit })
    }

    /// The requested slice of `items` and the token for the rest, if any remains.
    pub(crate) fn slice<'a, T>(&self, scope: &str, items: &'a [T]) -> (&'a [T], Option<String>) {
        let start = self.offset.min(items.len());
        let end = start.saturating_add(self.limit).min(items.len());
        let next = (end < items.len()).then(|| encode_token(scope, end));
        (&items[start..end], next)
    }
}

fn encode_token(scope: &str, offset: usize) -> String {
    format!("{scope}|{offset}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn decode_token(scope: &str, token: &str) -> Option<usize> {
    if !token.len().is_multiple_of(2) || !token.is_ascii() {
        return None;
    }
    let bytes = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&token[i..i + 2], 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    let text = String::from_utf8(bytes).ok()?;
    let (token_scope, offset) = text.rsplit_once('|')?;
    (token_scope == scope)
        .then(|| offset.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_through_everything_once() {
        let items: Vec<u32> = (0..60).collect();
        let mut seen = Vec::new();
        let mut token: Option<String> = None;
        let mut pages = 0;
        loop {
            let request = PageRequest::parse("scope", token.as_deref(), None).unwrap();
            let (page, next) = request.slice("scope", &items);
            seen.extend_from_slice(page);
            pages += 1;
            match next {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, items);
        assert_eq!(pages, 3);
    }

    #[test]
    fn rejects_tokens_from_another_listing_and_bad_sizes() {
        let token = encode_token("ListComments/1111111111", 25);
        assert!(PageRequest::parse("ListComments/2222222222", Some(&token), None).is_err());
        assert!(PageRequest::parse("scope", Some("zz"), None).is_err());
        assert!(PageRequest::parse("scope", None, Some(0)).is_err());
        assert!(PageRequest::parse("scope", None, Some(26)).is_err());
        assert!(PageRequest::parse("scope", None, Some(25)).is_ok());
    }
}
