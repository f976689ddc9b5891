/* cli-journal.c - the guest console from the journal (entries with QVM_VM=NAME), for qvm logs and status */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-journal.h>

#include "cli.h"

/* Free a journal handle (cleanup helper). */
static void journal_closep(sd_journal **j)
{
	if (*j)
		sd_journal_close(*j);
}

/* Print the MESSAGE of the current entry as one line. */
static void print_entry(sd_journal *j)
{
	const void *data;
	size_t len;

	if (sd_journal_get_data(j, "MESSAGE", &data, &len) < 0 || len < 8)
		return;
	fwrite((const char *)data + 8, 1, len - 8, stdout);
	fputc('\n', stdout);
}

/* Open the journal: $QVM_JOURNAL_DIR (a test seam) or the local system's. */
static int journal_open(sd_journal **ret)
{
	const char *dir = getenv("QVM_JOURNAL_DIR");

	if (dir && *dir)
		return sd_journal_open_directory(ret, dir, 0);
	return sd_journal_open(ret, SD_JOURNAL_LOCAL_ONLY);
}

/* Put the cursor on the first entry to print; Return: >0 when on an entry. */
static int journal_position(sd_journal *j, unsigned lines)
{
	int r;

	if (lines == 0) {
		r = sd_journal_seek_head(j);
		return r < 0 ? r : sd_journal_next(j);
	}
	r = sd_journal_seek_tail(j);
	return r < 0 ? r : sd_journal_previous_skip(j, lines);
}

int journal_print_console(const char *name, unsigned lines, bool follow)
{
	_cleanup_(journal_closep) sd_journal *j = NULL;
	_cleanup_free_ char *match = NULL;
	int r;

	if (asprintf(&match, "QVM_VM=%s", name) < 0)
		return -ENOMEM;
	r = journal_open(&j);
	if (r < 0)
		return r;
	r = sd_journal_add_match(j, match, 0);
	if (r < 0)
		return r;
	r = journal_position(j, lines);
	while (r > 0) {
		print_entry(j);
		r = sd_journal_next(j);
	}
	while (r >= 0 && follow) {
		fflush(stdout);
		r = sd_journal_wait(j, UINT64_MAX);
		while (r >= 0 && (r = sd_journal_next(j)) > 0)
			print_entry(j);
	}
	fflush(stdout);
	return r < 0 ? r : 0;
}
