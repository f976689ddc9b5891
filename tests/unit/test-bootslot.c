/* test-bootslot.c - unit tests of the boot-limit slots: N holders at most, a slot comes back when its holder closes or dies */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <errno.h>

#include "bootslot.h"

static char tmpdir[] = "/tmp/test-bootslot-XXXXXX";

/* A fresh slot directory path (not yet created: boot_slot_try makes it). */
static void slot_dir(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", tmpdir, name);
}

/* Three slots: three takers get 0, 1, 2; the fourth is refused; closing slot 1 lets the next one have it. */
static void test_limit_and_release(void **state)
{
	char dir[256];
	int fds[3], slot = -1, fd, more;

	(void)state;
	slot_dir(dir, sizeof(dir), "a");
	for (int i = 0; i < 3; i++) {
		fds[i] = boot_slot_try(dir, 3, &slot);
		assert_true(fds[i] >= 0);
		assert_int_equal(slot, i);
	}
	assert_int_equal(boot_slot_try(dir, 3, &slot), -EAGAIN);
	close(fds[1]);
	fd = boot_slot_try(dir, 3, &slot);
	assert_true(fd >= 0);
	assert_int_equal(slot, 1);
	/* a VM with a higher limit still finds a free slot above the others' */
	more = boot_slot_try(dir, 4, &slot);
	assert_true(more >= 0);
	assert_int_equal(slot, 3);
	close(more);
	close(fd);
	close(fds[0]);
	close(fds[2]);
}

/* A launcher that dies holding its slot (SIGKILL, crash) gives it back: the kernel drops the flock. */
static void test_dead_holder_releases(void **state)
{
	char dir[256];
	int pipefd[2], slot = -1, fd;
	pid_t pid;
	char c;

	(void)state;
	slot_dir(dir, sizeof(dir), "b");
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int held = boot_slot_try(dir, 1, &slot);

		if (write(pipefd[1], held >= 0 ? "y" : "n", 1) != 1)
			_exit(2);
		pause();
		_exit(0);
	}
	assert_int_equal(read(pipefd[0], &c, 1), 1);
	assert_int_equal(c, 'y');
	assert_int_equal(boot_slot_try(dir, 1, &slot), -EAGAIN);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	fd = boot_slot_try(dir, 1, &slot);
	assert_true(fd >= 0);
	assert_int_equal(slot, 0);
	close(fd);
	close(pipefd[0]);
	close(pipefd[1]);
}

/* Bad arguments and an unusable directory are errors, not "all taken". */
static void test_errors(void **state)
{
	int slot;

	(void)state;
	assert_int_equal(boot_slot_try(tmpdir, 0, &slot), -EINVAL);
	assert_int_equal(boot_slot_try("/proc/no-such-dir/x", 2, &slot), -ENOENT);
	assert_true(boot_slot_default() >= 1);
}

/* $QVM_RUNTIME_ROOT re-roots the slot directory, like every runtime path. */
static void test_dir_from_env(void **state)
{
	char buf[4096];

	(void)state;
	setenv("QVM_RUNTIME_ROOT", "/srv/rt", 1);
	assert_int_equal(boot_slot_dir(buf), 0);
	assert_string_equal(buf, "/srv/rt/boot-slots");
	unsetenv("QVM_RUNTIME_ROOT");
	assert_int_equal(boot_slot_dir(buf), 0);
	assert_string_equal(buf, "/run/qvm/boot-slots");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit_and_release),
		cmocka_unit_test(test_dead_holder_releases),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_dir_from_env),
	};
	char cmd[128];
	int r;

	if (!mkdtemp(tmpdir))
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	return r;
}
