//! The `gatehouse` binary's main, built inside the test package so black-box
//! tests can run it as a real process (`CARGO_BIN_EXE_gatehouse-under-test`).

fn main() -> std::process::ExitCode {
    gatehouse::cli::main()
}
