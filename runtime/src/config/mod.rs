//! `platform.toml`, typed: what the operator declares and the defaults that fill the gaps.

mod duration;
mod error;
mod manifest;
mod platform;
mod policy;
mod route;
mod secret;
mod server;

pub use duration::parse_duration;
pub use error::ConfigError;
pub use manifest::{AppManifest, MANIFEST_FILE, valid_name};
pub use platform::{
    DeploySection, EndpointConfig, Limits, LogFormat, Overrides, PlatformConfig, PlatformSection, SandboxSection,
};
pub use policy::{
    AdminConfig, AllowedOrigins, AuthMode, CorsPolicy, EndpointPolicy, FailMode, JwtAlgorithm, RateKey, RateLimitRule,
    RateLimitSection, SessionConfig, SessionKey, SignaturePolicy, SignatureScheme, UploadPolicy,
};
pub use route::{Method, RoutePattern};
pub use secret::Secret;
pub use server::ServerSection;
