//! `platform.toml`, typed: what the operator declares and the defaults that fill the gaps.

mod allowed_host;
mod cidr;
mod cors;
mod database;
mod deploy;
mod duration;
mod endpoints;
mod error;
mod limits;
mod manifest;
mod outbound;
mod overrides;
mod platform;
mod platform_section;
mod policy;
mod route;
mod sandbox;
mod secret;
mod server;
mod session;

pub use allowed_host::AllowedHost;
pub use cidr::Cidr;
pub use cors::{AllowedOrigins, CorsPolicy};
pub use database::{DatabaseSection, DbLimits, PgIsolation};
pub use deploy::DeploySection;
pub use duration::parse_duration;
pub use error::ConfigError;
pub use limits::Limits;
pub use manifest::{AppManifest, MANIFEST_FILE, valid_name};
pub use outbound::OutboundSettings;
pub use overrides::Overrides;
pub use platform::{EndpointConfig, PlatformConfig};
pub use platform_section::{LogFormat, PlatformSection};
pub use policy::{
    AdminConfig, AuthMode, EndpointPolicy, FailMode, RateKey, RateLimitRule, RateLimitSection, SignaturePolicy,
    SignatureScheme, UploadPolicy,
};
pub use route::{Method, RoutePattern};
pub use sandbox::SandboxSection;
pub use secret::Secret;
pub use server::ServerSection;
pub use session::{JwtAlgorithm, SessionConfig, SessionKey};
