//! `gatehouse:endpoint/log`: guest log lines, into the platform log inside the
//! request's span (which names its tenant, route and id). Bounded per request.

use wasmtime::component::{HasData, Linker};

use crate::capabilities::wit_log as wit;

/// How many lines one request may log; past it lines are dropped (and that is logged once).
pub(crate) const MAX_LOG_LINES_PER_REQUEST: u32 = 1000;
/// The longest message kept; a longer one is cut, marked with `…`.
pub(crate) const MAX_LOG_MESSAGE_BYTES: usize = 8 * 1024;

/// Per-request state: how much has been logged.
#[derive(Default)]
pub(crate) struct LogState {
    lines: u32,
}

impl wit::Host for LogState {
    fn log(&mut self, level: wit::Level, message: String) {
        self.lines += 1;
        if self.lines > MAX_LOG_LINES_PER_REQUEST {
            if self.lines == MAX_LOG_LINES_PER_REQUEST + 1 {
                tracing::warn!(
                    target: "gatehouse::guest",
                    limit = MAX_LOG_LINES_PER_REQUEST,
                    "guest log lines over the per-request limit; the rest are dropped"
                );
            }
            return;
        }
        let message = truncate(&message, MAX_LOG_MESSAGE_BYTES);
        let message = printable(&message);
        macro_rules! emit {
            ($lvl:ident) => {
                tracing::$lvl!(target: "gatehouse::guest", "{message}")
            };
        }
        match level {
            wit::Level::Trace => emit!(trace),
            wit::Level::Debug => emit!(debug),
            wit::Level::Info => emit!(info),
            wit::Level::Warn => emit!(warn),
            wit::Level::Error => emit!(error),
        }
    }
}

/// A guest's text as one log line: control characters (newlines, carriage
/// returns, terminal escapes) written as `\n`, `\r`, `\u{1b}`…, so a guest can
/// neither forge a log line of the platform's nor repaint an operator's terminal.
pub(crate) fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.into()
}

fn truncate(message: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if message.len() <= max {
        return message.into();
    }
    let mut end = max;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &message[..end]).into()
}

struct LogData;

impl HasData for LogData {
    type Data<'a> = &'a mut LogState;
}

/// Links `gatehouse:endpoint/log`; `get` finds this capability's state in a store's data.
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut LogState,
) -> wasmtime::Result<()> {
    wit::add_to_linker::<T, LogData>(linker, get)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wit::Host;

    #[test]
    fn long_messages_are_cut_on_a_char_boundary() {
        let s = "é".repeat(10);
        let t = truncate(&s, 5);
        assert_eq!(t, "éé…");
        assert_eq!(truncate("short", 10), "short");
    }

    #[test]
    fn control_characters_cannot_forge_lines() {
        assert_eq!(printable("ok line"), "ok line");
        assert_eq!(
            printable("done\n2026-01-01T00:00:00Z  INFO gatehouse::access: forged\r\u{1b}[2J"),
            "done\\n2026-01-01T00:00:00Z  INFO gatehouse::access: forged\\r\\u{1b}[2J"
        );
    }

    #[test]
    fn lines_past_the_limit_are_counted_not_kept() {
        let mut state = LogState::default();
        for _ in 0..MAX_LOG_LINES_PER_REQUEST + 5 {
            state.log(wit::Level::Debug, "x".into());
        }
        assert_eq!(state.lines, MAX_LOG_LINES_PER_REQUEST + 5);
    }
}
