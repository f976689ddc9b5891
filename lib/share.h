/* share.h - virtiofs shares: finding virtiofsd, its command line, and the identity it runs with */
#pragma once

#include <sys/types.h>

#include "config.h"

/*
 * Theory of operation (qvm-virtiofsd runs as root; man/qvm-virtiofsd.8 repeats this):
 *
 * - One virtiofsd per [share:NAME] with mode = virtiofs, found through QEMU's
 *   vhost-user descriptors (the first "type": "fs" one by file name; a file in
 *   /etc/qemu/vhost-user hides the one of the same name in /usr/share/qemu/vhost-user).
 * - Root only creates the listening socket runtime_dir/share-NAME.sock, owned by
 *   the VM's user, mode 0600, and hands it to virtiofsd as fd 3 (--fd=3).
 * - Each virtiofsd child then drops every supplementary group and becomes the
 *   owner (uid and gid) of the shared directory, so on the host it can do
 *   exactly what that owner can do, and no more. Then it creates a user
 *   namespace that maps guest-uid/guest-gid to that owner and nothing else, and
 *   keeps capabilities only inside that namespace, for virtiofsd's own sandbox
 *   (sandbox=namespace: new mount, pid and net namespaces, pivot_root into the
 *   shared directory; sandbox=chroot where /proc has mounts over it, see
 *   share_sandbox_mode()). The guest thus reaches the shared tree and nothing above
 *   it: the tree is the root of virtiofsd's mount namespace.
 * - Files the guest user creates belong to the directory's owner on the host;
 *   host files of that owner show up as guest-uid:guest-gid in the guest; every
 *   other host id shows up as the overflow id (65534), and other guest users,
 *   root included, cannot create files (virtiofsd cannot switch to an id that is
 *   not mapped). A root-owned directory can only be shared read-only.
 * - Read-only: the unit binds the directory read-only (BindReadOnlyPaths=) into
 *   qvm-virtiofsd@NAME's mount namespace, so writes fail with EROFS whatever the guest does.
 */

/* Where QEMU's vhost-user descriptors live, in increasing priority; $QVM_VHOST_USER_DIRS
   (colon-separated) replaces the list, as a test seam. */
#define VHOST_USER_DIRS "/usr/share/qemu/vhost-user:/etc/qemu/vhost-user"

/**
 * virtiofsd_find() - the virtiofsd binary named by QEMU's vhost-user descriptors
 * @dirs: colon-separated descriptor directories, lowest priority first
 * @ret: the "binary" of the first "type": "fs" descriptor, by file name
 * Return: 0, or -ENOENT when no descriptor names one
 */
int virtiofsd_find(const char *dirs, char ret[static 4096]);

/**
 * fuse_opt_escape() - @s with ',' and '\' escaped by a backslash, as virtiofsd's
 * -o option parser (libfuse's fuse_opt) needs
 * Return: a new string, or NULL on ENOMEM
 */
char *fuse_opt_escape(const char *s);

/**
 * virtiofsd_argv() - the command line of the virtiofsd of share @s
 * @binary: from virtiofsd_find()
 * @fd: the listening vhost-user socket it inherits
 * @sandbox: "namespace" or "chroot" (see share_sandbox_mode())
 * @ret: new NULL-terminated vector
 * Return: 0, -ENOMEM
 */
int virtiofsd_argv(const struct share_config *s, const char *binary, int fd, const char *sandbox, char ***ret);

/**
 * share_sandbox_mode() - virtiofsd's sandbox here: "namespace" (new mount, pid and
 * net namespaces, pivot_root into the share), unless something is mounted over
 * part of /proc, as in containers: the kernel then refuses the fresh /proc a
 * user namespace would mount, and virtiofsd must use "chroot" (into the share)
 * @mountinfo: normally /proc/self/mountinfo
 * Return: a static string
 */
const char *share_sandbox_mode(const char *mountinfo);

/* Who a virtiofsd runs as on the host: the shared directory's owner. */
struct share_identity {
	uid_t uid;
	gid_t gid;
};

/**
 * share_identity_get() - the owner of @s's directory, which its virtiofsd becomes
 * @diags: why the share cannot be served (missing, not a directory, root-owned and writable)
 * Return: 0, or -EINVAL with the reason in @diags
 */
int share_identity_get(const struct share_config *s, struct share_identity *ret, struct diag_list *diags);

/**
 * share_enter_identity() - in a child about to exec virtiofsd: drop the groups,
 * become @id, create a user namespace mapping guest-uid/gid to it, and keep the
 * capabilities virtiofsd's sandbox needs, inside that namespace only
 * Return: 0, or negative errno (the step that failed is in @step)
 */
int share_enter_identity(const struct share_config *s, const struct share_identity *id, const char **step);
