/* cloudinit.h - the NoCloud seed documents (meta-data, user-data, vendor-data, network-config) of a VM */
#pragma once

#include <stdbool.h>

#include "config.h"

/*
 * Rules the seed follows (man/qvm.ini.5 and README repeat them for users):
 *
 * - instance-id is "qvm-NAME-GEN". GEN is a generation number kept in the
 *   VM's state dir (seed.generation, starting at 1); only `qvm-seed --reseed`
 *   (`qvm reseed NAME`) raises it. Editing [cloud-init] rewrites the seed but
 *   keeps the instance-id, so cloud-init in an existing guest does not run
 *   its per-instance modules again until you reseed.
 * - user-data: unless `user-data = FILE` is given (then that file is used
 *   verbatim), qvm writes a #cloud-config document. With `user = NAME` it
 *   creates exactly that user (not the image's default user) with shell
 *   /bin/bash, the ssh keys, passwordless sudo unless `sudo = no`, and a
 *   locked password unless `password-hash` is given. Without `user` the keys
 *   and the password hash go to the image's default user, whose sudo rights
 *   the image decides.
 * - vendor-data carries the readiness signal: final_message is set to
 *   QVM_CLOUD_INIT_DONE_MARK. cloud-init prints the final message in its last
 *   (final) stage on every boot; cloud-final.service sends it to the journal
 *   and the console, i.e. the serial console with console=ttyS0. cloud-init
 *   merges vendor-data under user-data, so this also works with a verbatim
 *   user-data file, unless that file sets its own final_message or turns
 *   vendor-data off. A `vendor-data = FILE` is wrapped together with qvm's
 *   part in a MIME multipart document (qvm's part last, so it wins); a file
 *   that is itself MIME multipart is used verbatim, without the signal.
 * - network-config (version 2) is written only for [network] mode = tap with
 *   address =: the NIC with the VM's MAC gets that address, gateway and dns.
 *   Otherwise the image's default (DHCP) applies. `network-config = FILE` is
 *   used verbatim.
 */

/**
 * cloudinit_meta_data() - the meta-data document
 * @c: config (name, hostname)
 * @generation: instance generation, >= 1
 * @ret: new NUL-terminated YAML text
 * Return: 0, -EINVAL when a value cannot be emitted, -ENOMEM
 */
int cloudinit_meta_data(const struct vm_config *c, unsigned generation, char **ret);

/**
 * cloudinit_user_data() - the generated #cloud-config user-data
 * @c: config ([cloud-init] keys)
 * @file_keys: keys read from ssh-authorized-keys-file files (may be NULL)
 * @ret: new NUL-terminated text starting with "#cloud-config\n"
 * Return: 0, -EINVAL when a value cannot be emitted (e.g. invalid UTF-8), -ENOMEM
 */
int cloudinit_user_data(const struct vm_config *c, char *const *file_keys, char **ret);

/**
 * cloudinit_vendor_data() - vendor-data carrying the readiness signal
 * @user_file: content of the admin's vendor-data file, or NULL
 * @ret: new NUL-terminated text
 * Return: 0, -EINVAL, -ENOMEM
 */
int cloudinit_vendor_data(const char *user_file, char **ret);

/**
 * cloudinit_network_config() - generated network-config v2, when one is needed
 * @c: config ([network])
 * @ret: new NUL-terminated YAML text, or NULL when the VM needs none
 * Return: 0, -EINVAL, -ENOMEM
 */
int cloudinit_network_config(const struct vm_config *c, char **ret);

/**
 * ssh_public_key_valid() - whether @line is an ssh public key: a known key
 * type, then base64 whose key blob names that same type, then an optional
 * comment (authorized_keys options are not accepted)
 * Return: true or false
 */
bool ssh_public_key_valid(const char *line);

/**
 * cloudinit_parse_keys_file() - the ssh keys in the text of an authorized_keys file
 * @text: file content
 * @keys: each non-empty line that is not a '#' comment is appended (without "\r\n")
 * @bad_line: set to the 1-based number of a line that is not an ssh public key
 * Return: 0, -EBADMSG for such a line (nothing of it is kept, nor echoed), -ENOMEM
 */
int cloudinit_parse_keys_file(const char *text, char ***keys, unsigned *bad_line);
