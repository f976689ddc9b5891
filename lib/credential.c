/* credential.c - opening admin-named files through systemd credentials */
#include "credential.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

#include "macro.h"

int credential_open(const char *name, const char *path)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	int fd;

	if (dir) {
		char cred[4096];

		snprintf(cred, sizeof(cred), "%s/%s", dir, name);
		fd = open(cred, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			return fd;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd >= 0 ? fd : negative_errno();
}
