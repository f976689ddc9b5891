/* signature.c - OpenPGP signatures of checksum files, checked with gpgv */
#include "signature.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"

/* Write @len bytes of @data to the new file @path. */
static int write_new_file(const char *path, const char *data, size_t len)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return -errno;
	for (size_t done = 0; done < len;) {
		ssize_t w = write(fd, data + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		done += (size_t)w;
	}
	return 0;
}

/* Run gpgv --keyring @keyring @sig_path @data_path; its stderr into @error. */
static int run_gpgv(const char *keyring, const char *sig_path, const char *data_path, char *error, size_t error_size)
{
	char *argv[] = { (char *)"gpgv", (char *)"--keyring", (char *)keyring, (char *)"--",
			 (char *)sig_path, (char *)data_path, NULL };
	int pe[2], status;
	size_t n = 0;
	pid_t pid;

	if (pipe2(pe, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return close(pe[0]), close(pe[1]), -errno;
	if (pid == 0) {
		dup2(pe[1], STDERR_FILENO);
		dup2(pe[1], STDOUT_FILENO);
		execvp(argv[0], argv);
		dprintf(STDERR_FILENO, "cannot run gpgv: %s", strerror(errno));
		_exit(127);
	}
	close(pe[1]);
	for (ssize_t k; n + 1 < error_size && (k = read(pe[0], error + n, error_size - 1 - n)) > 0;)
		n += (size_t)k;
	close(pe[0]);
	error[n] = '\0';
	while (n > 0 && error[n - 1] == '\n')
		error[--n] = '\0';
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return -ENOENT;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EBADMSG;
}

int signature_verify(const char *keyring, const char *data, size_t data_len, const char *sig, size_t sig_len,
		     char *error, size_t error_size)
{
	const char *tmp = getenv("TMPDIR");
	char dir[4096], data_path[4200], sig_path[4200];
	int r;

	error[0] = '\0';
	if (snprintf(dir, sizeof(dir), "%s/qvm-sig.XXXXXX", tmp && *tmp == '/' ? tmp : "/tmp") >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	if (!mkdtemp(dir))
		return snprintf(error, error_size, "cannot create a temporary directory: %s", strerror(errno)), -errno;
	snprintf(data_path, sizeof(data_path), "%s/data", dir);
	snprintf(sig_path, sizeof(sig_path), "%s/data.sig", dir);
	r = write_new_file(data_path, data, data_len);
	if (r >= 0)
		r = write_new_file(sig_path, sig, sig_len);
	if (r >= 0)
		r = run_gpgv(keyring, sig_path, data_path, error, error_size);
	else
		snprintf(error, error_size, "cannot write to %s: %s", dir, strerror(-r));
	unlink(data_path);
	unlink(sig_path);
	rmdir(dir);
	return r;
}
