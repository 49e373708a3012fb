//! The optional bearer token ([`ServerConfig::token`](crate::ServerConfig)): checked on
//! every gRPC call (the `authorization` metadata) and WebSocket upgrade (the header, or
//! the `token` query parameter browsers can set), compared in constant time.

use std::sync::Arc;

use axum::http::HeaderMap;
use tonic::{Request, Status};

use crate::state::State;

/// Whether `a` equals `b`, taking the same time wherever they differ (a token must not
/// leak through timing).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn bearer(value: Option<&str>, token: &str) -> bool {
    value
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .is_some_and(|given| same(given.trim().as_bytes(), token.as_bytes()))
}

/// Whether an HTTP request may go on: no token is configured, or its `authorization`
/// header or `query_token` matches.
pub fn authorized(state: &State, headers: &HeaderMap, query_token: Option<&str>) -> bool {
    let Some(token) = &state.config.token else {
        return true;
    };
    let header = headers.get("authorization").and_then(|v| v.to_str().ok());
    bearer(header, token) || query_token.is_some_and(|q| same(q.as_bytes(), token.as_bytes()))
}

/// A tonic interceptor that refuses calls without the token (UNAUTHENTICATED).
pub fn interceptor(
    state: Arc<State>,
) -> impl Fn(Request<()>) -> Result<Request<()>, Status> + Clone + Send + Sync + 'static {
    move |request: Request<()>| {
        let Some(token) = &state.config.token else {
            return Ok(request);
        };
        let header = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        if bearer(header, token) {
            Ok(request)
        } else {
            state.metrics.error("unauthenticated", "grpc");
            Err(Status::unauthenticated(
                "a bearer token is required (authorization: Bearer <token>)",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_match_exactly() {
        assert!(bearer(Some("Bearer s3cret"), "s3cret"));
        assert!(!bearer(Some("Bearer s3cre"), "s3cret"));
        assert!(!bearer(Some("s3cret"), "s3cret"));
        assert!(!bearer(None, "s3cret"));
    }
}
