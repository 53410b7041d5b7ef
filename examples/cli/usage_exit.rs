//! How the example programs end on a command line clap refuses.
#![allow(dead_code)]

/// Ends the program `program` on the clap error `e`: `--help` (and
/// `--version`) print and exit 0; a bad argument is [`usage_line`] on
/// stderr and exit status 2.
pub(crate) fn usage_exit(program: &str, e: &clap::Error) -> ! {
    if !e.use_stderr() {
        let _ = e.print();
        std::process::exit(0);
    }
    eprintln!("{}", usage_line(program, e));
    std::process::exit(2);
}

/// Ends the program `program` on a command line clap accepted but the
/// program refuses: `what` as [`usage_line`]'s one line, exit status 2.
pub(crate) fn usage_refused(program: &str, what: &str) -> ! {
    eprintln!("{}", line(program, what));
    std::process::exit(2);
}

/// What is wrong with a command line, as one line: clap's first paragraph,
/// `program: … (see --help)`.
pub(crate) fn usage_line(program: &str, e: &clap::Error) -> String {
    let text = e.render().to_string();
    let what: Vec<&str> = text
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let what = what.join(" ");
    let what = what.strip_prefix("error: ").unwrap_or(&what);
    line(program, what)
}

/// The one line of a usage error: `program: what (see --help)`.
fn line(program: &str, what: &str) -> String {
    format!("{program}: {what} (see --help)")
}
