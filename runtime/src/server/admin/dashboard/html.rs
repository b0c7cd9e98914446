//! The dashboard's HTML: escaping (every value a tenant or caller wrote goes
//! through `esc`), the page frame, and small formatters. Plain server-side
//! strings: no template engine, no script in the page itself (the CSP allows
//! only `/ui/app.js`).

use std::fmt::Write;

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};

/// Text made safe for an HTML element or a quoted attribute.
pub(super) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A tenant or app name in a path segment: names are letters, digits and
/// `-`, but escape anyway so a bad one cannot break out.
pub(super) fn seg(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Unix seconds as `2026-12-02 08:21:05 UTC`.
pub(super) fn time(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC", secs / 3600, secs / 60 % 60, secs % 60)
}

/// A hidden CSRF field for a form.
pub(super) fn csrf_field(csrf: &str) -> String {
    format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", esc(csrf))
}

/// A one-button form that posts to `action` (a state change, with the CSRF token).
pub(super) fn button(action: &str, csrf: &str, label: &str, fields: &[(&str, &str)], class: &str) -> String {
    let mut out = format!("<form method=\"post\" action=\"{}\" class=\"inline\">{}", esc(action), csrf_field(csrf));
    for (name, value) in fields {
        let _ = write!(out, "<input type=\"hidden\" name=\"{}\" value=\"{}\">", esc(name), esc(value));
    }
    let _ = write!(out, "<button type=\"submit\" class=\"{class}\">{}</button></form>", esc(label));
    out
}

/// The page frame around `body`: title, navigation (when signed in) and the
/// assets. `csrf` is the session's token, for the sign-out button.
pub(super) fn page(title: &str, csrf: Option<&str>, body: &str) -> String {
    let nav = match csrf {
        Some(csrf) => format!(
            "<nav><a href=\"/\" class=\"brand\">Gatehouse</a><a href=\"/\">Tenants</a><a href=\"/ui/limits\">Limits</a>{}</nav>",
            button("/logout", csrf, "Sign out", &[], "link")
        ),
        None => "<nav><span class=\"brand\">Gatehouse</span></nav>".to_string(),
    };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} · Gatehouse</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <link rel=\"stylesheet\" href=\"/ui/app.css\"><script src=\"/ui/app.js\" defer></script></head>\
         <body>{nav}<main>{body}</main></body></html>",
        esc(title)
    )
}

/// An HTML answer with the dashboard's headers: no caching, no framing
/// (clickjacking), no referrer to other sites (a same-origin one keeps
/// the browser's `Origin` on our forms real, not `null`), and a CSP that runs only our own script.
pub(super) fn respond(status: StatusCode, html: String) -> Response {
    let mut response = Response::new(Body::from(html));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    secure(headers);
    response
}

/// The headers every dashboard answer carries.
pub(super) fn secure(headers: &mut http::HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
}

/// 303 to `to` (after a form's state change, so a reload does not repeat it).
pub(super) fn see_other(to: &str) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(v) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    secure(response.headers_mut());
    response
}

/// A notice box: `ok` (green) or an error (red).
pub(super) fn notice(ok: bool, text: &str) -> String {
    format!("<p class=\"notice {}\" role=\"status\">{}</p>", if ok { "ok" } else { "error" }, esc(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_could_break_out_and_formats_times() {
        assert_eq!(esc("<script>\"x\"&'y'</script>"), "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;");
        assert_eq!(seg("a b/c"), "a+b%2Fc");
        assert_eq!(time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(time(1_764_663_665), "2025-12-02 08:21:05 UTC");
        assert_eq!(time(951_782_400), "2000-02-29 00:00:00 UTC");
    }
}
