//! `gatehouse limits`: every limit this platform.toml gives, from the same
//! table as `GET /admin/v1/limits` and the README's limits table.

use crate::config::{Overrides, PlatformConfig};
use crate::limit_table::{limits, markdown, text};

pub(super) fn print(
    config: Result<PlatformConfig, String>,
    as_markdown: bool,
    as_json: bool,
    defaults: bool,
) -> std::process::ExitCode {
    let config = if defaults {
        PlatformConfig::parse(std::path::Path::new("platform.toml"), "", &Overrides::default())
            .map_err(|e| e.to_string())
    } else {
        config
    };
    let config = match config {
        Ok(c) => c,
        Err(e) => return super::fail(e),
    };
    let rows = limits(&config);
    if as_json {
        println!("{}", serde_json::to_string_pretty(&rows).unwrap_or_default());
    } else if as_markdown {
        print!("{}", markdown(&rows));
    } else {
        print!("{}", text(&rows));
    }
    std::process::ExitCode::SUCCESS
}
