//! Variables and secrets granted to this endpoint.

/// The value of `name`, or `None` when it is not granted to this endpoint.
pub fn get(name: &str) -> Option<String> {
    crate::bindings::gatehouse::endpoint::config::get(name)
}
