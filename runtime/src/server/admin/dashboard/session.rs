//! Signing in to the dashboard: the admin token, typed once into the login
//! form, is exchanged for a session cookie (`HttpOnly`, `SameSite=Strict`,
//! random, kept only in this node's memory), and every state change also
//! carries the session's CSRF token in its form, compared in constant time,
//! and must come from this origin. The token itself never reaches the page.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::request::Parts;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use subtle::ConstantTimeEq;

use super::super::Admin;
use super::html::{notice, page, respond, see_other};

/// The session cookie's name.
const COOKIE: &str = "gatehouse_admin";
/// How long a session lasts from sign-in.
const LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Sessions kept at once; signing in past it ends the oldest. Only holders of
/// the admin token can make one, so this bounds a forgetful operator's
/// browsers, not an attacker.
const MAX_SESSIONS: usize = 64;

/// One signed-in browser.
#[derive(Clone)]
struct Session {
    csrf: String,
    started: Instant,
    /// What the last change said, for the page it redirects to (once).
    flash: Option<Flash>,
}

/// What a change says on the next page: each change answers 303 to a page
/// (so reloading it repeats nothing), which shows this once.
#[derive(Clone, Debug)]
pub(super) enum Flash {
    /// It worked.
    Done(String),
    /// It did not, and why.
    Failed(String),
    /// A new API key: shown on the next page only, never again.
    NewKey(String),
}

/// This node's dashboard sessions.
#[derive(Default)]
pub(in crate::server::admin) struct Sessions {
    by_id: Mutex<HashMap<String, Session>>,
}

/// 32 random bytes as hex.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random source");
    hex::encode(bytes)
}

impl Sessions {
    fn start(&self) -> (String, Session) {
        let id = random_token();
        let session = Session { csrf: random_token(), started: Instant::now(), flash: None };
        let mut by_id = self.by_id.lock().unwrap_or_else(|e| e.into_inner());
        by_id.retain(|_, s| s.started.elapsed() < LIFETIME);
        if by_id.len() >= MAX_SESSIONS
            && let Some(oldest) = by_id.iter().min_by_key(|(_, s)| s.started).map(|(k, _)| k.clone())
        {
            by_id.remove(&oldest);
        }
        by_id.insert(id.clone(), session.clone());
        (id, session)
    }

    fn find(&self, id: &str) -> Option<Session> {
        let by_id = self.by_id.lock().unwrap_or_else(|e| e.into_inner());
        by_id.get(id).filter(|s| s.started.elapsed() < LIFETIME).cloned()
    }

    /// Leaves `flash` for the session's next page.
    pub(super) fn set_flash(&self, id: &str, flash: Flash) {
        if let Some(s) = self.by_id.lock().unwrap_or_else(|e| e.into_inner()).get_mut(id) {
            s.flash = Some(flash);
        }
    }

    /// Takes what the last change said, if anything.
    pub(super) fn take_flash(&self, id: &str) -> Option<Flash> {
        self.by_id.lock().unwrap_or_else(|e| e.into_inner()).get_mut(id).and_then(|s| s.flash.take())
    }

    fn end(&self, id: &str) {
        self.by_id.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
    }
}

/// The session cookie's value, if the request carries one.
fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

/// A signed-in request; extracting it sends a browser without a session to
/// the login page.
pub(super) struct SignedIn {
    /// The session's id (its cookie).
    pub(super) id: String,
    /// The session's CSRF token, for the forms the page renders.
    pub(super) csrf: String,
}

impl FromRequestParts<Arc<Admin>> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, admin: &Arc<Admin>) -> Result<Self, Self::Rejection> {
        let id = cookie(&parts.headers).unwrap_or("");
        match admin.ui.sessions.find(id) {
            Some(s) => Ok(SignedIn { id: id.to_string(), csrf: s.csrf }),
            None => Err(see_other("/login")),
        }
    }
}

/// The most a dashboard form may send (a secret's value is the largest field).
pub(super) const MAX_FORM_BYTES: usize = 64 << 10;

/// A state change from a signed-in browser: its form, read and checked (the
/// session's CSRF token, this origin) before any handler sees it. Refused:
/// the login page for no session, 403 for a forged or stale form.
pub(super) struct Change {
    /// Who is signed in.
    pub(super) signed: SignedIn,
    /// The submitted fields.
    pub(super) form: Form,
}

impl FromRequest<Arc<Admin>> for Change {
    type Rejection = Response;

    async fn from_request(request: Request, admin: &Arc<Admin>) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let signed = SignedIn::from_request_parts(&mut parts, admin).await?;
        let body = axum::body::to_bytes(body, MAX_FORM_BYTES).await.map_err(|_| {
            let refusal = notice(false, "That form is larger than a dashboard form can be.");
            respond(StatusCode::PAYLOAD_TOO_LARGE, page("Refused", Some(&signed.csrf), &refusal))
        })?;
        let form = Form::parse(&body);
        if let Some(refused) = signed.refused(&parts.headers, &form) {
            return Err(refused);
        }
        Ok(Change { signed, form })
    }
}

/// The fields of a submitted form.
pub(super) struct Form(pub(super) HashMap<String, String>);

impl Form {
    pub(super) fn parse(body: &Bytes) -> Self {
        Self(form_urlencoded::parse(body).into_owned().collect())
    }

    /// A field, trimmed; `""` when absent.
    pub(super) fn get(&self, name: &str) -> &str {
        self.0.get(name).map_or("", |v| v.trim())
    }
}

impl SignedIn {
    /// Checks a state change: the form's CSRF token is the session's, and the
    /// browser says it comes from this origin (when it says anything). A
    /// forged form from another site fails both, and `SameSite=Strict` keeps
    /// the cookie off it to begin with. Returns the answer to give instead
    /// when the change is refused.
    fn refused(&self, headers: &HeaderMap, form: &Form) -> Option<Response> {
        let same_token = bool::from(form.get("csrf").as_bytes().ct_eq(self.csrf.as_bytes()));
        if !same_token || !same_origin(headers) {
            let body =
                notice(false, "This form is stale or did not come from this dashboard; reload the page and try again.");
            return Some(respond(StatusCode::FORBIDDEN, page("Refused", Some(&self.csrf), &body)));
        }
        None
    }
}

/// `Origin`, when sent, names this host.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return true };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://")) == Some(host)
}

fn login_page(problem: Option<&str>) -> String {
    let problem = problem.map(|p| notice(false, p)).unwrap_or_default();
    page(
        "Sign in",
        None,
        &format!(
            "<section class=\"login\"><h1>Sign in</h1>{problem}<form method=\"post\" action=\"/login\">\
             <label>Admin token <input type=\"password\" name=\"token\" autocomplete=\"current-password\" autofocus required></label>\
             <button type=\"submit\">Sign in</button></form>\
             <p class=\"hint\">The token of <code>[admin]</code> in platform.toml (or <code>GATEHOUSE_ADMIN_TOKEN</code>). \
             It is exchanged for a session cookie and never kept in the page.</p></section>"
        ),
    )
}

/// `GET /login`.
pub(super) async fn login_form() -> Response {
    respond(StatusCode::OK, login_page(None))
}

/// `POST /login`: the admin token, compared in constant time, for a session.
/// Anyone can reach it, so its body is bounded like every form's (the
/// router's limit: a larger one is 413 before it is read).
pub(super) async fn login(State(admin): State<Arc<Admin>>, body: Bytes) -> Response {
    let form = Form::parse(&body);
    if !bool::from(form.get("token").as_bytes().ct_eq(admin.token.as_bytes())) {
        tracing::warn!(target: "gatehouse::admin", "dashboard sign-in refused: wrong token");
        return respond(StatusCode::UNAUTHORIZED, login_page(Some("That is not the admin token.")));
    }
    let (id, _) = admin.ui.sessions.start();
    tracing::info!(target: "gatehouse::admin", "dashboard sign-in");
    let mut response = see_other("/");
    let cookie = format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}", LIFETIME.as_secs());
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

/// `POST /logout`: ends the session (with its CSRF token, like any change).
pub(super) async fn logout(
    State(admin): State<Arc<Admin>>,
    signed: SignedIn,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = signed.refused(&headers, &Form::parse(&body)) {
        return refused;
    }
    if let Some(id) = cookie(&headers) {
        admin.ui.sessions.end(id);
    }
    let mut response = see_other("/login");
    let expired = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&expired) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_origins_and_sessions() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; gatehouse_admin=abc; b=2"));
        assert_eq!(cookie(&h), Some("abc"));
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8081"));
        assert!(same_origin(&h), "no Origin: a same-origin form post from older browsers");
        h.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:8081"));
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("http://evil.example"));
        assert!(!same_origin(&h));
        let sessions = Sessions::default();
        let (id, s) = sessions.start();
        assert_eq!(sessions.find(&id).unwrap().csrf, s.csrf);
        assert_ne!(id, s.csrf);
        sessions.end(&id);
        assert!(sessions.find(&id).is_none());
        for _ in 0..MAX_SESSIONS + 5 {
            sessions.start();
        }
        assert_eq!(sessions.by_id.lock().unwrap().len(), MAX_SESSIONS);
    }
}
