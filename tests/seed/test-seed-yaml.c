/* test-seed-yaml.c - seed documents parse back with libyaml to exactly the values put in, hostile strings included */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <yaml.h>

#include "cloudinit.h"
#include "config.h"
#include "macro.h"
#include "paths.h"
#include "strv.h"

/* Strings YAML writers get wrong: indicators, quotes, breaks, type look-alikes, unicode. */
static const char *const hostile[] = {
	"plain",
	"'single'", "\"double\"", "it's", "say \"hi\"", "both ' and \"",
	"key: value", "a:b", ":", ": leading", "trailing:", "trailing: ",
	"# comment", "a # b", "a#b", "#",
	"- dash", "-", "--", "---", "...", "--- doc", "... end",
	"!tag", "!!str x", "!!binary", "*alias", "&anchor", "&a *a",
	"{flow: map}", "[flow, seq]", "a, b", "?", "? key", "|", "|-", ">", ">+",
	"%YAML 1.1", "@at", "`tick", "\\back\\slash", "c:\\path",
	"line1\nline2", "\n", "\nleading break", "trailing break\n", "two\n\nbreaks",
	"tab\there", "\t", " leading space", "trailing space ", " ", "  ",
	"cr\r\nlf", "\r",
	"yes", "No", "TRUE", "off", "On", "y", "N", "null", "Null", "~", "",
	"1", "-1", "+1", "1.5", "1e3", "0x1F", "0o17", "017", "1_000", ".5", ".inf", "-.Inf", ".NaN",
	"12:30", "190:20:30", "2001-12-14", "2001-12-14t21:59:43.10-05:00",
	"=", "<<",
	"ünïcödé", "鍵", "🔑", "e\xcc\x81", "\xe2\x80\xa8line sep", "nel\xc2\x85", "bom\xef\xbb\xbf",
	"\x01\x02 control", "del\x7f", "bell\a",
	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ7 user@host",
};

/* Fragments the fuzzer glues together. */
static const char *const fragments[] = {
	"a", "Z", "0", "9", " ", "  ", "\t", "\n", "\r", ":", ": ", " #", "#", "-", "- ", "'", "\"", "\\",
	"!", "!!", "*", "&", "{", "}", "[", "]", ",", "?", "|", ">", "%", "@", "`", "~", "yes", "null",
	"1", ".", "e", "é", "鍵", "🔑", "\xe2\x80\xa8", "\xc2\x85", "\x01", "\x7f", "---", "...",
};

/* Find the value of @key in mapping node @map, or NULL. */
static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	assert_non_null(map);
	assert_int_equal(map->type, YAML_MAPPING_NODE);
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);

		if (k->type == YAML_SCALAR_NODE && strcmp((char *)k->data.scalar.value, key) == 0)
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

/* Item @i of sequence node @seq. */
static yaml_node_t *seq_get(yaml_document_t *doc, yaml_node_t *seq, size_t i)
{
	assert_non_null(seq);
	assert_int_equal(seq->type, YAML_SEQUENCE_NODE);
	assert_true(i < (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start));
	return yaml_document_get_node(doc, seq->data.sequence.items.start[i]);
}

/* Number of items of sequence node @seq. */
static size_t seq_len(yaml_node_t *seq)
{
	assert_int_equal(seq->type, YAML_SEQUENCE_NODE);
	return (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
}

/* Would YAML 1.1 (PyYAML's resolver) read this plain scalar as something other than a string? */
static bool resolves_to_non_string(const char *s)
{
	static const char *const words[] = { "y", "n", "yes", "no", "true", "false", "on", "off", "null", "~", "" };

	for (size_t i = 0; i < ELEMENTSOF(words); i++)
		if (strcasecmp(s, words[i]) == 0)
			return true;
	/* Numbers, timestamps, sexagesimals and .inf/.nan all start like this. */
	return strchr("0123456789+-.", s[0]) != NULL && strlen(s) > 0 &&
	       (s[0] != '-' || strchr("0123456789.", s[1]));
}

/* Assert @node is a scalar equal to @want that a YAML 1.1 reader takes as a string. */
static void assert_string_scalar(yaml_node_t *node, const char *want)
{
	assert_non_null(node);
	assert_int_equal(node->type, YAML_SCALAR_NODE);
	assert_int_equal(node->data.scalar.length, strlen(want));
	assert_memory_equal(node->data.scalar.value, want, strlen(want));
	if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
		assert_false(resolves_to_non_string(want));
}

/* Assert @node is the plain scalar @want (a boolean or number). */
static void assert_plain_scalar(yaml_node_t *node, const char *want)
{
	assert_non_null(node);
	assert_int_equal(node->type, YAML_SCALAR_NODE);
	assert_int_equal(node->data.scalar.style, YAML_PLAIN_SCALAR_STYLE);
	assert_string_equal((char *)node->data.scalar.value, want);
}

/* Parse @text (after an optional "#cloud-config" line) into @doc. */
static void parse(const char *text, yaml_document_t *doc)
{
	yaml_parser_t parser;

	assert_true(yaml_parser_initialize(&parser));
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
	if (!yaml_parser_load(&parser, doc))
		fail_msg("libyaml cannot parse:\n%s\n(%s)", text, parser.problem);
	yaml_parser_delete(&parser);
	assert_non_null(yaml_document_get_root_node(doc));
}

/* A config with a user and every free-form value set to @s. */
static void fill_config(struct vm_config *c, const char *s, char **keys, char **packages)
{
	*c = (struct vm_config){ 0 };
	c->name = (char *)"fuzz";
	c->ci_user = (char *)"dev";
	c->ci_sudo = true;
	c->ci_timezone = (char *)s;
	c->ci_password_hash = (char *)s;
	keys[0] = (char *)s;
	keys[1] = NULL;
	c->ci_ssh_authorized_keys = keys;
	packages[0] = (char *)"git";
	packages[1] = (char *)s;
	packages[2] = NULL;
	c->ci_packages = packages;
}

/* Emit user-data with @s in every free-form field, parse it back, compare. */
static void round_trip(const char *s)
{
	char *keys[2], *packages[3];
	char *file_keys[] = { (char *)s, NULL };
	struct vm_config c;
	_cleanup_free_ char *text = NULL;
	yaml_document_t doc;
	yaml_node_t *root, *user, *k;

	fill_config(&c, s, keys, packages);
	assert_int_equal(cloudinit_user_data(&c, file_keys, &text), 0);
	assert_true(strncmp(text, "#cloud-config\n", 14) == 0);
	parse(text, &doc);
	root = yaml_document_get_root_node(&doc);
	assert_string_scalar(map_get(&doc, root, "timezone"), s);
	assert_string_scalar(map_get(&doc, root, "hostname"), "fuzz");
	user = seq_get(&doc, map_get(&doc, root, "users"), 0);
	assert_string_scalar(map_get(&doc, user, "name"), "dev");
	assert_string_scalar(map_get(&doc, user, "hashed_passwd"), s);
	assert_plain_scalar(map_get(&doc, user, "lock_passwd"), "false");
	assert_string_scalar(map_get(&doc, user, "sudo"), "ALL=(ALL) NOPASSWD:ALL");
	k = map_get(&doc, user, "ssh_authorized_keys");
	assert_int_equal(seq_len(k), 2);
	assert_string_scalar(seq_get(&doc, k, 0), s);
	assert_string_scalar(seq_get(&doc, k, 1), s);
	assert_int_equal(seq_len(map_get(&doc, root, "packages")), 2);
	assert_string_scalar(seq_get(&doc, map_get(&doc, root, "packages"), 0), "git");
	assert_string_scalar(seq_get(&doc, map_get(&doc, root, "packages"), 1), s);
	yaml_document_delete(&doc);
}

/* Every hand-picked hostile string survives the round trip. */
static void test_hostile_strings(void **state)
{
	for (size_t i = 0; i < ELEMENTSOF(hostile); i++)
		round_trip(hostile[i]);
}

/* Random concatenations of dangerous fragments survive too (fixed seed: reproducible). */
static void test_fuzz(void **state)
{
	unsigned x = 20261122;

	for (int i = 0; i < 3000; i++) {
		char buf[256] = "";
		int n;

		x = x * 1103515245u + 12345u;
		n = 1 + (int)((x >> 16) % 8);
		for (int j = 0; j < n; j++) {
			x = x * 1103515245u + 12345u;
			strcat(buf, fragments[(x >> 16) % ELEMENTSOF(fragments)]);
		}
		round_trip(buf);
	}
}

/* Invalid UTF-8 cannot be written as YAML: an error, not a broken document. */
static void test_invalid_utf8(void **state)
{
	char *keys[2], *packages[3];
	struct vm_config c;
	char *text = NULL;

	fill_config(&c, "bad \xff\xfe utf-8", keys, packages);
	assert_int_equal(cloudinit_user_data(&c, NULL, &text), -EINVAL);
	assert_null(text);
}

/* Without user, keys and the password hash go to the default user at the top level. */
static void test_default_user(void **state)
{
	char *keys[] = { (char *)"ssh-ed25519 AAAA a@b", NULL };
	struct vm_config c = { .name = (char *)"vm1", .ci_hostname = (char *)"h.example.org",
			       .ci_ssh_authorized_keys = keys, .ci_password_hash = (char *)"$6$x$y" };
	_cleanup_free_ char *text = NULL;
	yaml_document_t doc;
	yaml_node_t *root;

	assert_int_equal(cloudinit_user_data(&c, NULL, &text), 0);
	parse(text, &doc);
	root = yaml_document_get_root_node(&doc);
	assert_null(map_get(&doc, root, "users"));
	assert_string_scalar(map_get(&doc, root, "hostname"), "h");
	assert_string_scalar(map_get(&doc, root, "fqdn"), "h.example.org");
	assert_string_scalar(seq_get(&doc, map_get(&doc, root, "ssh_authorized_keys"), 0), keys[0]);
	assert_string_scalar(map_get(&doc, root, "password"), "$6$x$y");
	assert_plain_scalar(map_get(&doc, map_get(&doc, root, "chpasswd"), "expire"), "false");
	yaml_document_delete(&doc);
}

/* meta-data: instance-id from name and generation, local-hostname. */
static void test_meta_data(void **state)
{
	struct vm_config c = { .name = (char *)"web-1" };
	_cleanup_free_ char *text = NULL;
	yaml_document_t doc;
	yaml_node_t *root;

	assert_int_equal(cloudinit_meta_data(&c, 7, &text), 0);
	parse(text, &doc);
	root = yaml_document_get_root_node(&doc);
	assert_string_scalar(map_get(&doc, root, "instance-id"), "qvm-web-1-7");
	assert_string_scalar(map_get(&doc, root, "local-hostname"), "web-1");
	yaml_document_delete(&doc);
}

/* vendor-data: the readiness mark as final_message; an admin's file wrapped, boundary not in it. */
static void test_vendor_data(void **state)
{
	const char *mine = "#cloud-config\nruncmd: [ 'echo --==qvm-vendor-data-0== ]\n";
	_cleanup_free_ char *plain = NULL, *wrapped = NULL, *mime = NULL;
	yaml_document_t doc;

	assert_int_equal(cloudinit_vendor_data(NULL, &plain), 0);
	parse(plain, &doc);
	assert_string_scalar(map_get(&doc, yaml_document_get_root_node(&doc), "final_message"),
			     QVM_CLOUD_INIT_DONE_MARK);
	yaml_document_delete(&doc);

	assert_int_equal(cloudinit_vendor_data(mine, &wrapped), 0);
	assert_non_null(strstr(wrapped, mine));
	assert_non_null(strstr(wrapped, "boundary=\"==qvm-vendor-data-1==\""));
	assert_non_null(strstr(wrapped, "final_message: 'qvm-ready: cloud-init finished'"));
	assert_true(strstr(wrapped, mine) < strstr(wrapped, "final_message"));

	assert_int_equal(cloudinit_vendor_data("Content-Type: multipart/mixed; boundary=x\n\n--x--\n", &mime), 0);
	assert_string_equal(mime, "Content-Type: multipart/mixed; boundary=x\n\n--x--\n");
}

/* network-config: only for tap with an address; matched by the VM's MAC, lower case. */
static void test_network_config(void **state)
{
	char *dns[] = { (char *)"10.88.0.1", (char *)"2001:db8::53", NULL };
	struct vm_config c = { .name = (char *)"net1", .net_mode = NET_TAP, .net_address = (char *)"10.88.0.10/24",
			       .net_gateway = (char *)"10.88.0.1", .net_dns = dns };
	_cleanup_free_ char *text = NULL;
	char *none = (char *)"x";
	char mac[18];
	yaml_document_t doc;
	yaml_node_t *root, *eth;

	assert_int_equal(cloudinit_network_config(&c, &text), 0);
	parse(text, &doc);
	root = yaml_document_get_root_node(&doc);
	assert_plain_scalar(map_get(&doc, root, "version"), "2");
	eth = map_get(&doc, map_get(&doc, root, "ethernets"), "eth0");
	assert_string_scalar(map_get(&doc, map_get(&doc, eth, "match"), "macaddress"), vm_mac(&c, mac));
	assert_string_scalar(seq_get(&doc, map_get(&doc, eth, "addresses"), 0), "10.88.0.10/24");
	assert_string_scalar(map_get(&doc, eth, "gateway4"), "10.88.0.1");
	assert_string_scalar(seq_get(&doc, map_get(&doc, map_get(&doc, eth, "nameservers"), "addresses"), 1),
			     "2001:db8::53");
	yaml_document_delete(&doc);

	c.net_address = NULL;
	assert_int_equal(cloudinit_network_config(&c, &none), 0);
	assert_null(none);
	c.net_address = (char *)"10.0.0.2/8";
	c.net_mode = NET_USER;
	none = (char *)"x";
	assert_int_equal(cloudinit_network_config(&c, &none), 0);
	assert_null(none);
}

/* Key files: comments, blank lines and CRLF are dropped; keys kept whole. */
#define KEY1 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHf62m3gkiymOG8vBKaqaHRFQbaMWPzYzv8xk8/W09GD a@b"
#define KEY2 "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBDsZ/QCBKsBDg01q6PBFB5xCecN31uUP55VrBIFEYP4ogZ7EsrkVhWswec8FOa8zTzFa/0i2lwQ38fSQtCMtxVk= c d"

/* Keys, comments and blank lines; CRLF and indentation trimmed. */
static void test_keys_file(void **state)
{
	_cleanup_strv_free_ char **keys = NULL;
	unsigned bad = 0;

	assert_int_equal(cloudinit_parse_keys_file("# team\r\n\n" KEY1 "\r\n  " KEY2 "  \n#x\n", &keys, &bad), 0);
	assert_int_equal(strv_length(keys), 2);
	assert_string_equal(keys[0], KEY1);
	assert_string_equal(keys[1], KEY2);
}

/* M2: only lines that parse as ssh public keys; /etc/passwd, a private key or a forged blob fail at their line. */
static void test_keys_file_refuses_non_keys(void **state)
{
	static const char *const bad_files[] = {
		KEY1 "\nroot:x:0:0:root:/root:/bin/bash\n",
		"-----BEGIN OPENSSH PRIVATE KEY-----\n",
		"ssh-ed25519\n",
		"ssh-ed25519 not-base64!\n",
		"ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIHf62m3gkiymOG8vBKaqaHRFQbaMWPzYzv8xk8/W09GD\n",                  /* an ed25519 blob under the rsa type */
		"command=\"sh\" " KEY1 "\n",    /* options: not accepted */
		"ssh-ed25519 AAAA\n",
	};

	for (size_t i = 0; i < sizeof(bad_files) / sizeof(*bad_files); i++) {
		_cleanup_strv_free_ char **keys = NULL;
		unsigned bad = 0;

		assert_int_equal(cloudinit_parse_keys_file(bad_files[i], &keys, &bad), -EBADMSG);
		assert_int_equal(bad, i == 0 ? 2 : 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_strings),
		cmocka_unit_test(test_fuzz),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_default_user),
		cmocka_unit_test(test_meta_data),
		cmocka_unit_test(test_vendor_data),
		cmocka_unit_test(test_network_config),
		cmocka_unit_test(test_keys_file),
		cmocka_unit_test(test_keys_file_refuses_non_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
