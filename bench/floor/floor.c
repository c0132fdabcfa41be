/*
 * floor: the least work that `launcher run` has to do, written as plainly as
 * possible, so the benchmark can say how far the launcher is from the kernel's
 * own cost.  Not a runtime: no /dev, no init, no signal forwarding, no cgroup.
 *
 *   floor ROOTFS CMD [ARGS...]
 *
 * clone(NEWUSER|NEWPID|NEWNS|NEWUTS|NEWIPC); the parent writes the id maps
 * (identity when root, caller -> 0 otherwise) and releases the child over a
 * pipe; the child makes / private, binds ROOTFS onto itself, mounts /proc,
 * pivot_roots into it and execs CMD as PID 1.  The parent waits and exits
 * with CMD's status (128+N for signal N), like the launcher.
 *
 * Built with `cc -O2 -static`: a dynamic binary would spend most of its
 * time in the loader, and the point is to measure the kernel.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *step, const char *path)
{
	int err = errno;
	fprintf(stderr, "floor: %s %s: %s\n", step, path ? path : "", strerror(err));
	_exit(err == ENOENT ? 127 : err == EACCES ? 126 : 125);
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		die("open", path);
	size_t len = strlen(text);
	if (write(fd, text, len) != (ssize_t)len)
		die("write", path);
	close(fd);
}

static void child(int ready, const char *rootfs, char **argv)
{
	char c, proc[4096];

	/* Blocks until the parent has written our maps: before that we hold no
	 * capability in the new user namespace and every mount would fail. */
	if (read(ready, &c, 1) != 1)
		die("read", "sync pipe (parent gone?)");
	close(ready);

	if (sethostname("floor", 5) < 0)
		die("sethostname", "floor");
	/* Without this, our mounts would propagate back to the host's / when
	 * it is shared (systemd's default), and pivot_root would refuse. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("make private", "/");
	/* pivot_root wants the new root to be a mount point. */
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		die("bind", rootfs);
	if (snprintf(proc, sizeof proc, "%s/proc", rootfs) >= (int)sizeof proc) {
		errno = ENAMETOOLONG;
		die("mount proc", rootfs);
	}
	if (mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		die("mount proc", proc);
	if (chdir(rootfs) < 0)
		die("chdir", rootfs);
	/* pivot_root(".", ".") stacks the old root on top of the new one;
	 * detaching "." afterwards drops it without needing a put_old dir. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		die("pivot_root", rootfs);
	if (umount2(".", MNT_DETACH) < 0)
		die("detach old root", "/");
	if (chdir("/") < 0)
		die("chdir", "/");
	execv(argv[0], argv);
	die("exec", argv[0]);
}

int main(int argc, char **argv)
{
	int sync[2];
	char path[64], map[64];
	uid_t uid = getuid();
	gid_t gid = getgid();

	if (argc < 3 || argv[1][0] != '/') {
		fprintf(stderr, "usage: floor /ABSOLUTE/ROOTFS CMD [ARGS...]\n");
		return 125;
	}
	if (pipe2(sync, O_CLOEXEC) < 0)
		die("pipe2", NULL);

	/* Raw clone without a new stack behaves like fork(): the child runs on
	 * a copy of our stack, which is all it needs before it execs. */
	long pid = syscall(SYS_clone, CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS |
					      CLONE_NEWUTS | CLONE_NEWIPC | SIGCHLD,
			   NULL, NULL, NULL, NULL);
	if (pid < 0)
		die("clone", "user,pid,mnt,uts,ipc namespaces");
	if (pid == 0) {
		close(sync[1]);
		child(sync[0], argv[1], argv + 2);
	}
	close(sync[0]);

	snprintf(path, sizeof path, "/proc/%ld/uid_map", pid);
	if (uid == 0)
		write_file(path, "0 0 4294967295\n");
	else {
		snprintf(map, sizeof map, "0 %u 1\n", (unsigned)uid);
		write_file(path, map);
	}
	if (uid != 0) {
		/* An unprivileged gid_map is accepted only after setgroups is denied. */
		snprintf(path, sizeof path, "/proc/%ld/setgroups", pid);
		write_file(path, "deny\n");
	}
	snprintf(path, sizeof path, "/proc/%ld/gid_map", pid);
	if (uid == 0)
		write_file(path, "0 0 4294967295\n");
	else {
		snprintf(map, sizeof map, "0 %u 1\n", (unsigned)gid);
		write_file(path, map);
	}
	if (write(sync[1], "G", 1) != 1)
		die("write", "sync pipe");
	close(sync[1]);

	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid", NULL);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
