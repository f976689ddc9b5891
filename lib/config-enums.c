/* config-enums.c - the word tables of the config's enums, and their to/from-string functions */
#include "config.h"

#include <errno.h>
#include <string.h>

/* Define a word table for an enum plus its _to_string() and _from_string(). */
#define DEFINE_STRING_TABLE(name, type, max, ...)                             \
	const char *const name##_table[(max) + 1] = { __VA_ARGS__ };         \
	const char *name##_to_string(type v)                                  \
	{                                                                     \
		return (unsigned)v < (unsigned)(max) ? name##_table[v] : NULL; \
	}                                                                     \
	int name##_from_string(const char *s)                                 \
	{                                                                     \
		for (int i = 0; i < (max); i++)                               \
			if (name##_table[i] && strcmp(name##_table[i], s) == 0) \
				return i;                                     \
		return -EINVAL;                                               \
	}

DEFINE_STRING_TABLE(accel, enum accel, _ACCEL_MAX,
		    [ACCEL_AUTO] = "auto", [ACCEL_KVM] = "kvm", [ACCEL_TCG] = "tcg")
DEFINE_STRING_TABLE(firmware, enum firmware, _FIRMWARE_MAX,
		    [FIRMWARE_AUTO] = "auto", [FIRMWARE_BIOS] = "bios", [FIRMWARE_UEFI] = "uefi")
DEFINE_STRING_TABLE(ready_mode, enum ready_mode, _READY_MODE_MAX,
		    [READY_STARTED] = "started", [READY_SSH] = "ssh", [READY_CLOUD_INIT] = "cloud-init")
DEFINE_STRING_TABLE(net_mode, enum net_mode, _NET_MODE_MAX,
		    [NET_USER] = "user", [NET_TAP] = "tap", [NET_NONE] = "none")
DEFINE_STRING_TABLE(disk_format, enum disk_format, _DISK_FORMAT_MAX,
		    [DISK_QCOW2] = "qcow2", [DISK_RAW] = "raw")
DEFINE_STRING_TABLE(image_disk_format, enum image_disk_format, _IMAGE_DISK_FORMAT_MAX,
		    [IMAGE_DISK_AUTO] = "auto", [IMAGE_DISK_QCOW2] = "qcow2", [IMAGE_DISK_RAW] = "raw")
DEFINE_STRING_TABLE(restart_policy, enum restart_policy, _RESTART_POLICY_MAX,
		    [RESTART_NO] = "no", [RESTART_ON_FAILURE] = "on-failure", [RESTART_ALWAYS] = "always")
DEFINE_STRING_TABLE(display, enum display, _DISPLAY_MAX,
		    [DISPLAY_NONE] = "none", [DISPLAY_VNC] = "vnc")
DEFINE_STRING_TABLE(disk_bus, enum disk_bus, _DISK_BUS_MAX,
		    [DISK_BUS_AUTO] = "auto", [DISK_BUS_VIRTIO] = "virtio", [DISK_BUS_SCSI] = "scsi",
		    [DISK_BUS_SATA] = "sata", [DISK_BUS_IDE] = "ide", [DISK_BUS_SD] = "sd")
DEFINE_STRING_TABLE(forward_proto, enum forward_proto, _FORWARD_PROTO_MAX,
		    [FORWARD_TCP] = "tcp", [FORWARD_UDP] = "udp")
DEFINE_STRING_TABLE(share_mode, enum share_mode, _SHARE_MODE_MAX,
		    [SHARE_VIRTIOFS] = "virtiofs", [SHARE_9P] = "9p")

/* The parser stores enum values through an int pointer. */
_Static_assert(sizeof(enum accel) == sizeof(int), "enums must be int-sized");

