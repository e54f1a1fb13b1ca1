//! The `hopscope` binary: a thin entry point; everything it does is in the library's `cli`.

fn main() -> std::process::ExitCode {
    hopscope::cli::main()
}
