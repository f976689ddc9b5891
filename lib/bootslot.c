/* bootslot.c - a host-wide limit on how many VMs boot at once (flock()ed slot files) */
#include "bootslot.h"
#include "macro.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int boot_slot_dir(char buf[static 4096])
{
	const char *root = getenv("QVM_RUNTIME_ROOT");
	int n = snprintf(buf, 4096, "%s/boot-slots", root && *root ? root : "/run/qvm");

	return n < 0 || n >= 4096 ? -ENAMETOOLONG : 0;
}

/* Open (creating) slot file @i in @dir and try to lock it; the fd, or negative errno. */
static int slot_lock(const char *dir, int i)
{
	char path[4096];
	_cleanup_close_ int fd = -1;

	if (snprintf(path, sizeof(path), "%s/%d", dir, i) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0660);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return TAKE_FD(fd);
}

int boot_slot_try(const char *dir, int n, int *slot)
{
	int fd;

	if (n < 1)
		return -EINVAL;
	if (mkdir(dir, 0770) < 0 && errno != EEXIST)
		return -errno;
	for (int i = 0; i < n; i++) {
		fd = slot_lock(dir, i);
		if (fd >= 0) {
			*slot = i;
			return fd;
		}
		if (fd != -EAGAIN)
			return fd;
	}
	return -EAGAIN;
}

int boot_slot_make(const char *dir, int n)
{
	char path[4096];

	/* Modes set explicitly: qvm@.service's UMask=0077 would leave 0700 and 0600, and every
	 * VM's own uid must reach and open the slots. */
	if (mkdir(dir, 0755) == 0) {
		if (chmod(dir, 0755) < 0)
			return -errno;
	} else if (errno != EEXIST)
		return -errno;
	for (int i = 0; i < n; i++) {
		_cleanup_close_ int fd = -1;

		if (snprintf(path, sizeof(path), "%s/%d", dir, i) >= (int)sizeof(path))
			return -ENAMETOOLONG;
		fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0)
			return -errno;
		if (fchmod(fd, 0644) < 0)
			return -errno;
	}
	return 0;
}

int boot_slot_default(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 1024 ? 1024 : (int)n;
}
