/* test-crosscheck.c - cmocka tests of qvm check's cross-VM checks and qvm new's INI template */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "crosscheck.h"
#include "fixture.h"
#include "strv.h"
#include "vmtemplate.h"

/* Up to 8 VMs loaded for one test. */
struct vms {
	struct vm_config *c[8];
	size_t n;
	char **names;
};

/* Write and load VM @name with @text; it must be valid. */
static void add_vm(struct vms *v, const char *name, const char *text)
{
	_cleanup_diag_list_ struct diag_list d = { 0 };
	int r = fixture_load(name, text, &v->c[v->n], &d);
	diag_print(&d, stderr, "");
	assert_int_equal(r, 0);
	v->n++;
	assert_int_equal(strv_push(&v->names, name), 0);
}

static void vms_free(struct vms *v)
{
	for (size_t i = 0; i < v->n; i++)
		config_free(v->c[i]);
	strv_free(v->names);
}

/* The set over all of @v. */
static struct crosscheck_set set_of(struct vms *v)
{
	return (struct crosscheck_set){ (const struct vm_config *const *)v->c, v->n, v->names, NULL };
}

static void test_cycle_found(void **state)
{
	_cleanup_diag_list_ struct diag_list e = { 0 };
	struct vms v = { 0 };

	add_vm(&v, "a", "[vm]\nafter = b\n" BOOTABLE);
	add_vm(&v, "b", "[vm]\nrequires = qvm@c.service\n" BOOTABLE);
	add_vm(&v, "c", "[vm]\nafter = a, network-online.target\n" BOOTABLE);
	add_vm(&v, "d", "[vm]\nafter = a\n" BOOTABLE);
	struct crosscheck_set s = set_of(&v);
	assert_int_equal(crosscheck_cycles(&s, &e), 1);
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.items[0].message, "a -> b -> c -> a"));
	vms_free(&v);
}

static void test_no_cycle(void **state)
{
	_cleanup_diag_list_ struct diag_list e = { 0 };
	struct vms v = { 0 };

	/* A diamond is not a cycle. */
	add_vm(&v, "a", "[vm]\nafter = b, c\n" BOOTABLE);
	add_vm(&v, "b", "[vm]\nafter = d\n" BOOTABLE);
	add_vm(&v, "c", "[vm]\nafter = d\n" BOOTABLE);
	add_vm(&v, "d", BOOTABLE);
	struct crosscheck_set s = set_of(&v);
	assert_int_equal(crosscheck_cycles(&s, &e), 0);
	assert_int_equal(e.n, 0);
	vms_free(&v);
}

static void test_two_cycles_reported_once_each(void **state)
{
	_cleanup_diag_list_ struct diag_list e = { 0 };
	struct vms v = { 0 };

	add_vm(&v, "a", "[vm]\nafter = b\n" BOOTABLE);
	add_vm(&v, "b", "[vm]\nafter = a\n" BOOTABLE);
	add_vm(&v, "x", "[vm]\nafter = y\n" BOOTABLE);
	add_vm(&v, "y", "[vm]\nafter = x\n" BOOTABLE);
	struct crosscheck_set s = set_of(&v);
	assert_int_equal(crosscheck_cycles(&s, &e), 2);
	assert_true(has_diag(&e, 0, "a -> b -> a"));
	assert_true(has_diag(&e, 0, "x -> y -> x"));
	vms_free(&v);
}

static void test_missing_refs(void **state)
{
	_cleanup_diag_list_ struct diag_list e = { 0 }, w = { 0 };
	struct vms v = { 0 };

	add_vm(&v, "a", "[vm]\nafter = ghost, b, sshd.service\nrequires = qvm@phantom.service\n" BOOTABLE);
	add_vm(&v, "b", "[vm]\nafter = broken\n" BOOTABLE);
	assert_int_equal(strv_push(&v.names, "broken"), 0);  /* exists, but failed to load */
	struct crosscheck_set s = set_of(&v);
	assert_int_equal(crosscheck_references(&s, &e, &w), 2);
	assert_int_equal(e.n, 1);
	assert_true(has_diag(&e, 0, "requires = qvm@phantom.service: there is no VM phantom"));
	assert_int_equal(w.n, 1);
	assert_true(has_diag(&w, 0, "after = ghost: there is no VM ghost"));
	vms_free(&v);
}

static void test_port_clash(void **state)
{
	_cleanup_diag_list_ struct diag_list e = { 0 };
	struct vms v = { 0 };

	add_vm(&v, "a", "[network]\nssh = 2222\nforward = udp:5353:53\n" BOOTABLE);
	add_vm(&v, "b", "[network]\nssh = 2223\nforward = tcp:2222:22\n" BOOTABLE);
	add_vm(&v, "c", "[network]\nforward = tcp:5353:53\nforward = udp:0.0.0.0:5353:53\n" BOOTABLE);
	add_vm(&v, "d", "[network]\nmode = none\n" BOOTABLE);
	add_vm(&v, "e", "[network]\nforward = tcp:127.0.0.2:2223:22\n" BOOTABLE);
	struct crosscheck_set s = set_of(&v);
	assert_int_equal(crosscheck_ports(&s, &e), 2);
	assert_true(has_diag(&e, 0, "tcp port 127.0.0.1:2222 is also forwarded by VM a"));
	assert_true(has_diag(&e, 0, "udp port 0.0.0.0:5353 is also forwarded by VM a"));
	vms_free(&v);
}

static void test_report_filter(void **state)
{
	_cleanup_diag_list_ struct diag_list e = { 0 };
	struct vms v = { 0 };
	const bool report[] = { false, false, true };

	add_vm(&v, "a", "[network]\nssh = 2222\n" BOOTABLE);
	add_vm(&v, "b", "[network]\nssh = 2222\n" BOOTABLE);
	add_vm(&v, "c", "[network]\nssh = 2224\n" BOOTABLE);
	struct crosscheck_set s = set_of(&v);
	s.report = report;
	assert_int_equal(crosscheck_ports(&s, &e), 0);
	assert_int_equal(e.n, 0);
	vms_free(&v);
}

static void test_template_loads(void **state)
{
	_cleanup_diag_list_ struct diag_list d = { 0 };
	_cleanup_config_free_ struct vm_config *c = NULL;
	_cleanup_free_ char *text = NULL;
	struct image_preset p;
	struct vm_template t = { .name = "fresh", .user = "alice", .ssh_port = 2230,
				 .ssh_key_file = "/root/.ssh/id_ed25519.pub" };
	char host[64];
	int port;

	assert_int_equal(image_preset_find("ubuntu-24.04", "amd64", &p), 0);
	t.source = p.source, t.checksums = p.checksums, t.label = p.label;
	assert_int_equal(vm_template_render(&t, &text), 0);
	int r = fixture_load("fresh", text, &c, &d);
	diag_print(&d, stderr, "");
	assert_int_equal(r, 0);
	assert_int_equal(d.n, 0);
	assert_string_equal(c->image_source,
			    "https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img");
	assert_string_equal(c->image_checksums, "https://cloud-images.ubuntu.com/noble/current/SHA256SUMS");
	assert_string_equal(c->ci_user, "alice");
	assert_string_equal(c->ci_ssh_authorized_keys_files[0], "/root/.ssh/id_ed25519.pub");
	assert_true(config_ssh_endpoint(c, host, &port));
	assert_int_equal(port, 2230);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(c->ready, READY_SSH);
	assert_false(c->autostart);
}

static void test_template_rejects_bad_values(void **state)
{
	char *text = NULL;
	struct vm_template t = { .name = "x", .user = "dev", .ssh_port = 2222, .source = "/a\nb" };

	assert_int_equal(vm_template_render(&t, &text), -EINVAL);
	t.source = "/srv/img ;x.qcow2";
	assert_int_equal(vm_template_render(&t, &text), -EINVAL);
	t.source = "/srv/img.qcow2";
	t.ssh_port = 0;
	assert_int_equal(vm_template_render(&t, &text), -EINVAL);
	assert_null(text);
}

static void test_presets(void **state)
{
	struct image_preset p;

	assert_int_equal(image_preset_find("debian-12", "arm64", &p), 0);
	assert_string_equal(p.source,
			    "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-arm64.qcow2");
	assert_string_equal(p.checksums, "https://cloud.debian.org/images/cloud/bookworm/latest/SHA512SUMS");
	assert_int_equal(image_preset_find("debian-12", "riscv64", &p), -EOPNOTSUPP);
	assert_int_equal(image_preset_find("windows-95", "amd64", &p), -ENOENT);
	assert_string_equal(debian_arch("x86_64"), "amd64");
	assert_null(debian_arch("riscv64"));
}

static void test_port_pick(void **state)
{
	struct vms v = { 0 };

	assert_int_equal(ssh_port_pick(NULL, 0, 2222), 2222);
	add_vm(&v, "a", "[network]\nssh = 2222\n" BOOTABLE);
	add_vm(&v, "b", "[network]\nssh = 2224\nforward = tcp:2223:80\nforward = udp:2225:53\n" BOOTABLE);
	assert_int_equal(ssh_port_pick((const struct vm_config *const *)v.c, v.n, 2222), 2225);
	vms_free(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cycle_found, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_no_cycle, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_two_cycles_reported_once_each, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_missing_refs, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_port_clash, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_report_filter, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_template_loads, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_template_rejects_bad_values, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_presets, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_port_pick, fixture_setup, fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
