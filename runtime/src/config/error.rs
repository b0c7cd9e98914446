use std::path::PathBuf;

/// A config problem, naming the file, the key or endpoint, and the fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error("cannot read {path}: {source}; pass --config FILE or run from the folder that holds platform.toml")]
    Read {
        /// The config file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// TOML syntax or a value of the wrong type; toml's message names the key and line.
    #[error("{path}: {message}")]
    Parse {
        /// The config file.
        path: PathBuf,
        /// toml's message, with line and column.
        message: String,
    },
    /// A value parsed but makes no sense.
    #[error("{path}: `{key}` {problem}")]
    Invalid {
        /// The config file.
        path: PathBuf,
        /// The dotted key, e.g. `endpoint[2].route`.
        key: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
}
