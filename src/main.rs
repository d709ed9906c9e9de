//! The `ensemble` command.

fn main() {
    eprintln!("ensemble: the server command is being built; see README.md");
    std::process::exit(2);
}
