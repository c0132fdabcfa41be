//! The OCI runtime commands (create, start, state, kill, delete, run, exec,
//! ...), which engines such as podman, containerd and docker call, each verb
//! a new process. JSON is parsed only on this path: `launcher run` never
//! pays for it.

pub(crate) mod exec;
pub(crate) mod process;
pub(crate) mod state;
