/* values.c - parsing and formatting of the INI value types */
#include "values.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "macro.h"

int parse_bool(const char *s, bool *ret)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return *ret = true, 0;
		if (strcasecmp(s, no[i]) == 0)
			return *ret = false, 0;
	}
	return -EINVAL;
}

int parse_int(const char *s, int64_t *ret)
{
	char *end;
	long long v;

	if (!*s || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end || end == s)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Parse a leading unsigned decimal number; *end is set past it. */
static int parse_leading_u64(const char *s, uint64_t *ret, const char **end)
{
	uint64_t v = 0;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*ret = v;
	*end = p;
	return 0;
}

int parse_size(const char *s, uint64_t *ret)
{
	static const struct { const char *suffix; unsigned shift; } units[] = {
		{ "", 0 }, { "B", 0 },
		{ "K", 10 }, { "KB", 10 }, { "KiB", 10 },
		{ "M", 20 }, { "MB", 20 }, { "MiB", 20 },
		{ "G", 30 }, { "GB", 30 }, { "GiB", 30 },
		{ "T", 40 }, { "TB", 40 }, { "TiB", 40 },
	};
	const char *end;
	uint64_t v;
	int r;

	r = parse_leading_u64(s, &v, &end);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ELEMENTSOF(units); i++) {
		if (strcasecmp(end, units[i].suffix) != 0)
			continue;
		if (units[i].shift && v > (UINT64_MAX >> units[i].shift))
			return -ERANGE;
		*ret = v << units[i].shift;
		return 0;
	}
	return -EINVAL;
}

/* Microseconds per unit for one systemd time-span suffix, or 0. */
static uint64_t duration_unit(const char *u, size_t len)
{
	static const struct { const char *name; uint64_t usec; } units[] = {
		{ "us", 1 }, { "usec", 1 },
		{ "ms", 1000 }, { "msec", 1000 },
		{ "s", 1000000 }, { "sec", 1000000 }, { "second", 1000000 }, { "seconds", 1000000 },
		{ "m", 60000000 }, { "min", 60000000 }, { "minute", 60000000 }, { "minutes", 60000000 },
		{ "h", 3600000000ULL }, { "hr", 3600000000ULL }, { "hour", 3600000000ULL },
		{ "hours", 3600000000ULL },
		{ "d", 86400000000ULL }, { "day", 86400000000ULL }, { "days", 86400000000ULL },
	};

	if (len == 0)
		return 1000000; /* a bare number is seconds */
	for (size_t i = 0; i < ELEMENTSOF(units); i++)
		if (strlen(units[i].name) == len && strncmp(units[i].name, u, len) == 0)
			return units[i].usec;
	return 0;
}

int parse_duration(const char *s, uint64_t *ret)
{
	uint64_t total = 0;
	const char *p = s;
	bool any = false;

	if (strcasecmp(s, "infinity") == 0)
		return *ret = UINT64_MAX, 0;
	while (*p) {
		const char *end, *unit;
		uint64_t v, mult;
		int r;

		while (*p == ' ')
			p++;
		if (!*p)
			break;
		r = parse_leading_u64(p, &v, &end);
		if (r < 0)
			return r;
		while (*end == ' ')
			end++;
		unit = end;
		while (isalpha((unsigned char)*end))
			end++;
		mult = duration_unit(unit, (size_t)(end - unit));
		if (mult == 0)
			return -EINVAL;
		if (v > (UINT64_MAX - total) / mult)
			return -ERANGE;
		total += v * mult;
		any = true;
		p = end;
	}
	if (!any)
		return -EINVAL;
	*ret = total;
	return 0;
}

char *format_duration(char *buf, size_t len, uint64_t usec)
{
	static const struct { const char *suffix; uint64_t usec; } units[] = {
		{ "d", 86400000000ULL }, { "h", 3600000000ULL }, { "min", 60000000ULL },
		{ "s", 1000000ULL }, { "ms", 1000ULL }, { "us", 1ULL },
	};
	size_t used = 0;

	if (usec == UINT64_MAX) {
		snprintf(buf, len, "infinity");
		return buf;
	}
	if (usec == 0) {
		snprintf(buf, len, "0");
		return buf;
	}
	buf[0] = '\0';
	for (size_t i = 0; i < ELEMENTSOF(units) && usec > 0; i++) {
		uint64_t n = usec / units[i].usec;

		if (n == 0)
			continue;
		usec -= n * units[i].usec;
		used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%" PRIu64 "%s",
					 used ? " " : "", n, units[i].suffix);
	}
	return buf;
}

char *format_size(char *buf, size_t len, uint64_t bytes)
{
	static const char suffixes[] = "KMGT";
	unsigned i = 0;

	while (bytes >= 1024 && bytes % 1024 == 0 && i < 4) {
		bytes /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%" PRIu64, bytes);
	else
		snprintf(buf, len, "%" PRIu64 "%c", bytes, suffixes[i - 1]);
	return buf;
}

unsigned edit_distance(const char *a, const char *b)
{
	unsigned row[64];
	size_t la = strlen(a), lb = strlen(b);

	if (la >= ELEMENTSOF(row) || lb >= ELEMENTSOF(row))
		return 255;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned diag = row[0];

		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned up = row[j];
			unsigned cost = a[i - 1] == b[j - 1] ? 0 : 1;
			unsigned best = diag + cost;

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb] > 255 ? 255 : row[lb];
}
