/* iso.c - the NoCloud seed volume, written in-process with libisofs */

/*
 * Why libisofs and not a hand-written writer: a NoCloud seed needs ISO9660
 * plus Rock Ridge or Joliet so that the guest sees the lower-case names
 * "user-data", "meta-data" and "network-config". Those extensions (SUSP
 * continuation areas, Joliet's UCS-2 tree, path tables for both trees,
 * both-endian fields) are where small writers go wrong, and a wrong seed only
 * shows as a guest that silently ignores it. libisofs is the library behind
 * xorriso, packaged and maintained in Debian (libisofs-dev), and writes both
 * extensions; the whole image is built in memory and streamed to one fd, so
 * it costs no subprocess and no temporary directory. The price is one
 * dependency and a writer thread that libisofs starts per image.
 */
#include "iso.h"
#include "basic.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <time.h>

/* libisofs.h needs stdint.h, sys/types.h and time.h first, and struct burn_source from itself. */
#define LIBISOFS_WITHOUT_LIBBURN 1
#include <libisofs/libisofs.h>

#include <string.h>
#include <unistd.h>

#include "macro.h"

/* Map a libisofs error code to a negative errno. */
static int iso_errno(int e)
{
	return e == (int)ISO_OUT_OF_MEM ? -ENOMEM : -EIO;
}

/* Add one in-memory file to the root directory of @image. */
static int add_file(IsoImage *image, const struct iso_entry *e)
{
	unsigned char *copy = malloc(e->size ? e->size : 1);
	IsoStream *stream = NULL;
	IsoFile *file = NULL;
	int r;

	if (!copy)
		return -ENOMEM;
	memcpy(copy, e->data, e->size);
	r = iso_memory_stream_new(copy, e->size, &stream);    /* the stream owns @copy */
	if (r < 0) {
		free(copy);
		return iso_errno(r);
	}
	/* On success the new file takes over our reference to the stream. */
	r = iso_tree_add_new_file(iso_image_get_root(image), e->name, stream, &file);
	if (r < 0) {
		iso_stream_unref(stream);
		return r == (int)ISO_OUT_OF_MEM ? -ENOMEM : -EINVAL;
	}
	iso_node_set_permissions((IsoNode *)file, 0444);
	return 0;
}

/* Stream the image from @src to @fd, sector by sector. */
static int drain(struct burn_source *src, int fd)
{
	unsigned char buf[2048];

	for (;;) {
		int n = src->read_xt(src, buf, sizeof(buf));
		int r;

		if (n == 0)
			return 0;
		if (n < 0)
			return -EIO;
		r = write_all(fd, buf, (size_t)n);
		if (r < 0) {
			src->cancel(src);
			return r;
		}
	}
}

/* Build the image with options set up, then stream it to @fd. */
static int write_image(IsoImage *image, int fd)
{
	IsoWriteOpts *opts = NULL;
	struct burn_source *src = NULL;
	int r;

	/* Profile 2: Rock Ridge and Joliet, default permissions and owners (root, 0444). */
	r = iso_write_opts_new(&opts, 2);
	if (r < 0)
		return iso_errno(r);
	iso_write_opts_set_rockridge(opts, 1);
	iso_write_opts_set_joliet(opts, 1);
	/* Joliet names exactly as given: no ";1" version, no forced "." (as genisoimage writes them). */
	iso_write_opts_set_omit_version_numbers(opts, 2);
	iso_write_opts_set_no_force_dots(opts, 2);
	/* Keep the volume id as given ("cidata", as cloud-localds writes it), not upper-cased. */
	iso_write_opts_set_relaxed_vol_atts(opts, 1);
	iso_write_opts_set_fifo_size(opts, 32);           /* 64 KiB ring buffer is plenty */
	r = iso_image_create_burn_source(image, opts, &src);
	iso_write_opts_free(opts);
	if (r < 0)
		return iso_errno(r);
	r = drain(src, fd);
	src->free_data(src);
	free(src);
	return r;
}

int iso_volume_write(int fd, const char *volume_id, const struct iso_entry *files, size_t n)
{
	IsoImage *image = NULL;
	int r;

	if (strlen(volume_id) > 32)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!files[i].name[0] || strchr(files[i].name, '/'))
			return -EINVAL;
	r = iso_init_with_flag(1);                         /* bit0: leave the locale alone */
	if (r < 0)
		return iso_errno(r);
	/* Library code must not print; libisofs would write warnings to stderr. */
	iso_set_msgs_severities("NEVER", "NEVER", "qvm");
	r = iso_image_new(volume_id, &image);
	if (r < 0) {
		iso_finish();
		return iso_errno(r);
	}
	for (size_t i = 0; i < n && r >= 0; i++)
		r = add_file(image, &files[i]);
	if (r >= 0)
		r = write_image(image, fd);
	iso_image_unref(image);
	iso_finish();
	return r < 0 ? r : 0;
}
