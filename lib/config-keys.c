/* config-keys.c - the key table: every INI key, its field, type, default, bounds and man page entry */
#include "config-rows.h"

#include "macro.h"

/*
 * Documentation order. .doc is the key's entry in qvm.ini(5) after its
 * ".TP/.B key" line, in roff; man/qvm.ini.5.in holds the prose around the
 * lists, and the build writes the page from both (tools/man-keys.c).
 */
static const struct key_def key_table[] = {

	/* [vm] */
	ROW_STRING("vm", "description", vm_config, description,
		.doc =
		  "(string) Free text shown in Description= and qvm list; default: \"QEMU virtual machine NAME\"."),
	ROW_BOOL("vm", "autostart", vm_config, autostart, .def = "no",
		.doc =
		  "(boolean, default no) Start the VM at host boot. The generator links the VM\n"
		  "into\n"
		  ".BR machines.target.wants/ ,\n"
		  "and links machines.target into multi-user.target.wants/ so that it is reached\n"
		  "at boot even where it is not enabled; without machines.target the VM hangs on\n"
		  "multi-user.target directly."),
	ROW_STRING("vm", "arch", vm_config, arch,
		.doc =
		  "(string) Guest architecture:\n"
		  ".BR x86_64 ,\n"
		  ".BR i386 ,\n"
		  ".BR aarch64 ,\n"
		  ".B arm\n"
		  "or\n"
		  ".BR riscv64 ;\n"
		  "qvm runs\n"
		  ".BR qemu-system-ARCH .\n"
		  "Default: the host's."),
	ROW_STRING("vm", "machine", vm_config, machine,
		.doc =
		  "(string) QEMU machine type. Default: q35 on x86_64 and i386, virt elsewhere.\n"
		  "A machine qvm knows to belong to another architecture (q35 with arch =\n"
		  "aarch64, versatilepb with arch = x86_64) is an error of the config;\n"
		  ".B qvm check\n"
		  "also asks qemu-system-ARCH itself. Boards get their own defaults, so that no\n"
		  "extra-args are needed:\n"
		  ".RS\n"
		  ".TP\n"
		  ".BR versatilepb \", \" versatileab\n"
		  "CPU arm1176 (what Raspberry Pi images built for QEMU expect), one CPU, at\n"
		  "most 256M of RAM, disks on the board's SCSI controller (/dev/sda), the\n"
		  "on-board smc91c111 NIC.\n"
		  ".TP\n"
		  ".BR raspi0 \", \" raspi1ap \", \" raspi2b \", \" raspi3ap \", \" raspi3b\n"
		  "The board's own CPU, CPU count and RAM (512M or 1G), one disk as its SD card\n"
		  "(/dev/mmcblk0; QEMU wants an SD image whose size is a power of two), a\n"
		  "usb-net NIC.\n"
		  ".RE\n"
		  ".IP\n"
		  "Boards have no PCI bus: virtio disks, a CD-ROM and display = vnc need a PCI\n"
		  "machine (q35, pc, virt)."),
	ROW_ENUM("vm", "accel", vm_config, accel, accel, .def = "auto",
		.doc =
		  "(enum: auto, kvm, tcg; default auto) The accelerator.\n"
		  ".B auto\n"
		  "uses KVM when /dev/kvm is usable and TCG (emulation) otherwise; the choice is\n"
		  "shown in\n"
		  ".BR \"systemctl status\" ."),
	ROW_STRING("vm", "cpu", vm_config, cpu,
		.doc =
		  "(string) QEMU CPU model. Default: host with KVM, max with TCG (on aarch64\n"
		  "max,pauth-impdef=on: the architected pointer authentication is slow to\n"
		  "emulate), a board's own CPU on boards (arm1176 on versatilepb)."),
	ROW_INT("vm", "cpus", vm_config, cpus, .def = "2", .min = 1, .max = 1024,
		.doc =
		  "(integer 1\\(en1024, default 2) Number of virtual CPUs."),
	ROW_SIZE("vm", "memory", vm_config, memory, .def = "1G", .min = 16 * MIB, .max = INT64_C(1) << 44,
		.doc =
		  "(size, 16M\\(en16T, default 1G) Guest RAM."),
	ROW_ENUM("vm", "firmware", vm_config, firmware, firmware, .def = "auto",
		.doc =
		  "(enum: auto, bios, uefi; default auto)\n"
		  ".B bios\n"
		  "is SeaBIOS;\n"
		  ".B uefi\n"
		  "is OVMF/AAVMF without Secure Boot, the first by file name of QEMU's firmware descriptors\n"
		  "for the arch and machine (see FILES), with a writable copy of the UEFI variables per VM.\n"
		  ".B auto\n"
		  "means bios on x86, uefi elsewhere."),
	ROW_LIST("vm", "after", vm_config, after, .split = ',',
		.doc =
		  "(list, commas or blanks) VMs or units this VM starts after. A name that ends\n"
		  "in a unit suffix (.service, .target, .mount, ...) is a unit; any other name\n"
		  "is a VM and means\n"
		  ".BR qvm@NAME.service .\n"
		  "Since VMs become active only when ready, a VM after another starts when the\n"
		  "other is ready."),
	ROW_LIST("vm", "requires", vm_config, requires, .split = ',',
		.doc =
		  "(list) VMs or units this VM needs (Requires= and After=): they are started\n"
		  "with it, and it is stopped when they stop."),
	ROW_DURATION("vm", "start-timeout", vm_config, start_timeout, .def = "5min",
		.doc =
		  "(duration, default 5min) How long downloading, preparing, booting and\n"
		  "becoming ready may take in all (TimeoutStartSec=). Helpers extend it while\n"
		  "they make progress (a long download), but never past this budget for the\n"
		  "guest's boot itself."),
	ROW_DURATION("vm", "shutdown-timeout", vm_config, shutdown_timeout, .def = "90s",
		.doc =
		  "(duration, default 90s) How long the guest has to power off after the ACPI\n"
		  "power button before it is forced off. TimeoutStopSec= is set to this plus\n"
		  "15 seconds."),
	ROW_INT("vm", "boot-limit", vm_config, boot_limit, .def = "0", .min = 0, .max = 1024,
		.doc =
		  "(integer 0\\(en1024, default 0: the host's number of online CPUs) This VM's QEMU\n"
		  "starts only while fewer than this many VMs are booting on the host, so that a\n"
		  "host coming up with many\n"
		  ".B autostart\n"
		  "VMs, or many\n"
		  ".B systemctl start\n"
		  "jobs at once, boots them a few at a time instead of letting them all time out\n"
		  "together. A VM boots from QEMU's start until it is\n"
		  ".BR ready ;\n"
		  "with ready = started that is only QEMU's own start-up. While it waits, the unit\n"
		  "is activating with STATUS=waiting for a boot slot, and neither\n"
		  ".B start-timeout\n"
		  "nor systemd's start timeout runs down. The limit is kept with lock files in\n"
		  "/run/qvm/boot-slots (slot N is taken by a VM whose limit is above N), which the\n"
		  "kernel releases when a launcher exits. 1024 is in effect no limit."),
	ROW_ENUM("vm", "ready", vm_config, ready, ready_mode,
		.doc =
		  "(enum: started, ssh, cloud-init) When\n"
		  ".B systemctl start\n"
		  "returns:\n"
		  ".B started\n"
		  "once QEMU runs the guest;\n"
		  ".B ssh\n"
		  "once the guest's sshd answers with its banner;\n"
		  ".B cloud-init\n"
		  "once cloud-init has finished its first-boot work (needs a [cloud-init]\n"
		  "section). Default: ssh when the VM has an ssh endpoint, else started."),
	ROW_ENUM("vm", "restart", vm_config, restart, restart_policy, .def = "on-failure",
		.doc =
		  "(enum: no, on-failure, always; default on-failure) Restart= of the unit. A\n"
		  "guest that powers itself off ends the unit successfully and is not\n"
		  "restarted; a QEMU crash is a failure."),
	ROW_BOOL("vm", "ephemeral", vm_config, ephemeral, .def = "no",
		.doc =
		  "(boolean, default no) A throwaway VM: at every start qvm-image makes a fresh\n"
		  "qcow2 overlay over the base image (or over\n"
		  ".BR \"[image] disk\" ),\n"
		  ".IR /run/qvm/NAME/disk.qcow2 ,\n"
		  "and the guest writes only there. The runtime directory is removed when the\n"
		  "unit stops, so everything the guest wrote is gone; the base image, a\n"
		  "persistent overlay in /var/lib/qvm/NAME and the data disks are not touched.\n"
		  "/run is a tmpfs: what the guest writes takes host memory until the VM stops.\n"
		  "Data disks persist unless they are marked\n"
		  ".B ephemeral\n"
		  "too. The system disk of an ephemeral VM has no snapshots."),
	ROW_ENUM("vm", "display", vm_config, display, display, .def = "none",
		.doc =
		  "(enum: none, vnc; default none) A screen for graphical installers.\n"
		  ".B vnc\n"
		  "adds a graphics card (VGA on x86, virtio-gpu elsewhere), a USB tablet and\n"
		  "keyboard, and a VNC server that listens only on the unix socket\n"
		  ".I /run/qvm/NAME/vnc.sock\n"
		  "(in the VM's 0700 runtime directory: root only), or on 127.0.0.1 with vnc-port.\n"
		  ".B qvm display NAME\n"
		  "prints how to connect, also from another machine through ssh."),
	ROW_INT("vm", "vnc-port", vm_config, vnc_port, .def = "0", .min = 0, .max = 65535,
		.doc =
		  "(integer 0\\(en65535, default 0) With display = vnc: listen on 127.0.0.1:PORT\n"
		  "(5900 or above) instead of the unix socket. VNC has no authentication here:\n"
		  "anyone on the host can connect to a TCP port, only root and qvm to the socket."),
	ROW_ENUM("vm", "disk-bus", vm_config, disk_bus, disk_bus, .def = "auto",
		.doc =
		  "(enum: auto, virtio, scsi, sata, ide, sd; default auto) The bus of the VM's\n"
		  "disks (system disk, [disk:NAME] disks and the cloud-init seed).\n"
		  ".B auto\n"
		  "is the machine's own: virtio on q35, pc and virt, scsi on versatilepb, sd on\n"
		  "raspi*.\n"
		  ".B scsi\n"
		  "is virtio-scsi on PCI machines (disks are /dev/sdX) and the board's SCSI\n"
		  "controller on versatilepb;\n"
		  ".B sata\n"
		  "and\n"
		  ".B ide\n"
		  "use the AHCI ports of q35, the IDE buses of pc, or an added ich9-ahci\n"
		  "elsewhere;\n"
		  ".B sd\n"
		  "is the board's SD slot, which takes one disk."),

	/* [image] */
	ROW_STRING("image", "source", vm_config, image_source,
		.doc =
		  "(string) Base image: an\n"
		  ".BR https:// ,\n"
		  ".B http://\n"
		  "or\n"
		  ".B file:///\n"
		  "URL, or an absolute path. URLs are downloaded once into\n"
		  "/var/cache/qvm/images and shared by every VM with the same source. A local\n"
		  "path is used in place and only ever read."),
	ROW_STRING("image", "checksum", vm_config, image_checksum,
		.doc =
		  "(string)\n"
		  ".BI sha256: HEX\n"
		  "or\n"
		  ".BI sha512: HEX\n"
		  "of the base image. A downloaded image that does not match is refused."),
	ROW_STRING("image", "checksums", vm_config, image_checksums,
		.doc =
		  "(string) URL or path of a\n"
		  ".B SHA256SUMS\n"
		  "or\n"
		  ".B SHA512SUMS\n"
		  "file that lists the image's file name. An image downloaded over http(s) needs\n"
		  ".B checksum\n"
		  "or\n"
		  ".BR checksums .\n"
		  "A checksums file over plain\n"
		  ".B http://\n"
		  "is refused unless it is signed\n"
		  ".RB ( checksums-keyring ):\n"
		  "anyone on the path could rewrite it. Redirects from https never go to http."),
	ROW_PATH("image", "checksums-keyring", vm_config, image_checksums_keyring,
		.doc =
		  "(path) An OpenPGP keyring (binary or armored) for\n"
		  ".BR gpgv (1):\n"
		  "the checksums file must carry a good signature by one of its keys, read from\n"
		  ".B checksums-signature\n"
		  "(a detached signature), or the image is refused. qvm new's presets set it."),
	ROW_STRING("image", "checksums-signature", vm_config, image_checksums_signature,
		.doc =
		  "(string) URL or path of the detached signature of\n"
		  ".BR checksums ;\n"
		  "default: the checksums URL + \".sign\", as Debian publishes SHA512SUMS.sign."),
	ROW_SIZE("image", "size", vm_config, image_size, .min = MIB,
		.doc =
		  "(size) Size the VM's own disk grows to; default: the base image's size.\n"
		  "Raising it grows the disk at the next start (qemu-img resize; cloud-init in\n"
		  "the guest grows its root file system). A disk never shrinks: a size smaller\n"
		  "than the disk (or than the base image) is an error that names both sizes,\n"
		  "and the VM does not start.\n"
		  ".B qvm disk grow\n"
		  "records the size it grew a disk to in\n"
		  ".IR /etc/qvm/NAME.ini.d/90-qvm-disk-size-DISK.conf .\n"
		  ".PP\n"
		  "The VM's own disk is a qcow2 overlay,\n"
		  "/var/lib/qvm/NAME/disk.qcow2, created once by qvm-image with the base image's\n"
		  "format as qemu-img detects it. If the overlay exists but its base is gone,\n"
		  "the VM does not start: qvm never re-creates an overlay, since it holds the\n"
		  "VM's data;\n"
		  ".B qvm reset NAME\n"
		  "discards it on purpose. A downloaded image goes to\n"
		  ".I .NAME.partial\n"
		  "in the cache, is resumed with a Range request after an interruption, is\n"
		  "verified as a whole, and only then renamed into place (mode 0444) under its\n"
		  "checksum,\n"
		  ".IR ALGO-HEX-FILE .\n"
		  "A cached base is never rewritten: a warm start reads nothing and transfers\n"
		  "nothing, and\n"
		  ".B qvm image refresh NAME\n"
		  "re-reads\n"
		  ".B checksums\n"
		  "and stores a new version as a new file that only new overlays (and\n"
		  ".BR \"qvm reset\" )\n"
		  "use; existing disks keep their base. See\n"
		  ".BR qvm-security (7)."),
	ROW_PATH("image", "disk", vm_config, image_disk,
		.doc =
		  "(path) An existing writable disk image used directly, instead of\n"
		  ".BR source ."),
	ROW_ENUM("image", "disk-format", vm_config, image_disk_format, image_disk_format, .def = "auto",
		.doc =
		  "(enum: auto, qcow2, raw; default auto) Format of\n"
		  ".BR disk ,\n"
		  "always passed to QEMU as\n"
		  ".BR format= .\n"
		  "A format is never read from a disk a guest has written: a guest could\n"
		  "write a qcow2 header naming any host file as its backing file. With\n"
		  ".B auto\n"
		  "qvm reads the header once, at the VM's first start, and records the result\n"
		  "in\n"
		  ".IR /var/lib/qvm/VM/disk.format ;\n"
		  "later starts use the record. Set it whenever the disk may have run a guest\n"
		  "before. (The disks qvm makes itself, from\n"
		  ".B source\n"
		  "or blank for an install, are always qcow2.)"),

	/* [disk:NAME] */
	ROW_SIZE("disk", "size", disk_config, size, .min = MIB,
		.doc =
		  "(size) Size of the disk; needed unless\n"
		  ".B path\n"
		  "names an existing file. Raising it grows the disk at the next start; a size\n"
		  "smaller than the disk's is an error (disks never shrink)."),
	ROW_BOOL("disk", "ephemeral", disk_config, ephemeral, .def = "no",
		.doc =
		  "(boolean, default no) The guest's writes go to a fresh qcow2 overlay\n"
		  ".I /run/qvm/VM/NAME.ephemeral.qcow2\n"
		  "over the disk, discarded at stop; the disk itself stays unchanged."),
	ROW_ENUM("disk", "format", disk_config, format, disk_format, .def = "qcow2",
		.doc =
		  "(enum: qcow2, raw; default qcow2) Format of the disk."),
	ROW_PATH("disk", "path", disk_config, path,
		.doc =
		  "(path) Where the disk lives; default:\n"
		  ".I NAME.FORMAT\n"
		  "in the VM's state directory /var/lib/qvm/VM.\n"
		  "Outside the state directory the VM's sandbox may write this one file and\n"
		  "nothing else of its directory (ReadWritePaths= names the file), so qvm cannot\n"
		  "create it there itself: at the first start\n"
		  ".B qvm-image --grant\n"
		  "(as root) creates it with\n"
		  ".B size\n"
		  "and, at every start, gives it to the VM's own uid."),

	/* [share:NAME] */
	ROW_PATH("share", "path", share_config, path,
		.doc =
		  "(path, required) The host directory, in canonical form (no ., .., // or\n"
		  "trailing /), not / itself. The guest reaches this tree and nothing above it:\n"
		  "a symlink in the share that points to /etc, or a path with .., is resolved by\n"
		  "the guest in its own file system, never on the host."),
	ROW_PATH("share", "mount", share_config, mount,
		.doc =
		  "(path; default /mnt/NAME) Where the generated seed mounts the share in the\n"
		  "guest; no blanks or backslashes."),
	ROW_BOOL("share", "readonly", share_config, readonly, .def = "no",
		.doc =
		  "(boolean; default no) The host side binds the directory read-only, and the\n"
		  "guest mounts it with\n"
		  ".BR ro :\n"
		  "writes in the guest fail with EROFS."),
	ROW_ENUM("share", "mode", share_config, mode, share_mode, .def = "virtiofs",
		.doc =
		  "(enum: virtiofs, 9p; default virtiofs)\n"
		  ".B virtiofs\n"
		  "runs one virtiofsd per share (below);\n"
		  ".B 9p\n"
		  "uses QEMU's own 9p server, for guest kernels without virtiofs (Debian's\n"
		  "cloud kernels have virtiofs but no 9p)."),
	ROW_INT("share", "guest-uid", share_config, guest_uid, .def = "1000", .min = 0, .max = 65533,
		.doc =
		  "(integer 0..65533; default 1000) virtiofs: the guest user that acts as the\n"
		  "directory's owner. cloud-init gives the first user it creates uid 1000."),
	ROW_INT("share", "guest-gid", share_config, guest_gid, .def = "1000", .min = 0, .max = 65533,
		.doc =
		  "(integer 0..65533; default 1000) virtiofs: the guest group that acts as the\n"
		  "directory's group."),

	/* [cloud-init] */
	ROW_STRING("cloud-init", "hostname", vm_config, ci_hostname,
		.doc =
		  "(string) Guest hostname; default: the VM name."),
	ROW_STRING("cloud-init", "user", vm_config, ci_user,
		.doc =
		  "(string) User to create; default: the image's default user."),
	ROW_LIST("cloud-init", "ssh-authorized-key", vm_config, ci_ssh_authorized_keys,
		.doc =
		  "(list, one key per line) An ssh public key for the user."),
	ROW_LIST("cloud-init", "ssh-authorized-keys-file", vm_config, ci_ssh_authorized_keys_files,
		.doc =
		  "(list, one path per line) A file of ssh public keys, one per line\n"
		  "(blank lines and\n"
		  ".B #\n"
		  "comments allowed). It is read as root, so it is checked: every other line\n"
		  "must parse as\n"
		  ".I TYPE BASE64\n"
		  "[comment] with a known key type whose key data names that type\n"
		  "(authorized_keys options are not accepted); at most 64 KiB; not a symlink;\n"
		  "owned by root or the user running qvm. A bad line fails the seed at its\n"
		  "line number, without echoing it."),
	ROW_STRING("cloud-init", "password-hash", vm_config, ci_password_hash,
		.doc =
		  "(string) crypt(3) hash of the user's password, as made by\n"
		  ".BR \"mkpasswd -m sha-512\" .\n"
		  "Default: password login locked. The INI is world-readable (every VM's own\n"
		  "user must read it), so a hash here can be read by every local user and is\n"
		  "warned about; prefer\n"
		  ".BR password-hash-file ."),
	ROW_PATH("cloud-init", "password-hash-file", vm_config, ci_password_hash_file,
		.doc =
		  "(path) A file holding the crypt(3) hash on one line, read by systemd on the\n"
		  "VM's behalf (LoadCredential=), so it may be mode 0600, owned by root.\n"
		  "Excludes\n"
		  ".BR password-hash ."),
	ROW_BOOL("cloud-init", "sudo", vm_config, ci_sudo, .def = "yes",
		.doc =
		  "(boolean, default yes) Give the user passwordless sudo."),
	ROW_LIST("cloud-init", "packages", vm_config, ci_packages, .split = ',',
		.doc =
		  "(list, commas or blanks) Packages to install on first boot."),
	ROW_STRING("cloud-init", "timezone", vm_config, ci_timezone,
		.doc =
		  "(string) Guest time zone, for example Europe/Berlin."),
	ROW_PATH("cloud-init", "user-data", vm_config, ci_user_data,
		.doc =
		  "(path) Your own user-data file, used verbatim instead of the generated one;\n"
		  "it cannot be combined with user, ssh keys, password-hash, packages or\n"
		  "timezone."),
	ROW_PATH("cloud-init", "vendor-data", vm_config, ci_vendor_data,
		.doc =
		  "(path) A vendor-data file, used verbatim."),
	ROW_PATH("cloud-init", "network-config", vm_config, ci_network_config,
		.doc =
		  "(path) A network-config file, used verbatim instead of the generated one."),

	/* [network] */
	ROW_ENUM("network", "mode", vm_config, net_mode, net_mode, .def = "user",
		.doc =
		  "(enum: user, tap, none; default user)\n"
		  ".B user\n"
		  "is QEMU's unprivileged NAT: the guest reaches out, the host reaches in\n"
		  "through forwards.\n"
		  ".B tap\n"
		  "puts the guest on a bridge with a tap device that the privileged helper\n"
		  "qvm-net creates before QEMU starts and removes after it stops.\n"
		  ".B none\n"
		  "gives the guest no network."),
	ROW_INT("network", "ssh", vm_config, net_ssh, .def = "0", .max = 65535,
		.doc =
		  "(integer 0\\(en65535, default 0) Host port forwarded to the guest's port 22,\n"
		  "on the\n"
		  ".B listen\n"
		  "address; 0 means none."),
	ROW_LIST("network", "forward", vm_config, net_forwards, .split = ',',
		.doc =
		  "(list) More forwards:\n"
		  ".RI [ tcp | udp :][ host-addr :] host-port : guest-port ;\n"
		  "an IPv6 host address goes in brackets."),
	ROW_STRING("network", "listen", vm_config, net_listen, .def = "127.0.0.1",
		.doc =
		  "(string, default 127.0.0.1) Host address forwards bind to when they name\n"
		  "none. Forwards are reachable from other hosts only when this, or a\n"
		  "forward's own address, says so."),
	ROW_STRING("network", "bridge", vm_config, net_bridge,
		.doc =
		  "(string) Bridge the tap joins (tap mode). qvm creates and configures its own\n"
		  "bridge qvmbr0 (10.88.0.1/24) the first time a VM asks for it, and leaves it in\n"
		  "place when VMs stop; any other bridge must exist and is left alone.\n"
		  "The tap is\n"
		  ".BI qvm- NAME\n"
		  "for names of up to 10 characters, else\n"
		  ".BI qvm- FIRST3 HASH\n"
		  "(8 hex digits; two VMs that meet are rejected), owned by the VM's own uid, alias\n"
		  ".BR qvm:NAME .\n"
		  ".IP\n"
		  "In tap mode,\n"
		  ".B ssh\n"
		  "and the TCP\n"
		  ".B forward\n"
		  "entries need\n"
		  ".B address\n"
		  "and work the same way as in user mode: for each, the generator writes a\n"
		  "socket unit\n"
		  ".BI qvm-fwd- NAME - PORT .socket\n"
		  "listening on the host address (127.0.0.1 unless\n"
		  ".B listen\n"
		  "or the forward says otherwise) and a socket-activated\n"
		  ".BR systemd-socket-proxyd (8)\n"
		  "to the guest's address, running as a dynamic user and stopped with the VM.\n"
		  "qvm uses no firewall rules and never sets route_localnet. UDP forwards exist in\n"
		  "user mode only; in tap mode the guest is reachable on its address.\n"
		  ".IP\n"
		  "Two VMs that forward the same host port are reported by the generator and by\n"
		  ".BR \"qvm check\" ;\n"
		  "both are generated, and the second to start fails to bind."),
	ROW_STRING("network", "address", vm_config, net_address,
		.doc =
		  "(string) Static guest address with prefix, for example 10.88.0.10/24 (tap\n"
		  "mode), written to the seed's network-config. Default: DHCP."),
	ROW_STRING("network", "gateway", vm_config, net_gateway,
		.doc =
		  "(string) Default gateway for a static address."),
	ROW_LIST("network", "dns", vm_config, net_dns, .split = ',',
		.doc =
		  "(list) DNS servers for a static address."),
	ROW_STRING("network", "mac", vm_config, net_mac,
		.doc =
		  "(string) Guest MAC address; default: 52:54:00 followed by three bytes\n"
		  "derived from the VM name, so it is stable."),
	ROW_STRING("network", "model", vm_config, net_model,
		.doc =
		  "(string) The NIC model:\n"
		  ".B virtio\n"
		  "(virtio-net-pci), a QEMU device such as\n"
		  ".BR e1000 ,\n"
		  ".B e1000e\n"
		  "or\n"
		  ".BR rtl8139 ,\n"
		  ".B usb-net\n"
		  "(a USB network adapter), or a board's on-board NIC\n"
		  ".RB ( smc91c111 ,\n"
		  ".BR lan9118 ).\n"
		  "Default: the machine's (virtio; smc91c111 on versatilepb; usb-net on raspi*)."),

	/* [boot] */
	ROW_PATH("boot", "kernel", vm_config, boot_kernel,
		.doc =
		  "(path) Kernel for direct kernel boot."),
	ROW_PATH("boot", "initrd", vm_config, boot_initrd,
		.doc =
		  "(path) Initrd for direct kernel boot (needs kernel)."),
	ROW_STRING("boot", "append", vm_config, boot_append,
		.doc =
		  "(string) Kernel command line for direct kernel boot (needs kernel)."),
	ROW_PATH("boot", "cdrom", vm_config, boot_cdrom,
		.doc =
		  "(path) ISO image attached read-only as a CD-ROM, for installer media. Until\n"
		  "the install is over, the CD boots first and the disk second. The install is\n"
		  "over when the guest, booted that way, reboots or powers itself off (not when\n"
		  "the VM is stopped): qvm-launch then writes\n"
		  ".I /var/lib/qvm/NAME/installed\n"
		  "and takes the CD out before the reboot, and from then on the disk boots\n"
		  "first and the CD stays attached behind it. So the installer's final reboot\n"
		  "comes up in the installed system with no edit of the config.\n"
		  ".B qvm reset NAME\n"
		  "discards the disk and that record, for a fresh install.\n"
		  "With [image] size and no source or disk, the VM gets a blank qcow2 disk of\n"
		  "that size to install on."),
	ROW_PATH("boot", "dtb", vm_config, boot_dtb,
		.doc =
		  "(path) Device tree blob for direct kernel boot (needs kernel), for ARM boards."),

	/* [qemu] */
	ROW_PATH("qemu", "binary", vm_config, qemu_binary,
		.doc =
		  "(path) QEMU executable; default:\n"
		  ".B qemu-system-ARCH\n"
		  "from PATH."),
	ROW_LIST("qemu", "extra-args", vm_config, qemu_extra_args, .split = ' ',
		.doc =
		  "(list, split at blanks) Extra QEMU arguments, appended last. No shell is\n"
		  "involved and there is no quoting: each blank-separated word is one argument."),
	ROW_STRING("qemu", "gdb", vm_config, qemu_gdb,
		.doc =
		  "(string) QEMU's gdb stub. The stub gives full control of the guest and has no\n"
		  "authentication, so it listens only on loopback:\n"
		  ".B PORT\n"
		  "or\n"
		  ".B 127.0.0.1:PORT\n"
		  "(also [::1]:PORT), or\n"
		  ".B unix\n"
		  "for the socket\n"
		  ".IR /run/qvm/NAME/gdb.sock ,\n"
		  "in the VM's 0700 runtime directory: only root can connect. A loopback TCP\n"
		  "port is open to every local user; prefer\n"
		  ".BR unix .\n"
		  "Other addresses are an error; reach a remote stub through\n"
		  ".BR \"ssh -L\" ."),
	ROW_BOOL("qemu", "gdb-wait", vm_config, qemu_gdb_wait, .def = "no",
		.doc =
		  "(boolean, default no) Start QEMU paused before the guest's first instruction\n"
		  "(-S) with the gdb stub on (gdb = unix unless gdb is set). The unit is ready\n"
		  "at once, whatever\n"
		  ".B ready\n"
		  "says, with the status \"waiting for gdb on ADDRESS\"; the guest boots when the\n"
		  "debugger continues, for example\n"
		  ".EX\n"
		  "gdb-multiarch -ex 'target remote /run/qvm/NAME/gdb.sock' -ex continue vmlinux\n"
		  ".EE"),
	ROW_STRING("qemu", "icount", vm_config, qemu_icount,
		.doc =
		  "(string) Value of QEMU's\n"
		  ".B -icount\n"
		  "option, for example shift=auto. QEMU allows it with TCG only: with accel =\n"
		  "auto the VM runs under TCG even where KVM works, and accel = kvm with icount\n"
		  "is an error of the config."),
	ROW_PATH("qemu", "readconfig", vm_config, qemu_readconfig,
		.doc =
		  "(path) A QEMU\n"
		  ".B -readconfig\n"
		  "file passed through."),
	ROW_STRING("qemu", "monitor-group", vm_config, qemu_monitor_group,
		.doc =
		  "(string) A group whose members may use the VM's monitor\n"
		  ".RB ( \"qvm monitor\" ,\n"
		  ".BR \"qvm qmp\" ,\n"
		  "live\n"
		  ".B qvm snapshot\n"
		  "and\n"
		  ".BR \"qvm disk grow\" )\n"
		  "besides root. The monitor is a second QMP socket,\n"
		  ".I /run/qvm/NAME/monitor.sock\n"
		  "(mode 0600; with monitor-group 0660 and that group); the launcher's own QMP\n"
		  "connection is separate, so its events and its stop sequence never depend on a\n"
		  "monitor client. With this key the generator adds the group to the unit's\n"
		  ".B SupplementaryGroups=\n"
		  "(so the launcher may hand the socket to it), makes the runtime directory\n"
		  "traversable (mode 0751), allows chown() and sets PrivateUsers=no: in a\n"
		  "private user namespace the group would not exist (see qvm-security(7))."),
};

const struct key_def *config_keys(size_t *n)
{
	*n = ELEMENTSOF(key_table);
	return key_table;
}

_Static_assert(ELEMENTSOF(key_table) <= CONFIG_KEYS_MAX, "raise CONFIG_KEYS_MAX in config-internal.h");
