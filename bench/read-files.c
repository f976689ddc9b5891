/* read-files.c - benchmark baseline: read every *.ini in a directory and do nothing else */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
	char buf[65536], path[4096];
	size_t total = 0;
	struct dirent *e;
	DIR *d;

	if (argc != 2 || !(d = opendir(argv[1])))
		return 2;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		ssize_t k;
		int fd;

		if (n < 5 || strcmp(e->d_name + n - 4, ".ini") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", argv[1], e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return 1;
		while ((k = read(fd, buf, sizeof(buf))) > 0)
			total += (size_t)k;
		close(fd);
	}
	closedir(d);
	return total > 0 ? 0 : 1;
}
