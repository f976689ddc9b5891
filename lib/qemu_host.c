/* qemu_host.c - the facts about this host that shape QEMU's command line: arch, KVM, firmware, disk formats */
#include "qemu_argv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"
#include "strv.h"
#include "paths.h"

/* Whether /dev/kvm opens read-write and speaks the stable KVM API. */
static bool kvm_usable(void)
{
	_cleanup_close_ int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	return fd >= 0 && ioctl(fd, KVM_GET_API_VERSION, 0) == KVM_API_VERSION;
}

int qemu_host_probe(struct qemu_host *h)
{
	_cleanup_strv_free_ char **dirs = NULL;

	*h = (struct qemu_host){
		.host_arch = config_host_arch(),
		.kvm_usable = kvm_usable(),
		.sandbox = true, /* Debian's QEMU is built with seccomp */
		.qmp_listen_fd = -1,
		.monitor_listen_fd = -1,
	};
	if (firmware_search_path(&dirs) < 0)
		return -ENOMEM;
	return firmware_load(dirs, &h->firmware);
}

void qemu_host_done(struct qemu_host *h)
{
	firmware_list_free(&h->firmware);
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

/* The Debian package that ships qemu-system-@arch. */
static const char *binary_package(const char *arch)
{
	if (strcmp(arch, "x86_64") == 0 || strcmp(arch, "i386") == 0)
		return "qemu-system-x86";
	if (strcmp(arch, "aarch64") == 0 || strcmp(arch, "arm") == 0)
		return "qemu-system-arm";
	return "qemu-system-misc";
}

const char *qemu_firmware_package(const char *arch)
{
	if (strcmp(arch, "x86_64") == 0 || strcmp(arch, "i386") == 0)
		return "ovmf";
	if (strcmp(arch, "aarch64") == 0)
		return "qemu-efi-aarch64";
	if (strcmp(arch, "arm") == 0)
		return "qemu-efi-arm";
	return NULL;
}

/* Whether @binary (a path, or a name looked up in PATH) is an executable file. */
static bool binary_found(const char *binary)
{
	const char *path = getenv("PATH");

	if (strchr(binary, '/'))
		return access(binary, X_OK) == 0;
	for (const char *p = path ? path : "/usr/bin:/bin"; *p; p += strcspn(p, ":"), p += *p == ':') {
		_cleanup_free_ char *full = NULL;

		if (asprintf(&full, "%.*s/%s", (int)strcspn(p, ":"), p, binary) < 0)
			return false;
		if (access(full, X_OK) == 0)
			return true;
	}
	return false;
}

int qemu_binary_check(const struct vm_config *c, char *buf, size_t size)
{
	char binary[256];

	snprintf(binary, sizeof(binary), "%s", c->qemu_binary ? c->qemu_binary : "");
	if (!c->qemu_binary)
		snprintf(binary, sizeof(binary), "qemu-system-%s", c->arch);
	if (binary_found(binary))
		return 0;
	if (c->qemu_binary)
		snprintf(buf, size, "[qemu] binary = %s does not exist or is not executable", c->qemu_binary);
	else
		snprintf(buf, size, "%s is not installed: apt-get install %s", binary, binary_package(c->arch));
	return -ENOENT;
}

/* Whether `@binary -machine help` lists @machine (as a name or an alias); true when QEMU cannot be asked. */
static bool machine_listed(const char *binary, const char *machine)
{
	char line[512];
	bool found = false, asked = false;
	int pipefd[2];
	pid_t pid;
	FILE *f;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return true;
	pid = fork();
	if (pid == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		execlp(binary, binary, "-machine", "help", (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	f = pid > 0 ? fdopen(pipefd[0], "re") : NULL;
	if (!f)
		close(pipefd[0]);
	while (f && fgets(line, sizeof(line), f)) {
		size_t n = strcspn(line, " \t\n");

		asked = asked || strncmp(line, "Supported machines", 18) == 0;
		found = found || (n == strlen(machine) && strncmp(line, machine, n) == 0);
	}
	if (f)
		fclose(f);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return found || !asked;
}

int qemu_host_check(const struct vm_config *c, const struct qemu_host *host, struct diag_list *errors,
		    struct diag_list *warnings)
{
	_cleanup_diag_list_ struct diag_list build = {};
	char **argv = NULL, msg[512], binary[256];
	struct vm_config relaxed = *c;
	struct qemu_choice choice;
	struct vm_paths paths;

	snprintf(binary, sizeof(binary), "qemu-system-%s", c->arch);
	if (qemu_binary_check(c, msg, sizeof(msg)) < 0)
		diag_add(errors, c->path, 0, "%s", msg);
	else if (c->machine && !machine_listed(c->qemu_binary ? c->qemu_binary : binary, c->machine))
		diag_add(errors, c->path, 0, "machine %s: qemu-system-%s does not have it (qemu-system-%s -machine help lists them)",
			 c->machine, c->arch, c->arch);
	if (c->accel == ACCEL_KVM && !qemu_kvm_fits(host, c->arch)) {
		diag_add(warnings, c->path, 0, "accel = kvm, but KVM cannot run %s guests here (%s): the VM will not start; use accel = auto or tcg",
			 c->arch, host->kvm_usable ? "another arch" : "/dev/kvm is missing or not usable");
		relaxed.accel = ACCEL_AUTO; /* the rest is checked as it would be with KVM working */
	}
	if (c->qemu_icount && c->accel == ACCEL_AUTO && qemu_kvm_fits(host, c->arch))
		diag_add(warnings, c->path, 0, "icount: QEMU allows it with TCG only, so this VM runs under TCG although KVM works here");
	if (vm_paths_get(c, &paths) < 0)
		return -ENAMETOOLONG;
	if (qemu_argv_build(&relaxed, &paths, host, &argv, &choice, &build) < 0)
		for (size_t i = 0; i < build.n; i++)
			diag_add(errors, c->path, 0, "%s", build.items[i].message);
	strv_free(argv);
	return 0;
}
