//! How the single-file example programs end on a command line clap
//! refuses.

/// Ends the program `program` on the clap error `e`: `--help` (and
/// `--version`) print and exit 0; a bad argument is clap's first paragraph
/// on one line of stderr, `program: … (see --help)`, and exit status 2.
pub(crate) fn usage_exit(program: &str, e: &clap::Error) -> ! {
    if !e.use_stderr() {
        let _ = e.print();
        std::process::exit(0);
    }
    // clap's first paragraph, on one line.
    let text = e.render().to_string();
    let what: Vec<&str> = text
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let what = what.join(" ");
    let what = what.strip_prefix("error: ").unwrap_or(&what);
    eprintln!("{program}: {what} (see --help)");
    std::process::exit(2);
}
