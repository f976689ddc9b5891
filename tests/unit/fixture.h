/* fixture.h - what the config unit tests share: a temporary config dir, INIs written into it, diagnostics */
#pragma once

#include <stdbool.h>

#include "config.h"
#include "diag.h"

/* The smallest [boot] that makes a VM valid without an image. */
#define BOOTABLE "[boot]\nkernel = /boot/vmlinuz\n"

/* The config dir of the running test: made by fixture_setup(), removed by fixture_teardown(). */
extern char fixture_dir[];

/**
 * fixture_setup() - make a fresh, empty fixture_dir (a cmocka setup, per group or per test)
 * Return: 0
 */
int fixture_setup(void **state);

/**
 * fixture_teardown() - remove fixture_dir and everything in it (a cmocka teardown)
 * Return: 0, or -1 when something could not be removed
 */
int fixture_teardown(void **state);

/**
 * fixture_write() - write @text to fixture_dir/@rel, creating its parent directories
 */
void fixture_write(const char *rel, const char *text);

/**
 * fixture_load() - write @text as fixture_dir/@name.ini and load VM @name with config_load()
 * Return: what config_load() returns
 */
int fixture_load(const char *name, const char *text, struct vm_config **c, struct diag_list *d);

/**
 * has_diag() - whether a diagnostic on @line (0: any line) contains @needle; when none does,
 * all of @d is printed to stderr, so that a failing assertion shows what was said instead
 */
bool has_diag(const struct diag_list *d, unsigned line, const char *needle);
