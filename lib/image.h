/* image.h - the base image cache and the VM's disks: cache names, verified records, qcow2 headers, qemu-img */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "checksum.h"
#include "config.h"
#include "paths.h"

struct json_object;

/**
 * image_cache_name() - the cache file name for base image @source:
 * 16 hex digits of a hash of the whole source, "-", and its last path component,
 * so VMs with the same source share one file and the name still says what it is
 * Return: 0, or -EINVAL when @source has no file name
 */
int image_cache_name(const char *source, char buf[static 256]);

/**
 * image_record_check() - whether the verified record @path.verified still
 * describes @path (same size, mtime, inode) and holds @expected
 * Return: 1 when it does, 0 when it does not (or is missing)
 */
int image_record_check(const char *path, const struct checksum *expected);

/**
 * image_record_write() - record that @path was verified to hash to @sum
 * Return: 0, or negative errno
 */
int image_record_write(const char *path, const struct checksum *sum);

/**
 * image_record_read() - the checksum in @path's verified record, whatever the file's state
 * Return: 0, -ENOENT, -EBADMSG
 */
int image_record_read(const char *path, struct checksum *ret);

/**
 * qcow2_backing_file() - the backing file named in the header of qcow2 image @path
 * Return: 0 (@buf empty when there is none), or negative errno (-EMEDIUMTYPE: not qcow2)
 */
int qcow2_backing_file(const char *path, char buf[static 4096]);

/**
 * qemu_img_info() - format and virtual size of the image at @path, from
 * `qemu-img info --output=json` (the format is detected, never assumed)
 * @error: qemu-img's own message when it fails
 * Return: 0, or negative errno
 */
int qemu_img_info(const char *path, char format[static 32], uint64_t *virtual_size, char *error, size_t error_size);

/**
 * qemu_img_create() - create image @path with `qemu-img create`, atomically
 * (a temporary name, then rename); never replaces an existing file
 * @backing: base image or NULL; @backing_format: its format
 * @size: bytes, or 0 for the base's size
 * Return: 0, -EEXIST, or negative errno with qemu-img's message in @error
 */
int qemu_img_create(const char *path, const char *format, const char *backing, const char *backing_format,
		    uint64_t size, char *error, size_t error_size);

/**
 * qemu_img_resize() - grow image @path (format @format) to @size bytes with `qemu-img resize`
 * Return: 0, or negative errno with qemu-img's message in @error
 */
int qemu_img_resize(const char *path, const char *format, uint64_t size, char *error, size_t error_size);

/**
 * qemu_img_snapshot() - one internal snapshot operation on qcow2 image @path
 * @op: 'c' create, 'a' apply (revert), 'd' delete
 * @tag: the snapshot's name
 * Return: 0, or negative errno with qemu-img's message in @error
 */
int qemu_img_snapshot(const char *path, char op, const char *tag, char *error, size_t error_size);

/**
 * qemu_img_info_json() - the whole `qemu-img info --output=json` object of @path
 * Return: 0 and *@ret (caller puts it), or negative errno with qemu-img's message in @error
 */
int qemu_img_info_json(const char *path, struct json_object **ret, char *error, size_t error_size);

