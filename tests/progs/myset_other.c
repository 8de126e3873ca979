#include "myset.h"
MYSET_ENTRY(other_only, "other", 300);
/* Nothing references this object's code: only the section entry matters. */
