/*
 * fuzz_sbom.c: libFuzzer target for SBOM assembly from a scan report (the
 * sandbox writes the report: hostile).  Aborts when an invariant breaks:
 *  - any JSON array gives a document, or a clean refusal;
 *  - the document has at most SBOM_MAX_COMPONENTS components, each with a
 *    "pkg:" purl as its bom-ref, no two with the same bom-ref, and every
 *    dependency names a listed ref;
 *  - the counts add up.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sbom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *report, *doc = NULL, *c, *d, *refs, *on;
	struct sbom_stats st;
	size_t i, j;
	int r;

	report =
	    json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (report == NULL)
		return 0;
	r = sbom_build(report, "sandbox sb_fuzz",
	    "00000000-0000-4000-8000-000000000000", "2026-01-01T00:00:00Z",
	    &doc, &st);
	if (!json_is_array(report)) {
		if (r == 0)
			abort();
		json_decref(report);
		return 0;
	}
	if (r != 0 || doc == NULL)
		abort();
	refs = json_object();
	json_array_foreach (json_object_get(doc, "components"), i, c) {
		const char *ref =
		    json_string_value(json_object_get(c, "bom-ref"));
		const char *purl =
		    json_string_value(json_object_get(c, "purl"));

		if (ref == NULL || purl == NULL || strcmp(ref, purl) != 0 ||
		    json_object_get(refs, ref) != NULL)
			abort();
		json_object_set_new(refs, ref, json_true());
		if (strncmp(purl, "pkg:", 4) != 0)
			abort();
	}
	if (json_object_size(refs) != st.components ||
	    st.components > SBOM_MAX_COMPONENTS ||
	    st.components + st.dropped < json_array_size(report) -
	            (json_array_size(report) > SBOM_MAX_COMPONENTS
	                    ? json_array_size(report) - SBOM_MAX_COMPONENTS
	                    : 0))
		abort();
	json_array_foreach (json_object_get(doc, "dependencies"), i, d) {
		if (json_object_get(refs,
		        json_string_value(json_object_get(d, "ref"))) == NULL)
			abort();
		json_array_foreach (json_object_get(d, "dependsOn"), j, on)
			if (json_object_get(refs, json_string_value(on)) ==
			    NULL)
				abort();
	}
	json_decref(refs);
	json_decref(doc);
	json_decref(report);
	return 0;
}
