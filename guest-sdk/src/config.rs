//! Variables and secrets granted to this endpoint.

/// The value of `name`, or `None` when it is not granted to this endpoint.
pub fn get(name: &str) -> Option<String> {
    crate::host::config::get(name)
}
