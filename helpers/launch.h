/* launch.h - qvm-launch's work: QEMU as a supervised child, readiness, graceful stop, the console in the journal */
#pragma once

#include "config.h"

/**
 * launch_vm() - run VM @c until QEMU exits: start QEMU, talk QMP, log the
 * console, notify systemd (STATUS=, READY=1, STOPPING=1), and on SIGTERM shut
 * the guest down through ACPI, then QMP quit, then SIGKILL
 * Return: the process exit status: 0 when the guest powered off or was
 * stopped, 1 when QEMU failed, crashed or the guest never became ready
 */
int launch_vm(const struct vm_config *c);
