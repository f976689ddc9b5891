/* config.c - loading a VM's config: the main INI, its drop-ins, defaults, validation; names and paths */
#include "config-internal.h"
#include "basic.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "strv.h"

bool vm_name_valid(const char *name)
{
	return config_name_valid(name, QVM_NAME_MAX);
}

char *vm_unit_name(const char *name, char buf[static 256])
{
	static const char *const suffixes[] = {
		".service", ".target", ".mount", ".socket", ".path", ".device",
		".timer", ".swap", ".slice", ".scope", ".automount",
	};
	for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
		if (endswith(name, suffixes[i])) {
			snprintf(buf, 256, "%s", name);
			return buf;
		}
	}
	snprintf(buf, 256, "qvm@%s.service", name);
	return buf;
}

const char *config_dir(void)
{
	const char *e = getenv("QVM_CONFIG_DIR");

	return e && *e ? e : QVM_CONFIG_DIR;
}
/* A new config named @name with every table default applied. */
static struct vm_config *config_new(struct parse_state *st, const char *name, const char *path)
{
	struct vm_config *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	st->config = c;
	c->name = strdup(name);
	c->path = strdup(path);
	if (!c->name || !c->path)
		return config_free(c);
	for (size_t i = 0; config_sections()[i]; i++)
		if (!config_is_instance_kind(config_sections()[i]))
			config_apply_defaults(st, config_sections()[i], c);
	return c;
}

/* Keep only names ending in ".conf". */
static int filter_conf(const struct dirent *d)
{
	return d->d_name[0] != '.' && endswith(d->d_name, ".conf");
}

/* Parse NAME.ini.d/ (*.conf) in name order, after the main file. */
static int parse_dropins(struct parse_state *st, const char *main_path)
{
	_cleanup_free_ char *dir = NULL;
	struct dirent **entries = NULL;
	int n, r = 0;

	if (asprintf(&dir, "%s.d", main_path) < 0)
		return -ENOMEM;
	n = scandir(dir, &entries, filter_conf, alphasort);
	if (n < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : negative_errno();
	st->is_dropin = true;
	for (int i = 0; i < n; i++) {
		char *path = NULL;

		if (r == 0 && asprintf(&path, "%s/%s", dir, entries[i]->d_name) < 0)
			r = -ENOMEM;
		if (path && (r = strv_push(&st->files, path)) == 0)
			r = config_parse_file(st, st->files[strv_length(st->files) - 1]);
		free(path);
		free(entries[i]);
	}
	free(entries);
	return r;
}

/* Free what the parse state owns. */
static void parse_state_done(struct parse_state *st)
{
	for (size_t i = 0; i < st->n_seen; i++)
		free(st->seen[i].section);
	free(st->seen);
	free(st->buffer);
	strv_free(st->long_values);
	strv_free(st->files);
}


static int digest_of(const char *path, char ret[static CONFIG_DIGEST_SIZE]);

int config_load_file(const char *path, struct vm_config **ret, struct diag_list *diags)
{
	struct parse_state st = { .diags = diags };
	_cleanup_config_free_ struct vm_config *c = NULL;
	_cleanup_free_ char *name = NULL;
	const char *base = strrchr(path, '/');
	size_t n;
	int r;

	base = base ? base + 1 : path;
	n = strlen(base);
	if (!endswith(base, ".ini"))
		return diag_add(diags, path, 0, "a VM file's name must end in .ini"), -EINVAL;
	name = strndup(base, n - 4);
	if (!name)
		return -ENOMEM;
	if (!vm_name_valid(name))
		return diag_add(diags, path, 0,
				"invalid VM name '%s': use letters, digits, '_', '.' and '-', starting with a letter or digit, at most %d characters",
				name, QVM_NAME_MAX), -EINVAL;
	if (strv_push(&st.files, path) < 0)
		return -ENOMEM;
	c = config_new(&st, name, path);
	if (!c)
		r = -ENOMEM;
	else if ((r = config_parse_file(&st, st.files[0])) == 0 && (r = parse_dropins(&st, path)) == 0 &&
		 (r = config_apply_dynamic_defaults(&st)) == 0)
		config_validate(&st);
	if (r == 0)
		r = st.oom;
	if (r == -ENOENT && st.line == 0)
		diag_add(diags, path, 0, "cannot open: %s", strerror(ENOENT));
	else if (r < 0 && r != -ENOMEM)
		diag_add(diags, st.path ? st.path : path, 0, "cannot read: %s", strerror(-r));
	if (r == 0 && st.errors > 0)
		r = -EINVAL;
	parse_state_done(&st);
	if (r < 0)
		return r;
	if (digest_of(path, c->digest) < 0)
		c->digest[0] = '\0';
	*ret = TAKE_PTR(c);
	return 0;
}

int config_load(const char *dir, const char *name, struct vm_config **ret, struct diag_list *diags)
{
	_cleanup_free_ char *path = NULL;

	if (strchr(name, '/') || !*name)
		return diag_add(diags, name, 0, "invalid VM name '%s'", name), -EINVAL;
	if (asprintf(&path, "%s/%s.ini", dir, name) < 0)
		return -ENOMEM;
	return config_load_file(path, ret, diags);
}

/* Keep only names ending in ".ini". */
static int filter_ini(const struct dirent *d)
{
	return d->d_name[0] != '.' && endswith(d->d_name, ".ini");
}

int config_list_names(const char *dir, char ***ret)
{
	_cleanup_strv_free_ char **names = calloc(1, sizeof(char *));
	struct dirent **entries = NULL;
	int n, r = 0;

	if (!names)
		return -ENOMEM;
	n = scandir(dir, &entries, filter_ini, alphasort);
	if (n < 0)
		return negative_errno();
	for (int i = 0; i < n; i++) {
		entries[i]->d_name[strlen(entries[i]->d_name) - 4] = '\0';
		if (r == 0)
			r = strv_push(&names, entries[i]->d_name);
		free(entries[i]);
	}
	free(entries);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(names);
	return 0;
}

struct vm_config *config_free(struct vm_config *c)
{
	if (!c)
		return NULL;
	size_t n;
	const struct key_def *keys = config_keys(&n);

	for (size_t i = 0; i < n; i++)
		if (!config_is_instance_kind(keys[i].section))
			config_field_clear(&keys[i], (char *)c + keys[i].offset);
	for (size_t d = 0; d < c->n_disks; d++) {
		for (size_t i = 0; i < n; i++)
			if (strcmp(keys[i].section, "disk") == 0)
				config_field_clear(&keys[i], (char *)&c->disks[d] + keys[i].offset);
		free(c->disks[d].name);
		free(c->disks[d].file);
	}
	free(c->disks);
	for (size_t d = 0; d < c->n_shares; d++) {
		for (size_t i = 0; i < n; i++)
			if (strcmp(keys[i].section, "share") == 0)
				config_field_clear(&keys[i], (char *)&c->shares[d] + keys[i].offset);
		free(c->shares[d].name);
		free(c->shares[d].file);
	}
	free(c->shares);
	free(c->name);
	free(c->path);
	free(c->net_mode_file);
	free(c);
	return NULL;
}


bool config_uses_image(const struct vm_config *c)
{
	return c->image_source || c->image_disk || c->n_disks > 0 || config_blank_disk(c);
}

bool config_has_share_mode(const struct vm_config *c, enum share_mode mode)
{
	for (size_t i = 0; i < c->n_shares; i++)
		if (c->shares[i].mode == mode)
			return true;
	return false;
}

int config_check_shares_on_host(const struct vm_config *c, struct diag_list *diags)
{
	int found = 0;

	for (size_t i = 0; i < c->n_shares; i++) {
		const struct share_config *s = &c->shares[i];
		struct stat sb;

		if (!s->path)
			continue;
		if (stat(s->path, &sb) < 0) {
			found++;
			diag_add(diags, s->file, s->line, "[share:%s] path %s: %s", s->name, s->path,
				 errno == ENOENT ? "no such directory on this host" : strerror(errno));
		} else if (!S_ISDIR(sb.st_mode)) {
			found++;
			diag_add(diags, s->file, s->line, "[share:%s] path %s is not a directory: share a directory",
				 s->name, s->path);
		}
	}
	return found;
}

bool config_blank_disk(const struct vm_config *c)
{
	return c->image_size && !c->image_source && !c->image_disk && c->boot_cdrom;
}

bool config_downloads_image(const struct vm_config *c)
{
	return c->image_source && !c->image_disk && url_kind(c->image_source) == URL_HTTP;
}

bool config_has_system_disk(const struct vm_config *c)
{
	return c->image_source || c->image_disk || config_blank_disk(c);
}


/* Fold @n bytes at @p into the FNV-1a 64 hash @h. */
static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	for (const unsigned char *b = p; n--; b++)
		h = (h ^ *b) * UINT64_C(0x100000001b3);
	return h;
}

/* Fold file @path's name (as @label) and contents into @h. */
static int digest_file(const char *path, const char *label, uint64_t *h)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	char buf[8192];
	ssize_t n;

	if (fd < 0)
		return negative_errno();
	*h = fnv1a(*h, label, strlen(label) + 1);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		*h = fnv1a(*h, buf, (size_t)n);
	return n < 0 ? negative_errno() : 0;
}

/* config_digest() of the VM file at @path. */
static int digest_of(const char *path, char ret[static CONFIG_DIGEST_SIZE])
{
	_cleanup_free_ char *dropins = NULL;
	struct dirent **entries = NULL;
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	int n, r;

	if (asprintf(&dropins, "%s.d", path) < 0)
		return -ENOMEM;
	r = digest_file(path, "", &h);
	if (r < 0)
		return r;
	n = scandir(dropins, &entries, filter_conf, alphasort);
	for (int i = 0; i < n; i++) {
		_cleanup_free_ char *p = NULL;

		if (r == 0 && asprintf(&p, "%s/%s", dropins, entries[i]->d_name) < 0)
			r = -ENOMEM;
		if (r == 0)
			r = digest_file(p, entries[i]->d_name, &h);
		free(entries[i]);
	}
	free(entries);
	if (n < 0 && errno != ENOENT && errno != ENOTDIR)
		return negative_errno();
	if (r < 0)
		return r;
	snprintf(ret, CONFIG_DIGEST_SIZE, "%016llx", (unsigned long long)h);
	return 0;
}

int config_digest(const char *dir, const char *name, char ret[static CONFIG_DIGEST_SIZE])
{
	_cleanup_free_ char *path = NULL;

	if (asprintf(&path, "%s/%s.ini", dir, name) < 0)
		return -ENOMEM;
	return digest_of(path, ret);
}
