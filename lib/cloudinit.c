/* cloudinit.c - writing the NoCloud seed documents with libyaml's emitter (never printf) */
#include "cloudinit.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/evp.h>
#include <yaml.h>

#include "macro.h"
#include "paths.h"
#include "strv.h"

/* One YAML document being emitted into memory; the first failure sticks in @r. */
struct doc {
	yaml_emitter_t emitter;
	FILE *f;
	char *data;
	size_t size;
	int r;
};

/* Hand one prepared event to the emitter, unless an earlier step failed. */
static void emit(struct doc *d, yaml_event_t *ev, int ok)
{
	if (d->r < 0) {
		if (ok)
			yaml_event_delete(ev);
		return;
	}
	if (!ok) {
		d->r = -ENOMEM;
		return;
	}
	/* yaml_emitter_emit() takes the event, also when it fails. */
	if (!yaml_emitter_emit(&d->emitter, ev))
		d->r = d->emitter.error == YAML_MEMORY_ERROR ? -ENOMEM : -EINVAL;
}

/* Would a YAML 1.1 reader (PyYAML, as in cloud-init) take @s for something other than a string? */
static bool needs_quotes(const char *s)
{
	static const char *const words[] = { "y", "n", "yes", "no", "true", "false", "on", "off", "null" };

	/* Ints, floats, timestamps, .inf, ~ and indicators all start with something else. */
	if (!isalpha((unsigned char)s[0]) && s[0] != '/')
		return true;
	for (size_t i = 0; i < ELEMENTSOF(words); i++)
		if (strcasecmp(s, words[i]) == 0)
			return true;
	return false;
}

/* Is @s well-formed UTF-8 (what libyaml accepts in a scalar)? */
static bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : 9;

		if (n == 9 || (n == 1 && *p < 0xc2))
			return false;
		p++;
		for (; n > 0; n--, p++)
			if ((*p & 0xc0) != 0x80)
				return false;
	}
	return true;
}

/* Emit a string scalar: libyaml picks the style, but never plain where a reader would change its type. */
static void scalar(struct doc *d, const char *s)
{
	yaml_event_t ev;
	int ok;

	ok = yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s),
					  !needs_quotes(s), 1, YAML_ANY_SCALAR_STYLE);
	if (!ok && d->r >= 0 && !utf8_valid(s))
		d->r = -EINVAL;             /* libyaml refuses it; not an allocation failure */
	emit(d, &ev, ok);
}

/* Emit a boolean scalar (plain true/false). */
static void boolean(struct doc *d, bool b)
{
	yaml_event_t ev;
	const char *s = b ? "true" : "false";

	emit(d, &ev, yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s),
						  1, 0, YAML_PLAIN_SCALAR_STYLE));
}

/* Emit an integer scalar (plain). */
static void integer(struct doc *d, unsigned v)
{
	yaml_event_t ev;
	char buf[16];

	snprintf(buf, sizeof(buf), "%u", v);
	emit(d, &ev, yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)buf, (int)strlen(buf),
						  1, 0, YAML_PLAIN_SCALAR_STYLE));
}

/* Open a block mapping. */
static void map_start(struct doc *d)
{
	yaml_event_t ev;

	emit(d, &ev, yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE));
}

static void map_end(struct doc *d)
{
	yaml_event_t ev;

	emit(d, &ev, yaml_mapping_end_event_initialize(&ev));
}

/* Open a block sequence. */
static void seq_start(struct doc *d)
{
	yaml_event_t ev;

	emit(d, &ev, yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE));
}

static void seq_end(struct doc *d)
{
	yaml_event_t ev;

	emit(d, &ev, yaml_sequence_end_event_initialize(&ev));
}

/* Emit "key: value" for a string value. */
static void pair(struct doc *d, const char *key, const char *value)
{
	scalar(d, key);
	scalar(d, value);
}

/* Emit "key: [items...]" as a block sequence. */
static void pair_list(struct doc *d, const char *key, char *const *items)
{
	scalar(d, key);
	seq_start(d);
	STRV_FOREACH(s, items)
		scalar(d, *s);
	seq_end(d);
}

/* Start a document in memory; @header (a comment line such as "#cloud-config\n") goes first. */
static int doc_begin(struct doc *d, const char *header)
{
	yaml_event_t ev;

	*d = (struct doc){ .r = 0 };
	d->f = open_memstream(&d->data, &d->size);
	if (!d->f)
		return -ENOMEM;
	if (!yaml_emitter_initialize(&d->emitter)) {
		fclose(d->f);
		free(d->data);
		return -ENOMEM;
	}
	if (header)
		fputs(header, d->f);
	yaml_emitter_set_output_file(&d->emitter, d->f);
	yaml_emitter_set_unicode(&d->emitter, 1);
	yaml_emitter_set_width(&d->emitter, -1);        /* never fold long lines such as RSA keys */
	yaml_emitter_set_break(&d->emitter, YAML_LN_BREAK);
	emit(d, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING));
	emit(d, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1));
	return 0;
}

/* Finish the document; on success *@ret takes the text. */
static int doc_end(struct doc *d, char **ret)
{
	yaml_event_t ev;
	int r;

	emit(d, &ev, yaml_document_end_event_initialize(&ev, 1));
	emit(d, &ev, yaml_stream_end_event_initialize(&ev));
	if (d->r >= 0 && !yaml_emitter_flush(&d->emitter))
		d->r = -EIO;
	yaml_emitter_delete(&d->emitter);
	if (fclose(d->f) != 0 && d->r >= 0)
		d->r = -ENOMEM;
	r = d->r;
	if (r < 0) {
		free(d->data);
		return r;
	}
	*ret = d->data;
	return 0;
}

int cloudinit_meta_data(const struct vm_config *c, unsigned generation, char **ret)
{
	struct doc d;
	char iid[QVM_NAME_MAX + 32];
	int r;

	snprintf(iid, sizeof(iid), "qvm-%s-%u", c->name, generation);
	r = doc_begin(&d, NULL);
	if (r < 0)
		return r;
	map_start(&d);
	pair(&d, "instance-id", iid);
	pair(&d, "local-hostname", c->ci_hostname ? c->ci_hostname : c->name);
	map_end(&d);
	return doc_end(&d, ret);
}

/* All ssh keys: the ones named in the INI, then the ones from key files. */
static char **all_keys(const struct vm_config *c, char *const *file_keys)
{
	char **v = strv_copy(c->ci_ssh_authorized_keys);

	STRV_FOREACH(k, file_keys)
		if (v && strv_push(&v, *k) < 0)
			v = strv_free(v);
	return v;
}

/* The users: entry for [cloud-init] user = NAME. */
static void user_entry(struct doc *d, const struct vm_config *c, char *const *keys)
{
	seq_start(d);
	map_start(d);
	pair(d, "name", c->ci_user);
	pair(d, "shell", "/bin/bash");
	if (c->ci_sudo)
		pair(d, "sudo", "ALL=(ALL) NOPASSWD:ALL");
	scalar(d, "lock_passwd");
	boolean(d, !c->ci_password_hash);
	if (c->ci_password_hash)
		pair(d, "hashed_passwd", c->ci_password_hash);
	if (keys && keys[0])
		pair_list(d, "ssh_authorized_keys", keys);
	map_end(d);
	seq_end(d);
}

/* The fstab options of share @s in the guest. */
static const char *share_mount_options(const struct share_config *s)
{
	if (s->mode == SHARE_9P)
		return s->readonly ? "trans=virtio,version=9p2000.L,msize=262144,ro,nofail"
				   : "trans=virtio,version=9p2000.L,msize=262144,nofail";
	return s->readonly ? "ro,nofail" : "defaults,nofail";
}

/* "mounts:" with one fstab entry per [share:NAME]: tag, mount point, type, options. */
static void share_mounts(struct doc *d, const struct vm_config *c)
{
	if (c->n_shares == 0)
		return;
	scalar(d, "mounts");
	seq_start(d);
	for (size_t i = 0; i < c->n_shares; i++) {
		const struct share_config *s = &c->shares[i];

		seq_start(d);
		scalar(d, s->name);
		scalar(d, s->mount);
		scalar(d, s->mode == SHARE_9P ? "9p" : "virtiofs");
		scalar(d, share_mount_options(s));
		scalar(d, "0");
		scalar(d, "0");
		seq_end(d);
	}
	seq_end(d);
}

int cloudinit_user_data(const struct vm_config *c, char *const *file_keys, char **ret)
{
	_cleanup_strv_free_ char **keys = all_keys(c, file_keys);
	const char *host = c->ci_hostname ? c->ci_hostname : c->name;
	const char *dot = strchr(host, '.');
	struct doc d;
	int r;

	if (!keys)
		return -ENOMEM;
	r = doc_begin(&d, "#cloud-config\n");
	if (r < 0)
		return r;
	map_start(&d);
	if (dot) {
		_cleanup_free_ char *short_name = strndup(host, (size_t)(dot - host));

		if (!short_name)
			d.r = -ENOMEM;
		else
			pair(&d, "hostname", short_name);
		pair(&d, "fqdn", host);
	} else {
		pair(&d, "hostname", host);
	}
	scalar(&d, "manage_etc_hosts");
	boolean(&d, true);
	if (c->ci_timezone)
		pair(&d, "timezone", c->ci_timezone);
	if (c->ci_user) {
		scalar(&d, "users");
		user_entry(&d, c, keys);
	} else {
		/* The image's default user: top-level keys and password go to it. */
		if (keys[0])
			pair_list(&d, "ssh_authorized_keys", keys);
		if (c->ci_password_hash) {
			pair(&d, "password", c->ci_password_hash);
			scalar(&d, "chpasswd");
			map_start(&d);
			scalar(&d, "expire");
			boolean(&d, false);
			map_end(&d);
		}
	}
	if (c->ci_packages && c->ci_packages[0])
		pair_list(&d, "packages", c->ci_packages);
	share_mounts(&d, c);
	map_end(&d);
	return doc_end(&d, ret);
}

/* qvm's own vendor-data part: only the readiness signal. */
static int signal_part(char **ret)
{
	struct doc d;
	int r;

	r = doc_begin(&d, "#cloud-config\n");
	if (r < 0)
		return r;
	map_start(&d);
	pair(&d, "final_message", QVM_CLOUD_INIT_DONE_MARK);
	map_end(&d);
	return doc_end(&d, ret);
}

/* Is @text a MIME document (which cannot be nested as a text part)? */
static bool is_mime(const char *text)
{
	return strncasecmp(text, "Content-Type:", 13) == 0 || strncasecmp(text, "MIME-Version:", 13) == 0;
}

int cloudinit_vendor_data(const char *user_file, char **ret)
{
	_cleanup_free_ char *part = NULL;
	char boundary[64];
	unsigned n = 0;
	char *out;
	int r;

	if (user_file && is_mime(user_file)) {
		out = strdup(user_file);
		if (!out)
			return -ENOMEM;
		*ret = out;
		return 0;
	}
	r = signal_part(&part);
	if (r < 0 || !user_file) {
		if (r >= 0)
			*ret = TAKE_PTR(part);
		return r;
	}
	/* A boundary that occurs in neither part. */
	do
		snprintf(boundary, sizeof(boundary), "==qvm-vendor-data-%u==", n++);
	while (strstr(user_file, boundary));
	/* text/x-not-multipart makes cloud-init sniff each part's type from its first line. */
	if (asprintf(&out,
		     "Content-Type: multipart/mixed; boundary=\"%s\"\n"
		     "MIME-Version: 1.0\n"
		     "\n"
		     "--%s\n"
		     "Content-Type: text/x-not-multipart; charset=\"utf-8\"\n"
		     "\n"
		     "%s%s"
		     "--%s\n"
		     "Content-Type: text/cloud-config; charset=\"utf-8\"\n"
		     "\n"
		     "%s"
		     "--%s--\n",
		     boundary, boundary, user_file,
		     *user_file && user_file[strlen(user_file) - 1] != '\n' ? "\n" : "",
		     boundary, part, boundary) < 0)
		return -ENOMEM;
	*ret = out;
	return 0;
}

/* Is the part before '/' of "ADDR/PREFIX" an IPv6 address? */
static bool is_ipv6(const char *addr)
{
	return strchr(addr, ':') != NULL;
}

int cloudinit_network_config(const struct vm_config *c, char **ret)
{
	char mac[18];
	struct doc d;
	int r;

	*ret = NULL;
	if (c->net_mode != NET_TAP || !c->net_address)
		return 0;
	vm_mac(c, mac);
	for (char *p = mac; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	r = doc_begin(&d, NULL);
	if (r < 0)
		return r;
	map_start(&d);
	scalar(&d, "version");
	integer(&d, 2);
	scalar(&d, "ethernets");
	map_start(&d);
	scalar(&d, "eth0");
	map_start(&d);
	scalar(&d, "match");
	map_start(&d);
	pair(&d, "macaddress", mac);
	map_end(&d);
	pair(&d, "set-name", "eth0");
	scalar(&d, "addresses");
	seq_start(&d);
	scalar(&d, c->net_address);
	seq_end(&d);
	/* gatewayN rather than routes: the ifupdown renderer turns it into a plain "gateway" line. */
	if (c->net_gateway)
		pair(&d, is_ipv6(c->net_gateway) ? "gateway6" : "gateway4", c->net_gateway);
	if (c->net_dns && c->net_dns[0]) {
		scalar(&d, "nameservers");
		map_start(&d);
		pair_list(&d, "addresses", c->net_dns);
		map_end(&d);
	}
	map_end(&d);
	map_end(&d);
	map_end(&d);
	return doc_end(&d, ret);
}

/* The big-endian uint32 at @p. */
static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool ssh_public_key_valid(const char *line)
{
	static const char *const types[] = {
		"ssh-ed25519", "ssh-rsa", "ssh-dss", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
		"ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com", NULL,
	};
	_cleanup_free_ unsigned char *blob = NULL;
	size_t tlen = strcspn(line, " \t"), blen;
	const char *b64 = line + tlen;
	bool known = false;
	int n;

	for (size_t i = 0; types[i]; i++)
		known |= strlen(types[i]) == tlen && strncmp(line, types[i], tlen) == 0;
	if (!known)
		return false;
	b64 += strspn(b64, " \t");
	blen = strcspn(b64, " \t");
	if (blen < 8 || blen % 4 != 0 || strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") < blen)
		return false;
	blob = malloc(blen);
	if (!blob)
		return false;
	n = EVP_DecodeBlock(blob, (const unsigned char *)b64, (int)blen);
	/* the key blob names its own type first: uint32 length, then the same string */
	return n >= 4 + (int)tlen && be32(blob) == tlen && memcmp(blob + 4, line, tlen) == 0;
}

int cloudinit_parse_keys_file(const char *text, char ***keys, unsigned *bad_line)
{
	const char *p = text;
	unsigned line_no = 0;

	while (*p) {
		size_t len = strcspn(p, "\n");
		size_t end = len;
		size_t start = 0;

		line_no++;
		while (start < end && isspace((unsigned char)p[start]))
			start++;
		while (end > start && isspace((unsigned char)p[end - 1]))
			end--;
		if (end > start && p[start] != '#') {
			_cleanup_free_ char *line = strndup(p + start, end - start);

			if (!line)
				return -ENOMEM;
			if (!ssh_public_key_valid(line)) {
				*bad_line = line_no;
				return -EBADMSG;
			}
			if (strv_push(keys, line) < 0)
				return -ENOMEM;
		}
		p += len;
		if (*p == '\n')
			p++;
	}
	return 0;
}
