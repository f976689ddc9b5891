/* fuzz-config.c - libFuzzer: INI text through the config parser into the generator's drop-in, with a "no new directive" oracle */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "diag.h"
#include "macro.h"
#include "unitgen.h"

#define LIBEXEC "/usr/libexec/qvm"

/* Abort (a libFuzzer finding) with the drop-in that broke a rule. */
static void violation(const char *rule, const char *text)
{
	fprintf(stderr, "ORACLE VIOLATION: %s\n--- drop-in ---\n%s\n---\n", rule, text);
	abort();
}

/* Is @key one of the directives qvm writes into 50-qvm.conf? */
static int directive_allowed(const char *key, size_t n)
{
	static const char *const allowed[] = {
		"SourcePath", "Description", "Requires", "After", "Wants", "TimeoutStartSec", "TimeoutStopSec",
		"Restart", "LoadCredential", "ReadWritePaths", "BindPaths", "BindReadOnlyPaths", "ProtectHome",
		"Environment", "SupplementaryGroups", "RuntimeDirectoryMode", "User", "PrivateUsers",
		"SystemCallFilter", "ExecStartPre", NULL,
	};

	for (size_t i = 0; allowed[i]; i++)
		if (strlen(allowed[i]) == n && memcmp(allowed[i], key, n) == 0)
			return 1;
	return 0;
}

/* Does @v (of @n bytes) hold a '%' that is not part of "%%"? @exec allows qvm's own "%i". */
static int has_specifier(const char *v, size_t n, int exec)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == '%') {
			if (i + 1 < n && (v[i + 1] == '%' || (exec && v[i + 1] == 'i'))) {
				i++;
				continue;
			}
			return 1;
		}
	return 0;
}

/* The generator's own dependency on the VM's download unit: the one other place %i may be. */
static int is_fetch_dependency(const char *line, size_t n)
{
	static const char *const lines[] = { "Wants=qvm-fetch@%i.service", "After=qvm-fetch@%i.service" };

	for (size_t i = 0; i < ELEMENTSOF(lines); i++)
		if (n == strlen(lines[i]) && memcmp(line, lines[i], n) == 0)
			return 1;
	return 0;
}

/*
 * The oracle, reading the text the way systemd does (a line ends at LF, CR or
 * NUL; a trailing backslash joins lines): only qvm's directives, only qvm's
 * commands (a root "+" command only for qvm-net), no specifier but %i in
 * them, one quoted word per ReadWritePaths=.
 */
static void check_dropin(const char *text)
{
	size_t len = strlen(text);

	for (const char *p = text; *p; p++)
		if (((unsigned char)*p < 0x20 && *p != '\n') || *p == 0x7f)
			violation("control character in the drop-in", text);
	for (const char *line = text; line < text + len;) {
		const char *end = strchr(line, '\n'), *eq;
		size_t n = (size_t)(end - line);

		if (n > 0 && line[n - 1] == '\\')
			violation("a line ends in a backslash (continues into the next)", text);
		if (n == 0 || line[0] == '#' || line[0] == '[') {
			line = end + 1;
			continue;
		}
		eq = memchr(line, '=', n);
		if (!eq || !directive_allowed(line, (size_t)(eq - line)))
			violation("a directive qvm does not write", text);
		if (strncmp(line, "ExecStartPre=", 13) == 0 || strncmp(line, "ExecStopPost=", 13) == 0) {
			const char *cmd = line + 13;

			if (*cmd == '+' && strncmp(cmd, "+" LIBEXEC "/qvm-net ", strlen(LIBEXEC) + 10) != 0)
				violation("a root command other than qvm-net", text);
			if (*cmd == '+')
				cmd++;
			if (strncmp(cmd, LIBEXEC "/qvm-", strlen(LIBEXEC) + 5) != 0)
				violation("a command other than qvm's helpers", text);
			if (has_specifier(cmd, (size_t)(end - cmd), 1))
				violation("a specifier in a command", text);
		} else if (!is_fetch_dependency(line, n) && has_specifier(eq + 1, (size_t)(end - eq - 1), 0)) {
			violation("an unescaped specifier", text);
		}
		if (strncmp(line, "ReadWritePaths=\"", 16) == 0) {
			const char *q = line + 16;

			while (q < end && *q != '"')
				q += *q == '\\' ? 2 : 1;
			if (q + 1 != end)
				violation("ReadWritePaths= is not one quoted word", text);
		} else if (strncmp(line, "ReadWritePaths=", 15) == 0) {
			violation("ReadWritePaths= unquoted", text);
		}
		line = end + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/dev/shm/qvm-fuzz-config.XXXXXX", path[128];
static int fd = -1;

/* Remove the scratch dir at exit. */
static void cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

/*
 * The input as a file "fuzz.ini" without a disk write per run: a memfd behind
 * a symlink in a scratch dir (the VM name comes from the file name).
 */
static const char *input_file(const uint8_t *data, size_t size)
{
	char target[64];

	if (fd < 0) {
		fd = memfd_create("fuzz.ini", MFD_CLOEXEC);
		if (fd < 0 || (!mkdtemp(dir) && (memcpy(dir, "/tmp", 4), !mkdtemp(dir))))
			abort();
		snprintf(path, sizeof(path), "%s/fuzz.ini", dir);
		snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
		if (symlink(target, path) < 0)
			abort();
		atexit(cleanup);
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	return path;
}

/* Parse @data; when it is a valid VM, render its drop-in and judge it. Return: whether a drop-in was made. */
static int run_one(const uint8_t *data, size_t size)
{
	const struct unitgen_paths paths = { .libexecdir = LIBEXEC, .unitdir = "/usr/lib/systemd/system", .root = "",
					     .socket_proxyd = "/usr/lib/systemd/systemd-socket-proxyd" };
	_cleanup_diag_list_ struct diag_list diags = {};
	struct vm_config *c = NULL;
	char *text = NULL;
	int made = 0;

	if (config_load_file(input_file(data, size), &c, &diags) >= 0 && c &&
	    unitgen_dropin(c, &paths, &text) == 0) {
		check_dropin(text);
		made = 1;
	}
	free(text);
	config_free(c);
	return made;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char probe[] = "[vm]\ndescription = 100% \"q\" \\\n[image]\ndisk = /srv/a b %H.raw\n";
	static int checked;

	/* Once: a valid config must reach the drop-in writer, or the fuzzer tests nothing. */
	if (!checked++ && !run_one((const uint8_t *)probe, sizeof(probe) - 1)) {
		fprintf(stderr, "fuzz-config: a valid config made no drop-in; the harness is broken\n");
		abort();
	}
	run_one(data, size);
	return 0;
}
