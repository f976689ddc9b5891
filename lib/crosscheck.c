/* crosscheck.c - checks across VMs for qvm check: port clashes, ordering cycles, missing VMs */
#include "crosscheck.h"
#include "basic.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "macro.h"
#include "paths.h"
#include "strv.h"

char *vm_ref_name(const char *ref, char buf[static 256])
{
	char unit[256];
	size_t n;

	vm_unit_name(ref, unit);
	if (strcmp(unit, ref) != 0) {         /* no unit suffix: a VM name */
		snprintf(buf, 256, "%s", ref);
		return buf;
	}
	n = strlen(ref);
	if (strncmp(ref, "qvm@", 4) == 0 && n > 12 && endswith(ref, ".service")) {
		snprintf(buf, 256, "%.*s", (int)(n - 12), ref + 4);
		return buf;
	}
	return NULL;
}

/* Should problems involving configs[i] be reported? */
static bool reported(const struct crosscheck_set *set, size_t i)
{
	return !set->report || set->report[i];
}

/* Index of the VM called @name in @set, or -1. */
static ssize_t find_vm(const struct crosscheck_set *set, const char *name)
{
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->configs[i]->name, name) == 0)
			return (ssize_t)i;
	return -1;
}

/* Is @a a wildcard listen address? */
static bool addr_is_any(const char *a)
{
	return !*a || strcmp(a, "0.0.0.0") == 0 || strcmp(a, "::") == 0 || strcmp(a, "[::]") == 0;
}

/* Do two forwards want the same host socket? */
static bool forwards_clash(const struct forward *a, const struct forward *b)
{
	return a->proto == b->proto && a->host_port == b->host_port &&
	       (strcmp(a->host_addr, b->host_addr) == 0 || addr_is_any(a->host_addr) || addr_is_any(b->host_addr));
}

/* Append the clashes between forwards of VM i (@fa) and VM j (@fb), j > i. */
static int clashes_between(const struct crosscheck_set *set, size_t i, size_t j, const struct forward *fa,
			   size_t na, const struct forward *fb, size_t nb, struct diag_list *errors)
{
	int found = 0;

	for (size_t x = 0; x < na; x++)
		for (size_t y = 0; y < nb; y++) {
			if (!forwards_clash(&fa[x], &fb[y]))
				continue;
			found++;
			if (diag_add(errors, set->configs[j]->path, 0,
				     "%s port %s:%d is also forwarded by VM %s (%s)",
				     forward_proto_to_string(fb[y].proto), fb[y].host_addr, fb[y].host_port,
				     set->configs[i]->name, set->configs[i]->path) < 0)
				return -ENOMEM;
		}
	return found;
}

/* The forwards of every VM in @set (NULL/0 for VMs that forward nothing). */
static int collect_forwards(const struct crosscheck_set *set, struct forward **fw, size_t *nfw)
{
	for (size_t i = 0; i < set->n; i++) {
		int r = config_forwards(set->configs[i], &fw[i], &nfw[i]);

		if (r == -ENOMEM)
			return r;
		if (r < 0) {   /* malformed: config_load() already reported it */
			fw[i] = NULL;
			nfw[i] = 0;
		}
	}
	return 0;
}

int crosscheck_ports(const struct crosscheck_set *set, struct diag_list *errors)
{
	_cleanup_free_ struct forward **fw = calloc(set->n + 1, sizeof(*fw));
	_cleanup_free_ size_t *nfw = calloc(set->n + 1, sizeof(*nfw));
	int r, found = 0;

	if (!fw || !nfw)
		return -ENOMEM;
	r = collect_forwards(set, fw, nfw);
	for (size_t i = 0; r >= 0 && i < set->n; i++)
		for (size_t j = i + 1; r >= 0 && j < set->n; j++) {
			if (!reported(set, i) && !reported(set, j))
				continue;
			r = clashes_between(set, i, j, fw[i], nfw[i], fw[j], nfw[j], errors);
			if (r > 0)
				found += r;
		}
	for (size_t i = 0; i < set->n; i++)
		free(fw[i]);
	return r < 0 ? r : found;
}

int crosscheck_taps(const struct crosscheck_set *set, struct diag_list *errors, bool *clashing)
{
	char tap_i[16], tap_j[16];
	int found = 0;

	for (size_t i = 0; i < set->n; i++) {
		const struct vm_config *a = set->configs[i];

		if (a->net_mode != NET_TAP)
			continue;
		vm_tap_name(a->name, tap_i);
		for (size_t j = i + 1; j < set->n; j++) {
			const struct vm_config *b = set->configs[j];

			if (b->net_mode != NET_TAP || strcmp(tap_i, vm_tap_name(b->name, tap_j)) != 0)
				continue;
			found++;
			if (clashing)
				clashing[j] = true;
			if (!reported(set, i) && !reported(set, j))
				continue;
			if (diag_add(errors, b->net_mode_file ?: b->path, b->net_mode_line,
				     "VMs %s and %s would share the tap %s (%s:%u); rename one of them", b->name, a->name,
				     tap_i, a->net_mode_file ?: a->path, a->net_mode_line) < 0)
				return -ENOMEM;
		}
	}
	return found;
}

/* Depth-first search state for crosscheck_cycles(). */
struct dfs {
	const struct crosscheck_set *set;
	unsigned char *color;      /* 0 unvisited, 1 on the stack, 2 done */
	size_t *stack;
	size_t depth;
	struct diag_list *errors;
	int found;
};

/* Report the cycle that closes at stack entry @from back to VM @to. */
static int report_cycle(struct dfs *d, size_t to)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0, start = 0;
	bool report = false;
	FILE *f;

	while (d->stack[start] != to)
		start++;
	f = open_memstream(&text, &len);
	if (!f)
		return -ENOMEM;
	for (size_t k = start; k < d->depth; k++) {
		fprintf(f, "%s -> ", d->set->configs[d->stack[k]]->name);
		report = report || reported(d->set, d->stack[k]);
	}
	fputs(d->set->configs[to]->name, f);
	if (fclose(f) != 0)
		return -ENOMEM;
	d->found++;
	if (!report)
		return 0;
	return diag_add(d->errors, d->set->configs[to]->path, 0,
			"ordering cycle through after=/requires=: %s", text);
}

/* Visit VM @i and everything it is ordered after. */
static int dfs_visit(struct dfs *d, size_t i)
{
	const struct vm_config *c = d->set->configs[i];
	char *const *lists[] = { c->after, c->requires };
	char name[256];
	int r;

	d->color[i] = 1;
	d->stack[d->depth++] = i;
	for (size_t l = 0; l < ELEMENTSOF(lists); l++)
		STRV_FOREACH(ref, lists[l]) {
			ssize_t j;

			if (!vm_ref_name(*ref, name) || (j = find_vm(d->set, name)) < 0)
				continue;
			if (d->color[j] == 1)
				r = report_cycle(d, (size_t)j);
			else if (d->color[j] == 0)
				r = dfs_visit(d, (size_t)j);
			else
				r = 0;
			if (r < 0)
				return r;
		}
	d->depth--;
	d->color[i] = 2;
	return 0;
}

int crosscheck_cycles(const struct crosscheck_set *set, struct diag_list *errors)
{
	_cleanup_free_ unsigned char *color = calloc(set->n + 1, 1);
	_cleanup_free_ size_t *stack = calloc(set->n + 1, sizeof(*stack));
	struct dfs d = { .set = set, .color = color, .stack = stack, .errors = errors };

	if (!color || !stack)
		return -ENOMEM;
	for (size_t i = 0; i < set->n; i++)
		if (color[i] == 0) {
			int r = dfs_visit(&d, i);

			if (r < 0)
				return r;
		}
	return d.found;
}

int crosscheck_references(const struct crosscheck_set *set, struct diag_list *errors,
			  struct diag_list *warnings)
{
	int found = 0;
	char name[256];

	for (size_t i = 0; i < set->n; i++) {
		const struct vm_config *c = set->configs[i];

		if (!reported(set, i))
			continue;
		for (int req = 0; req < 2; req++)
			STRV_FOREACH(ref, req ? c->requires : c->after) {
				if (!vm_ref_name(*ref, name) || strv_contains(set->known_names, name) ||
				    find_vm(set, name) >= 0)
					continue;
				found++;
				if (diag_add(req ? errors : warnings, c->path, 0,
					     "%s = %s: there is no VM %s (no %s.ini)%s", req ? "requires" : "after",
					     *ref, name, name,
					     req ? "" : "; write a unit name with its suffix to order after another unit") < 0)
					return -ENOMEM;
			}
	}
	return found;
}

int crosscheck_secrets(const struct vm_config *c, struct diag_list *warnings)
{
	struct stat st;
	int n = 0;

	if (c->ci_password_hash && stat(c->path, &st) == 0 && (st.st_mode & S_IROTH)) {
		if (diag_add(warnings, c->path, 0,
			     "password-hash is in a world-readable file (mode %04o): every local user and every VM can "
			     "read it; move it to password-hash-file = /etc/qvm/%s.password (mode 0600, root)",
			     (unsigned)(st.st_mode & 07777), c->name) < 0)
			return -ENOMEM;
		n++;
	}
	if (c->ci_password_hash_file && stat(c->ci_password_hash_file, &st) == 0 && (st.st_mode & 0077)) {
		if (diag_add(warnings, c->path, 0,
			     "password-hash-file = %s is readable by others (mode %04o): make it 0600, owned by root",
			     c->ci_password_hash_file, (unsigned)(st.st_mode & 07777)) < 0)
			return -ENOMEM;
		n++;
	}
	return n;
}
