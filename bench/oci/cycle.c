// cycle: one OCI bundle cycle, create + start + wait + delete, the way an
// engine's monitor (conmon, containerd's shim) drives a runtime.
//
//   cycle RUNTIME ROOT BUNDLE ID [GLOBAL-OPTION...]
//
// runs, each to its end:
//   RUNTIME GLOBAL-OPTION... --root ROOT create --bundle BUNDLE --pid-file ROOT.ID.pid ID
//   RUNTIME GLOBAL-OPTION... --root ROOT start ID
//   (waits for the container's process, named by the pid file)
//   RUNTIME GLOBAL-OPTION... --root ROOT delete ID
//
// Like conmon and the shim, cycle is a child subreaper: when `create` exits,
// the container's process (and whatever else the runtime leaves running, such
// as launcher's holder) becomes cycle's child, so cycle waits for it with
// waitpid: no polling of `state`. At the end it reaps every process it
// adopted, so the cycle is over only when nothing of the runtime runs. It
// exits 0 when every step exited 0 and the container's command exited 0, and
// 1, with one line on stderr, otherwise. Static musl (bench/floor/build.sh),
// so its own start-up is one small exec.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

// A runtime that leaves a process running after `delete` would make cycle
// wait for ever; this bounds it, and names the process.
#define LINGER_SECONDS 10

static const char *runtime;

// CYCLE_TIMES=1: each step's wall time on stderr, to see where a cycle goes.
static int show_times;
static struct timespec mark;

static void lap(const char *what) {
    if (!show_times)
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long us = (now.tv_sec - mark.tv_sec) * 1000000L + (now.tv_nsec - mark.tv_nsec) / 1000;
    fprintf(stderr, "cycle: %-8s %6ld us\n", what, us);
    mark = now;
}

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "cycle: %s: ", runtime ? runtime : "?");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static const char *describe(int status, char *buf, size_t len) {
    if (WIFEXITED(status))
        snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(buf, len, "wait status %#x", status);
    return buf;
}

// Runs argv to its end; the runtime's own exit status, not its children's.
static void step(char **argv, const char *verb) {
    pid_t pid = fork();
    if (pid < 0)
        die("fork for %s: %s", verb, strerror(errno));
    if (pid == 0) {
        execvp(argv[0], argv);
        fprintf(stderr, "cycle: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            die("waitpid for %s: %s", verb, strerror(errno));
    char buf[64];
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        die("%s failed: %s", verb, describe(status, buf, sizeof buf));
}

static pid_t read_pid_file(const char *path) {
    char buf[32];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        die("create exited 0 but its pid file %s cannot be read: %s", path, strerror(errno));
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        die("the pid file %s is empty", path);
    buf[n] = 0;
    char *end;
    long pid = strtol(buf, &end, 10);
    if (pid <= 0 || (*end && *end != '\n'))
        die("the pid file %s holds no pid: %s", path, buf);
    return (pid_t)pid;
}

static void on_alarm(int sig) {
    (void)sig;
    // waitpid below returns EINTR, and cycle names what still runs.
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: cycle RUNTIME ROOT BUNDLE ID [GLOBAL-OPTION...]\n");
        return 2;
    }
    runtime = argv[1];
    show_times = getenv("CYCLE_TIMES") != NULL;
    clock_gettime(CLOCK_MONOTONIC, &mark);
    const char *root = argv[2], *bundle = argv[3], *id = argv[4];
    int globals = argc - 5;
    char **global = argv + 5;

    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
        die("prctl(PR_SET_CHILD_SUBREAPER): %s", strerror(errno));

    char pid_file[4096];
    if ((size_t)snprintf(pid_file, sizeof pid_file, "%s.%s.pid", root, id) >= sizeof pid_file)
        die("the pid file's path (ROOT.ID.pid) is too long");
    if (unlink(pid_file) < 0 && errno != ENOENT)
        die("cannot remove the stale pid file %s: %s", pid_file, strerror(errno));

    // RUNTIME GLOBAL... --root ROOT VERB [--bundle B --pid-file F] ID NULL
    char *args[globals + 12];
    int n = 0;
    args[n++] = (char *)runtime;
    for (int i = 0; i < globals; i++)
        args[n++] = global[i];
    args[n++] = "--root";
    args[n++] = (char *)root;
    int verb_at = n;

    int k = verb_at;
    args[k++] = "create";
    args[k++] = "--bundle";
    args[k++] = (char *)bundle;
    args[k++] = "--pid-file";
    args[k++] = pid_file;
    args[k++] = (char *)id;
    args[k] = NULL;
    step(args, "create");
    lap("create");

    pid_t container = read_pid_file(pid_file);
    unlink(pid_file);

    k = verb_at;
    args[k++] = "start";
    args[k++] = (char *)id;
    args[k] = NULL;
    step(args, "start");
    lap("start");

    // The container's process is ours by adoption (create has exited). A
    // runtime that kept it as its own child somewhere would show as ECHILD.
    int status;
    while (waitpid(container, &status, 0) < 0)
        if (errno != EINTR)
            die("waitpid for the container's process (pid %d from the pid file): %s; the runtime did not leave it "
                "to its caller (a subreaper)",
                (int)container, strerror(errno));
    char buf[64];
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        die("the container's command failed: %s", describe(status, buf, sizeof buf));

    lap("wait");

    k = verb_at;
    args[k++] = "delete";
    args[k++] = (char *)id;
    args[k] = NULL;
    step(args, "delete");
    lap("delete");

    // Everything else the runtime left to us (exited or exiting).
    struct sigaction sa = {.sa_handler = on_alarm};
    sigaction(SIGALRM, &sa, NULL);
    alarm(LINGER_SECONDS);
    for (;;) {
        pid_t pid = waitpid(-1, &status, 0);
        if (pid > 0)
            continue;
        if (errno == ECHILD)
            break;
        if (errno == EINTR) {
            // Name them: the children of cycle's one thread, adopted ones included.
            char pids[256] = "?", path[64];
            snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd >= 0) {
                ssize_t r = read(fd, pids, sizeof pids - 1);
                pids[r > 0 ? r : 0] = 0;
                close(fd);
            }
            die("processes of the runtime still run %d s after delete (pids: %s)", LINGER_SECONDS, pids);
        }
        die("waitpid: %s", strerror(errno));
    }
    lap("reap");
    return 0;
}
