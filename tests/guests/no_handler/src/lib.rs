//! A component that exports nothing: the platform must refuse to start with it.

#[unsafe(no_mangle)]
pub extern "C" fn unrelated(x: i32) -> i32 {
    x + 1
}
