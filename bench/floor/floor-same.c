/*
 * floor-same: the container that `launcher run` builds with its defaults, built
 * by the plainest program that can: the benchmark's floor for the same work.
 *
 *   floor-same CONFIG ROOTFS CMD [ARGS...]
 *
 * CONFIG is the record the launcher itself would send its init (written by
 * `cargo run --example floor-config --features floor-config -- CONFIG`): the
 * capability set, the hardening flags and the seccomp filter are read from it,
 * so the floor loads the launcher's very filter bytes. Its mount ops are not
 * read: the mounts below are written out here, in init's order, and the test
 * launcher/tests/floor.rs checks that the two containers look alike inside.
 *
 * Same as `launcher run`: new user, PID, mount, UTS and IPC namespaces; the
 * identity id map as root (the caller as root inside otherwise); hostname
 * "container"; / made rprivate; the rootfs bound onto itself; /proc; a /dev
 * tmpfs with the host's device nodes bound in, devpts, /dev/shm and the links;
 * /sys read-only all the way down; docker's masked and read-only paths; a tmpfs
 * /tmp only if the rootfs's is not writable; pivot_root; the bounding set,
 * no_new_privs, the filter, the capability sets; exec CMD with docker's clean
 * environment.
 *
 * Not the same, on purpose: CMD is PID 1 itself (no init that reaps and
 * forwards signals), nothing reports an error but die(), no channel, no
 * event loop. Built static with musl (bench/floor/build.sh): no C library
 * start-up cost to hide the launcher's behind.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Not every libc's headers have these yet (musl 1.2.3 does not). */
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#define MOUNT_ATTR_RDONLY 0x1
#define MOUNT_ATTR_NOSUID 0x2
#define MOUNT_ATTR_NODEV 0x4
#define MOUNT_ATTR_NOEXEC 0x8
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#define SECCOMP_SET_MODE_FILTER 1
#define SECCOMP_FILTER_FLAG_SPEC_ALLOW 4
#define LINUX_CAPABILITY_VERSION_3 0x20080522
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

/* The config record's flags (README, "The config record"). */
#define DROP_CAPS 1
#define NO_NEW_PRIVS 2
#define SECCOMP 4

struct mount_attr {
	uint64_t attr_set, attr_clr, propagation, userns_fd;
};

struct sock_filter_prog {
	unsigned short len;
	const void *filter;
};

static void die(const char *step, const char *path)
{
	int err = errno;
	fprintf(stderr, "floor-same: %s %s: %s\n", step, path ? path : "", strerror(err));
	_exit(err == ENOENT ? 127 : err == EACCES ? 126 : 125);
}

/* ------------------------------------------------------------ the container's mounts
 * In init's order (init/src/main.rs setup_mounts, then launcher/src/mounts.rs's
 * ops). Targets are relative to the rootfs, our cwd until pivot_root. */

static void mount_or_die(const char *src, const char *dst, const char *fstype, unsigned long flags,
			 const char *data)
{
	if (mount(src, dst, fstype, flags, data) < 0)
		die("mount", dst);
}

/* Device nodes cannot be made in a user namespace: the host's are bound over empty files. */
static const char *const devices[] = {"null", "zero", "full", "random", "urandom", "tty"};

/* Pairs of symlink target, link. */
static const char *const dev_links[][2] = {
	{"pts/ptmx", "dev/ptmx"},	  {"/proc/self/fd", "dev/fd"},	   {"/proc/self/fd/0", "dev/stdin"},
	{"/proc/self/fd/1", "dev/stdout"}, {"/proc/self/fd/2", "dev/stderr"},
};

/* docker's masked and read-only paths (launcher/src/mounts.rs). */
static const char *const masked_dirs[] = {"proc/asound", "proc/acpi", "proc/scsi", "sys/firmware",
					  "sys/devices/virtual/powercap"};
static const char *const masked_files[] = {"proc/kcore",      "proc/keys",	  "proc/latency_stats",
					   "proc/timer_list", "proc/timer_stats", "proc/sched_debug"};
static const char *const read_only[] = {"proc/bus", "proc/fs", "proc/irq", "proc/sys", "proc/sysrq-trigger"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int setattr(const char *path, unsigned flags, uint64_t attrs)
{
	struct mount_attr attr = {.attr_set = attrs};
	return syscall(SYS_mount_setattr, AT_FDCWD, path, flags, &attr, sizeof attr);
}

/* An empty tmpfs, read-only as a mount but not as a filesystem, as init's
 * fsmount() with MOUNT_ATTR_RDONLY makes it. */
static int empty_tmpfs(const char *path)
{
	if (mount("none", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return -1;
	return setattr(path, 0, MOUNT_ATTR_RDONLY);
}

static void container_mounts(void)
{
	char path[64];
	size_t i;

	/* Init makes its filesystems with fsopen and sets no source: "none". */
	mount_or_die("none", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);

	mount_or_die("none", "dev", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755,size=64m");
	for (i = 0; i < COUNT(devices); i++) {
		/* "/dev/null" is the host's node (we have not pivoted yet), "dev/null" ours. */
		snprintf(path, sizeof path, "/dev/%s", devices[i]);
		if (mknod(path + 1, S_IFREG | 0666, 0) < 0)
			die("create", path + 1);
		mount_or_die(path, path + 1, NULL, MS_BIND, NULL);
	}
	mkdir("dev/pts", 0755);
	mount_or_die("none", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "ptmxmode=0666,mode=0620");
	if (mkdir("dev/shm", 0755) < 0)
		die("mkdir", "dev/shm");
	for (i = 0; i < COUNT(dev_links); i++)
		if (symlink(dev_links[i][0], dev_links[i][1]) < 0)
			die("symlink", dev_links[i][1]);

	mount_or_die("/sys", "sys", NULL, MS_BIND | MS_REC, NULL);
	if (setattr("sys", AT_RECURSIVE, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC) < 0)
		die("mount_setattr", "sys");

	/* docker's /dev/shm: a tmpfs of its own (launcher: --shm-size). */
	mount_or_die("none", "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=64m");

	/* Entries this kernel lacks are skipped, as init does. The masked
	 * directories share one empty tmpfs: the first is mounted, the rest bind it. */
	const char *first = NULL;
	for (i = 0; i < COUNT(masked_dirs); i++) {
		int r = first ? mount(first, masked_dirs[i], NULL, MS_BIND, NULL)
			      : empty_tmpfs(masked_dirs[i]);
		if (r < 0 && errno != ENOENT)
			die("mask", masked_dirs[i]);
		if (r == 0 && !first)
			first = masked_dirs[i];
	}
	for (i = 0; i < COUNT(masked_files); i++)
		if (mount("/dev/null", masked_files[i], NULL, MS_BIND | MS_REC, NULL) < 0 && errno != ENOENT)
			die("mask", masked_files[i]);
	for (i = 0; i < COUNT(read_only); i++) {
		if (mount(read_only[i], read_only[i], NULL, MS_BIND | MS_REC, NULL) < 0) {
			if (errno == ENOENT)
				continue;
			die("bind", read_only[i]);
		}
		if (setattr(read_only[i], AT_RECURSIVE, MOUNT_ATTR_RDONLY) < 0)
			die("mount_setattr", read_only[i]);
	}

	/* --cgroupns private without limits: a cgroup namespace, and an empty
	 * read-only /sys/fs/cgroup (the container has no cgroup of its own), a
	 * bind of the masks' tmpfs as init makes it. */
	if (unshare(CLONE_NEWCGROUP) < 0)
		die("unshare", "cgroup namespace");
	if (mount(first, "sys/fs/cgroup", NULL, MS_BIND, NULL) < 0) /* the masks' empty tmpfs */
		die("mount", "sys/fs/cgroup");

	if (faccessat(AT_FDCWD, "tmp", W_OK, 0) < 0)
		mount_or_die("none", "tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
}

/* ------------------------------------------------------------ the config record */

struct hardening {
	uint64_t caps;
	uint32_t flags;
	unsigned short filter_len; /* instructions of 8 bytes */
	const unsigned char *filter;
};

static uint64_t le(const unsigned char *p, int n)
{
	uint64_t v = 0;
	while (n--)
		v = v << 8 | p[n];
	return v;
}

/* The head (32 bytes): 'C' 0 groups(u16) flags(u32) caps(u64) uid(u32)
 * gid(u32) rows(u16) cols(u16) 0(u32); then groups*4 bytes of gids,
 * rootfs\0 hostname\0 workdir\0 n(u16) n*8 filter bytes, then the mount ops
 * (unread). The floor's container is the default one: its command stays
 * root, so the user (unset there) is not read either. */
static struct hardening read_config(const char *path)
{
	static unsigned char buf[65536];
	struct hardening h;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("open", path);
	ssize_t n = read(fd, buf, sizeof buf);
	close(fd);
	if (n < 32 || buf[0] != 'C') {
		errno = EINVAL;
		die("config record", path);
	}
	h.flags = le(buf + 4, 4);
	h.caps = le(buf + 8, 8);
	ssize_t at = 32 + 4 * (ssize_t)le(buf + 2, 2);
	for (int text = 0; text < 3; text++) {
		while (at < n && buf[at])
			at++;
		at++;
	}
	if (at + 2 > n) {
		errno = EINVAL;
		die("config record (short)", path);
	}
	h.filter_len = le(buf + at, 2);
	h.filter = buf + at + 2;
	if (at + 2 + 8 * (ssize_t)h.filter_len > n) {
		errno = EINVAL;
		die("config record (short)", path);
	}
	return h;
}

/* As init does it in the command's process: bounding set, no_new_privs, the
 * filter (while we still hold CAP_SYS_ADMIN), then the capability sets. */
static void restrict_process(const struct hardening *h)
{
	if (h->flags & DROP_CAPS)
		for (int cap = 0; cap < 64; cap++)
			if (!(h->caps >> cap & 1) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
				if (errno == EINVAL) /* past the kernel's last capability */
					break;
				die("drop capability", NULL);
			}
	if ((h->flags & NO_NEW_PRIVS) && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die("no_new_privs", NULL);
	if (h->flags & SECCOMP) {
		struct sock_filter_prog prog = {h->filter_len, h->filter};
		if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_SPEC_ALLOW, &prog) < 0)
			die("seccomp", NULL);
	}
	if (h->flags & DROP_CAPS) {
		uint32_t head[2] = {LINUX_CAPABILITY_VERSION_3, 0};
		uint32_t lo = (uint32_t)h->caps, hi = (uint32_t)(h->caps >> 32);
		uint32_t data[6] = {lo, lo, lo, hi, hi, hi};
		if (syscall(SYS_capset, head, data) < 0)
			die("capset", NULL);
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
			die("clear ambient capabilities", NULL);
	}
}

/* ------------------------------------------------------------ the two processes */

static void child(int ready, const char *rootfs, const struct hardening *h, char **argv)
{
	static char *const env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
				    "HOSTNAME=container", "HOME=/root", NULL};
	char c;

	/* Before the parent has written our maps we hold no capability here. */
	if (read(ready, &c, 1) != 1)
		die("read", "sync pipe (parent gone?)");
	close(ready);

	if (sethostname("container", 9) < 0)
		die("sethostname", "container");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("make private", "/");
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		die("bind", rootfs);
	if (chdir(rootfs) < 0)
		die("chdir", rootfs);
	container_mounts();
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		die("pivot_root", rootfs);
	if (umount2(".", MNT_DETACH) < 0)
		die("detach old root", "/");
	if (chdir("/") < 0)
		die("chdir", "/");
	restrict_process(h);
	execve(argv[0], argv, env);
	die("exec", argv[0]);
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

int main(int argc, char **argv)
{
	int sync[2];
	char path[64], map[64];
	uid_t uid = getuid();
	gid_t gid = getgid();

	if (argc < 4 || argv[2][0] != '/') {
		fprintf(stderr, "usage: floor-same CONFIG /ABSOLUTE/ROOTFS CMD [ARGS...]\n");
		return 125;
	}
	struct hardening h = read_config(argv[1]);
	if (pipe2(sync, O_CLOEXEC) < 0)
		die("pipe2", NULL);

	/* Raw clone without a new stack behaves like fork(). */
	long pid = syscall(SYS_clone, CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | SIGCHLD,
			   NULL, NULL, NULL, NULL);
	if (pid < 0)
		die("clone", "user,pid,mnt,uts,ipc namespaces");
	if (pid == 0) {
		close(sync[1]);
		child(sync[0], argv[2], &h, argv + 3);
	}
	close(sync[0]);

	/* As the launcher's IdMap::Root and IdMap::Single. */
	if (uid == 0) {
		snprintf(path, sizeof path, "/proc/%ld/uid_map", pid);
		write_file(path, "0 0 4294967295");
		snprintf(path, sizeof path, "/proc/%ld/gid_map", pid);
		write_file(path, "0 0 4294967295");
	} else {
		snprintf(path, sizeof path, "/proc/%ld/setgroups", pid);
		write_file(path, "deny");
		snprintf(path, sizeof path, "/proc/%ld/uid_map", pid);
		snprintf(map, sizeof map, "0 %u 1", (unsigned)uid);
		write_file(path, map);
		snprintf(path, sizeof path, "/proc/%ld/gid_map", pid);
		snprintf(map, sizeof map, "0 %u 1", (unsigned)gid);
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
