/* basic.c - the small file, io, socket and string helpers every part of qvm shares */
#include "basic.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "macro.h"

int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	bool is_socket = true;

	while (n > 0) {
		/* send() with MSG_NOSIGNAL, so a closed peer cannot kill us with SIGPIPE */
		ssize_t k = is_socket ? send(fd, p, n, MSG_NOSIGNAL) : write(fd, p, n);

		if (k < 0 && errno == ENOTSOCK && is_socket) {
			is_socket = false;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int mkdir_parents(const char *path, size_t keep, mode_t mode)
{
	char buf[4096];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	if (keep > strlen(buf))
		return -EINVAL;
	for (char *p = strchr(buf + keep + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

int mkdir_p(const char *path, mode_t mode)
{
	int r = mkdir_parents(path, 0, mode);

	if (r < 0)
		return r;
	return mkdir(path, mode) < 0 && errno != EEXIST ? -errno : 0;
}

int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return TAKE_FD(fd);
}

bool endswith(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n > k && strcmp(s + n - k, suffix) == 0;
}

enum url_kind url_kind(const char *s)
{
	if (strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0)
		return URL_HTTP;
	if (strncmp(s, "file:///", 8) == 0)
		return URL_FILE;
	return URL_NONE;
}

const char *url_local_path(const char *s)
{
	return strncmp(s, "file://", 7) == 0 ? s + 7 : s;
}
