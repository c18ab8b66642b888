/* A fuzz target tries every call on hostile bytes and goes on whatever the
 * answer: failed() says whether there was an error, and drops it. */
#ifndef VR_FUZZ_FAILED_H
#define VR_FUZZ_FAILED_H

#include "engine/error.h"

static inline bool failed(struct vr_error *err)
{
	bool f = err != NULL;
	vr_error_destroy(err);
	return f;
}

#endif
