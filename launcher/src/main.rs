//! launcher: run a command in a new container. The program is the library
//! (lib.rs); see README.md, "How it works".

fn main() {
    launcher::main()
}
