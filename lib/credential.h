/* credential.h - files a VM's helpers read through systemd credentials (LoadCredential=) */
#pragma once

/*
 * Helpers run as the unprivileged qvm user behind ProtectHome=, so they may
 * not be able to read files the admin names in the INI (for example
 * /root/.ssh/id_ed25519.pub). qvm-generator therefore turns every such file
 * into a LoadCredential= line; systemd reads it as root and hands the copy to
 * the service in $CREDENTIALS_DIRECTORY. These are the credential names.
 */
#define CRED_SSH_KEYS_FMT "qvm.ssh-keys.%zu"   /* index into ssh-authorized-keys-file */
#define CRED_USER_DATA "qvm.user-data"
#define CRED_VENDOR_DATA "qvm.vendor-data"
#define CRED_NETWORK_CONFIG "qvm.network-config"
#define CRED_PASSWORD_HASH "qvm.password-hash"

/**
 * credential_open() - open the credential @name, or @path when run outside systemd
 * Return: a read-only fd, or negative errno (for @path)
 */
int credential_open(const char *name, const char *path);
