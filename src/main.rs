fn main() -> std::process::ExitCode {
    hopscope::cli::main()
}
