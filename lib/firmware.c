/* firmware.c - QEMU's firmware descriptors: the spec's search path, merged by file name, parsed with json-c, matched */
#include "firmware.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "basic.h"
#include "macro.h"
#include "strv.h"

/* Push each colon-separated, non-empty part of @list onto @v. */
static int push_split(char ***v, const char *list)
{
	for (const char *p = list; *p; p += strcspn(p, ":"), p += *p == ':') {
		_cleanup_free_ char *d = strndup(p, strcspn(p, ":"));

		if (!d || (*d && strv_push(v, d) < 0))
			return -ENOMEM;
	}
	return 0;
}

int firmware_search_path(char ***ret)
{
	const char *env = getenv("QVM_FIRMWARE_DIR"), *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	_cleanup_strv_free_ char **v = NULL;
	_cleanup_free_ char *user = NULL;

	if (env && *env) {
		if (push_split(&v, env) < 0)
			return -ENOMEM;
		*ret = TAKE_PTR(v);
		return 0;
	}
	/* XDG: a relative XDG_CONFIG_HOME is invalid and ignored */
	if (xdg && xdg[0] == '/' ? asprintf(&user, "%s/qemu/firmware", xdg) < 0
	    : home && home[0] == '/' ? asprintf(&user, "%s/.config/qemu/firmware", home) < 0 : false)
		return -ENOMEM;
	if (strv_push(&v, "/usr/share/qemu/firmware") < 0 || strv_push(&v, "/etc/qemu/firmware") < 0 ||
	    (user && strv_push(&v, user) < 0))
		return -ENOMEM;
	*ret = TAKE_PTR(v);
	return 0;
}

/* A descriptor file on the search path: its name and the most specific path holding it. */
struct found {
	char *name;
	char *path;
	bool empty;               /* zero length: hides the same name in general directories */
};

/* Keep only names ending in ".json". */
static int filter_json(const struct dirent *d)
{
	return endswith(d->d_name, ".json");
}

/* Record @dir/@name in @files (of @n), replacing an entry of the same name from a more general directory. */
static int found_add(struct found **files, size_t *n, const char *dir, const char *name)
{
	_cleanup_free_ char *path = NULL;
	struct found *grown, *f = NULL;
	struct stat st;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return -ENOMEM;
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	for (size_t i = 0; i < *n && !f; i++)
		if (strcmp((*files)[i].name, name) == 0)
			f = &(*files)[i];
	if (!f) {
		grown = realloc(*files, (*n + 1) * sizeof(**files));
		if (!grown)
			return -ENOMEM;
		*files = grown;
		f = &grown[(*n)++];
		*f = (struct found){ .name = strdup(name) };
		if (!f->name)
			return -ENOMEM;
	}
	free(f->path);
	f->path = TAKE_PTR(path);
	f->empty = st.st_size == 0;
	return 0;
}

/* Add the *.json files of @dir to @files; a directory that cannot be read adds none. */
static int found_scan(struct found **files, size_t *n, const char *dir)
{
	struct dirent **names = NULL;
	int k = scandir(dir, &names, filter_json, NULL), r = 0;

	for (int i = 0; i < k; i++) {
		if (r >= 0)
			r = found_add(files, n, dir, names[i]->d_name);
		free(names[i]);
	}
	free(names);
	return r;
}

/* Order by file name, byte-wise: the spec's priority, the same in every locale. */
static int found_cmp(const void *a, const void *b)
{
	return strcmp(((const struct found *)a)->name, ((const struct found *)b)->name);
}

/* The strings of JSON array @a as a new vector (members that are not strings are left out). */
static int json_strv(json_object *a, char ***ret)
{
	size_t n = json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
	_cleanup_strv_free_ char **v = NULL;

	for (size_t i = 0; i < n; i++) {
		json_object *s = json_object_array_get_idx(a, i);

		if (json_object_is_type(s, json_type_string) && strv_push(&v, json_object_get_string(s)) < 0)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(v);
	return 0;
}

/* The string at @obj.@key, or NULL when there is none. */
static const char *json_string_at(json_object *obj, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Whether @obj.@key is an array holding the string @s. */
static bool json_array_has(json_object *obj, const char *key, const char *s)
{
	_cleanup_strv_free_ char **v = NULL;
	json_object *a;

	return json_object_object_get_ex(obj, key, &a) && json_strv(a, &v) >= 0 && strv_contains(v, s);
}

/* Fill @fw's code and vars and decide plain_uefi from descriptor @d. */
static int parse_mapping(json_object *d, struct firmware_desc *fw)
{
	static const char *const unwanted[] = { "secure-boot", "requires-smm", "enrolled-keys", "amd-sev-es" };
	json_object *map, *exe = NULL, *tmpl = NULL;
	const char *code, *vars;

	if (!json_object_object_get_ex(d, "mapping", &map) || !streq_ptr(json_string_at(map, "device"), "flash"))
		return 0;
	json_object_object_get_ex(map, "executable", &exe);
	json_object_object_get_ex(map, "nvram-template", &tmpl);
	code = exe ? json_string_at(exe, "filename") : NULL;
	vars = tmpl ? json_string_at(tmpl, "filename") : NULL;
	if (!code || !vars)
		return 0; /* a combined or stateless flash image: qvm gives each VM its own vars file */
	fw->code = strdup(code);
	fw->vars = strdup(vars);
	if (!fw->code || !fw->vars)
		return -ENOMEM;
	fw->plain_uefi = json_array_has(d, "interface-types", "uefi");
	for (size_t i = 0; i < ELEMENTSOF(unwanted); i++)
		fw->plain_uefi = fw->plain_uefi && !json_array_has(d, "features", unwanted[i]);
	return 0;
}

/* Fill @fw's targets from descriptor @d. */
static int parse_targets(json_object *d, struct firmware_desc *fw)
{
	json_object *targets;
	size_t n;

	if (!json_object_object_get_ex(d, "targets", &targets) || !json_object_is_type(targets, json_type_array))
		return 0;
	n = json_object_array_length(targets);
	fw->targets = calloc(n ? n : 1, sizeof(*fw->targets));
	if (!fw->targets)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_object *t = json_object_array_get_idx(targets, i), *machines = NULL;
		const char *arch = json_string_at(t, "architecture");
		struct firmware_target *ft = &fw->targets[fw->n_targets];

		if (!arch)
			continue;
		json_object_object_get_ex(t, "machines", &machines);
		ft->arch = strdup(arch);
		fw->n_targets++;
		if (!ft->arch || json_strv(machines, &ft->machines) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Free what @fw holds. */
static void firmware_done(struct firmware_desc *fw)
{
	for (size_t i = 0; i < fw->n_targets; i++) {
		free(fw->targets[i].arch);
		strv_free(fw->targets[i].machines);
	}
	free(fw->targets);
	free(fw->name);
	free(fw->code);
	free(fw->vars);
}

/* Parse descriptor file @f into @fw; -EBADMSG when it is not a JSON object. */
static int firmware_parse(const struct found *f, struct firmware_desc *fw)
{
	json_object *d = json_object_from_file(f->path);
	int r;

	*fw = (struct firmware_desc){ 0 };
	if (!json_object_is_type(d, json_type_object)) {
		json_object_put(d);
		return -EBADMSG;
	}
	fw->name = strdup(f->name);
	r = fw->name ? parse_mapping(d, fw) : -ENOMEM;
	if (r >= 0)
		r = parse_targets(d, fw);
	json_object_put(d);
	if (r < 0)
		firmware_done(fw);
	return r;
}

/* Parse the non-empty files of @files (sorted) into @l. */
static int parse_all(const struct found *files, size_t n, struct firmware_list *l)
{
	l->items = calloc(n ? n : 1, sizeof(*l->items));
	if (!l->items)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int r = files[i].empty ? -EBADMSG : firmware_parse(&files[i], &l->items[l->n]);

		if (r == -ENOMEM)
			return r;
		l->n += r >= 0;
	}
	return 0;
}

int firmware_load(char *const *dirs, struct firmware_list *ret)
{
	struct firmware_list l = { .dirs = strv_copy(dirs) };
	struct found *files = NULL;
	size_t n = 0;
	int r = l.dirs ? 0 : -ENOMEM;

	STRV_FOREACH(d, dirs)
		if (r >= 0)
			r = found_scan(&files, &n, *d);
	if (r >= 0) {
		if (n)
			qsort(files, n, sizeof(*files), found_cmp);
		r = parse_all(files, n, &l);
	}
	for (size_t i = 0; i < n; i++) {
		free(files[i].name);
		free(files[i].path);
	}
	free(files);
	if (r < 0) {
		firmware_list_free(&l);
		return r;
	}
	*ret = l;
	return 0;
}

/* Whether machine-type glob @pattern covers @machine, also through the aliases q35, pc and virt. */
static bool machine_matches(const char *pattern, const char *machine)
{
	char alias[128];

	if (fnmatch(pattern, machine, 0) == 0)
		return true;
	if (strcmp(machine, "q35") == 0)
		snprintf(alias, sizeof(alias), "pc-q35-0");
	else if (strcmp(machine, "pc") == 0)
		snprintf(alias, sizeof(alias), "pc-i440fx-0");
	else
		snprintf(alias, sizeof(alias), "%s-0", machine);
	return fnmatch(pattern, alias, 0) == 0;
}

/* Whether @fw targets @arch with a machine glob covering @machine. */
static bool firmware_targets(const struct firmware_desc *fw, const char *arch, const char *machine)
{
	for (size_t i = 0; i < fw->n_targets; i++)
		if (strcmp(fw->targets[i].arch, arch) == 0)
			STRV_FOREACH(m, fw->targets[i].machines)
				if (machine_matches(*m, machine))
					return true;
	return false;
}

const struct firmware_desc *firmware_find_uefi(const struct firmware_list *l, const char *arch, const char *machine)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->items[i].plain_uefi && firmware_targets(&l->items[i], arch, machine))
			return &l->items[i];
	return NULL;
}

void firmware_list_free(struct firmware_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		firmware_done(&l->items[i]);
	free(l->items);
	strv_free(l->dirs);
	*l = (struct firmware_list){ 0 };
}
