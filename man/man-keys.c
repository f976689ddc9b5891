/* man-keys.c - writes qvm.ini(5) from man/qvm.ini.5.in, expanding each "@KEYS section@" line from the key table */
#include <stdio.h>
#include <string.h>

#include "config.h"

/* Print the .TP entries of every key of @section, in table order. */
static void print_keys(const char *section)
{
	size_t n;
	const struct key_def *keys = config_keys(&n);

	for (size_t i = 0; i < n; i++)
		if (strcmp(keys[i].section, section) == 0)
			printf(".TP\n.B %s\n%s\n", keys[i].name, keys[i].doc);
}

int main(int argc, char **argv)
{
	char line[4096], section[64];
	FILE *in;

	if (argc != 2) {
		fprintf(stderr, "usage: man-keys TEMPLATE > qvm.ini.5\n");
		return 2;
	}
	in = fopen(argv[1], "re");
	if (!in) {
		perror(argv[1]);
		return 1;
	}
	while (fgets(line, sizeof(line), in))
		if (sscanf(line, "@KEYS %63[a-z-]@", section) == 1)
			print_keys(section);
		else
			fputs(line, stdout);
	fclose(in);
	return ferror(stdout) || fflush(stdout) ? 1 : 0;
}
