/* qemu_host.c - the facts about this host that shape QEMU's command line: arch, KVM, firmware, disk formats */
#include "qemu_argv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "macro.h"
#include "paths.h"

/* Whether /dev/kvm opens read-write and speaks the stable KVM API. */
static bool kvm_usable(void)
{
	_cleanup_close_ int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	return fd >= 0 && ioctl(fd, KVM_GET_API_VERSION, 0) == KVM_API_VERSION;
}

int qemu_host_probe(struct qemu_host *h)
{
	const char *fw = getenv("QVM_FIRMWARE_DIR");

	*h = (struct qemu_host){
		.host_arch = config_host_arch(),
		.kvm_usable = kvm_usable(),
		.firmware_dir = fw && *fw ? fw : "/usr/share/qemu/firmware",
		.sandbox = true, /* Debian's QEMU is built with seccomp */
		.qmp_listen_fd = -1,
	};
	return 0;
}

const char *qemu_disk_format(const char *path)
{
	static const char qcow2_magic[4] = { 'Q', 'F', 'I', '\xfb' };
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	char magic[4];

	if (fd < 0)
		return NULL;
	if (read(fd, magic, sizeof(magic)) == sizeof(magic) && memcmp(magic, qcow2_magic, 4) == 0)
		return "qcow2";
	return "raw";
}

/* Read the recorded format in @record into @ret; -ENOENT if there is none. */
static int read_format_record(const char *record, const char **ret)
{
	_cleanup_close_ int fd = open(record, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char buf[16] = "";
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return -errno;
	if (strcmp(buf, "qcow2\n") == 0)
		*ret = "qcow2";
	else if (strcmp(buf, "raw\n") == 0)
		*ret = "raw";
	else
		return -EBADMSG;
	return 0;
}

/* Write "@format\n" to @record atomically (temp file, fsync, rename). */
static int write_format_record(const char *record, const char *format)
{
	char tmp[4200];
	_cleanup_close_ int fd = -1;
	int r = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", record) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (dprintf(fd, "%s\n", format) < 0 || fsync(fd) < 0 || rename(tmp, record) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

int vm_disk_format(const struct vm_config *c, const struct vm_paths *p, const char **ret)
{
	char record[4200];
	int r;

	if (!c->image_disk) {
		*ret = "qcow2";   /* the overlay qvm-image creates */
		return 0;
	}
	if (c->image_disk_format != IMAGE_DISK_AUTO) {
		*ret = c->image_disk_format == IMAGE_DISK_RAW ? "raw" : "qcow2";
		return 0;
	}
	if (snprintf(record, sizeof(record), "%s/disk.format", p->state_dir) >= (int)sizeof(record))
		return -ENAMETOOLONG;
	r = read_format_record(record, ret);
	if (r != -ENOENT)
		return r;
	*ret = qemu_disk_format(p->disk);
	if (!*ret)
		return -errno;
	return write_format_record(record, *ret);
}
