/* Taint letters, as kernel/panic.c prints them. */
#include "taint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* kernel/panic.c taint_flags[] (TAINT_FLAG(name, true, false, module)),
 * in bit order; 'J' (TAINT_FWCTL) arrived in 6.15, 'N' (TAINT_TEST) in 5.17,
 * 'T' (TAINT_RANDSTRUCT) in 4.14, 'X' (TAINT_AUX) in 4.15. Bit 20 is not
 * settled upstream (two proposals, 'H' and 'V'): it prints as '?'. */
const struct vr_taint_flag vr_taint_flags[VR_TAINT_FLAGS_COUNT] = {
	{'P', 'G', true, "proprietary_module"},
	{'F', ' ', true, "forced_module"},
	{'S', ' ', false, "cpu_out_of_spec"},
	{'R', ' ', false, "forced_rmmod"},
	{'M', ' ', false, "machine_check"},
	{'B', ' ', false, "bad_page"},
	{'U', ' ', false, "user"},
	{'D', ' ', false, "die"},
	{'A', ' ', false, "overridden_acpi_table"},
	{'W', ' ', false, "warn"},
	{'C', ' ', true, "crap"},
	{'I', ' ', false, "firmware_workaround"},
	{'O', ' ', true, "oot_module"},
	{'E', ' ', true, "unsigned_module"},
	{'L', ' ', false, "softlockup"},
	{'K', ' ', true, "livepatch"},
	{'X', ' ', true, "aux"},
	{'T', ' ', true, "randstruct"},
	{'N', ' ', true, "test"},
	{'J', ' ', true, "fwctl"},
};

static char letter(unsigned bit, bool set)
{
	if (bit >= VR_TAINT_FLAGS_COUNT)
		return set ? '?' : ' ';
	return set ? vr_taint_flags[bit].c_true : vr_taint_flags[bit].c_false;
}

char *vr_taint_letters(uint64_t mask)
{
	char *s = malloc(66);
	if (!s)
		return NULL;
	size_t n = 0;
	s[n++] = letter(0, mask & 1);
	for (unsigned i = 1; i < 64; i++)
		if (mask >> i & 1)
			s[n++] = letter(i, true);
	s[n] = '\0';
	return s;
}

char *vr_taint_kernel_string(uint64_t mask, unsigned nflags)
{
	if (!mask)
		return strdup("Not tainted");
	if (nflags > 64)
		nflags = 64;
	char *s = malloc(sizeof("Tainted: ") + 64);
	if (!s)
		return NULL;
	size_t n = (size_t)sprintf(s, "Tainted: ");
	for (unsigned i = 0; i < nflags; i++)
		s[n++] = letter(i, mask >> i & 1);
	s[n] = '\0';
	return s;
}

char *vr_taint_module_letters(uint64_t mask)
{
	char *s = malloc(65);
	if (!s)
		return NULL;
	size_t n = 0;
	for (unsigned i = 0; i < 64; i++) {
		if (!(mask >> i & 1))
			continue;
		if (i < VR_TAINT_FLAGS_COUNT && !vr_taint_flags[i].module)
			continue;
		s[n++] = letter(i, true);
	}
	s[n] = '\0';
	return s;
}
