/* fuzz_request.c: the request validators on arbitrary JSON documents:
 * strict key lists, string maps (env, labels), label filters, and the
 * appliance configuration parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile int fuzz_sink; /* results are used, never ignored */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = {
	    "language", "policy", "limits", "env", "labels", NULL};
	struct petri_config cfg;
	char msg[256], k[API_MAX_KEY_LEN + 1], v[257], *s;
	json_error_t jerr;
	json_t *doc;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	fuzz_sink += api_valid_label_filter(s, k, sizeof(k), v, sizeof(v));
	free(s);
	doc =
	    json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL || !json_is_object(doc)) {
		json_decref(doc);
		return 0;
	}
	fuzz_sink += api_valid_keys(doc, keys, msg, sizeof(msg));
	fuzz_sink += api_valid_strmap(
	    doc, API_MAX_ENV, 32768, 1, "env", msg, sizeof(msg));
	fuzz_sink += api_valid_strmap(
	    doc, API_MAX_LABELS, 256, 0, "labels", msg, sizeof(msg));
	if (config_parse(doc, &cfg, msg, sizeof(msg)) == 0)
		config_free(&cfg);
	json_decref(doc);
	return 0;
}
