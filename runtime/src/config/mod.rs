//! `platform.toml`, typed: what the operator declares and the defaults that fill the gaps.

mod allowed_host;
mod cidr;
mod cors;
mod database;
mod duration;
mod endpoints;
mod error;
mod manifest;
mod outbound;
mod platform;
mod policy;
mod route;
mod secret;
mod server;
mod session;

pub use allowed_host::AllowedHost;
pub use cidr::Cidr;
pub use cors::{AllowedOrigins, CorsPolicy};
pub use database::{DbLimits, PgIsolation};
pub use duration::parse_duration;
pub use error::ConfigError;
pub use manifest::{AppManifest, MANIFEST_FILE, valid_name};
pub use outbound::OutboundSettings;
pub use platform::{
    DeploySection, EndpointConfig, Limits, LogFormat, Overrides, PlatformConfig, PlatformSection, SandboxSection,
};
pub use policy::{
    AdminConfig, AuthMode, EndpointPolicy, FailMode, RateKey, RateLimitRule, RateLimitSection, SignaturePolicy,
    SignatureScheme, UploadPolicy,
};
pub use route::{Method, RoutePattern};
pub use secret::Secret;
pub use server::ServerSection;
pub use session::{JwtAlgorithm, SessionConfig, SessionKey};
