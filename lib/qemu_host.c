/* qemu_host.c - the facts about this host that shape QEMU's command line: arch, KVM, firmware, disk formats */
#include "qemu_argv.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "macro.h"

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
		.monitor_listen_fd = -1,
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
