/* test_sbom.c: package URLs, licences and CycloneDX documents. */
#include <string.h>

#include "sbom.h"
#include "unit.h"

static const char *
purl(const char *eco, const char *name, const char *version)
{
	static char out[512];

	if (sbom_purl(eco, name, version, out, sizeof(out)) != 0)
		return "(refused)";
	return out;
}

static void
test_purls(void)
{
	CHECK_STR(
	    purl("pypi", "Petri_Util", "1.2.0"), "pkg:pypi/petri-util@1.2.0");
	CHECK_STR(purl("pypi", "zope.interface", "6.0"),
	    "pkg:pypi/zope-interface@6.0");
	CHECK_STR(
	    purl("npm", "@scope/name", "1.0.0"), "pkg:npm/%40scope/name@1.0.0");
	CHECK_STR(purl("npm", "left-pad", "1.3.0+build.1"),
	    "pkg:npm/left-pad@1.3.0%2Bbuild.1");
	CHECK_STR(purl("golang", "github.com/a/b", "v1.2.3"),
	    "pkg:golang/github.com/a/b@v1.2.3");
	CHECK_STR(purl("maven", "org.example:lib", "1.0"),
	    "pkg:maven/org.example/lib@1.0");
	/* refused: not one package of that ecosystem */
	CHECK_STR(purl("npm", "a/b", "1"), "(refused)");
	CHECK_STR(purl("npm", "@scope", "1"), "(refused)");
	CHECK_STR(purl("golang", "a/../b", "1"), "(refused)");
	CHECK_STR(purl("golang", "/abs", "1"), "(refused)");
	CHECK_STR(purl("maven", "noartifact", "1"), "(refused)");
	CHECK_STR(purl("pypi", "has space", "1"), "(refused)");
	CHECK_STR(purl("pypi", "x", ""), "(refused)");
	CHECK_STR(purl("cargo", "x", "1"), "(refused)");
}

static void
test_licenses(void)
{
	CHECK(sbom_spdx_id("MIT") != NULL &&
	    strcmp(sbom_spdx_id("MIT"), "MIT") == 0);
	CHECK_STR(sbom_spdx_id("mit license"), "MIT");
	CHECK_STR(sbom_spdx_id("Apache Software License"), "Apache-2.0");
	CHECK_STR(sbom_spdx_id("BSD-3-Clause"), "BSD-3-Clause");
	CHECK(sbom_spdx_id("BSD License") == NULL); /* which BSD? */
	CHECK(sbom_spdx_id("Proprietary") == NULL);
}

static json_t *
build(const char *report, struct sbom_stats *st)
{
	json_t *r = json_loads(report, 0, NULL), *doc = NULL;

	CHECK(r != NULL);
	CHECK(sbom_build(r, "sandbox sb_x",
	          "12345678-1234-4123-8123-123456789012",
	          "2026-11-22T00:00:00Z", &doc, st) == 0);
	json_decref(r);
	return doc;
}

static void
test_document(void)
{
	struct sbom_stats st;
	json_t *doc, *c;

	doc = build("[{\"eco\":\"pypi\",\"name\":\"b\",\"version\":\"1\","
	            "\"license\":\"MIT License\",\"deps\":[\"C\",\"zzz\"]},"
	            "{\"eco\":\"pypi\",\"name\":\"c\",\"version\":\"2\","
	            "\"license\":\"MIT OR Apache-2.0\"},"
	            "{\"eco\":\"pypi\",\"name\":\"d\",\"version\":\"3\","
	            "\"license\":\"Some Licence\\nwith its whole text\"},"
	            "{\"eco\":\"pypi\",\"name\":\"b\",\"version\":\"1\"},"
	            "{\"eco\":\"npm\",\"name\":\"a/b/c\",\"version\":\"1\"}]",
	    &st);
	CHECK(doc != NULL);
	CHECK(st.components == 3 && st.dropped == 2);
	CHECK_STR(
	    json_string_value(json_object_get(doc, "specVersion")), "1.6");
	CHECK_STR(json_string_value(json_object_get(doc, "serialNumber")),
	    "urn:uuid:12345678-1234-4123-8123-123456789012");
	c = json_object_get(doc, "components");
	CHECK_STR(
	    json_string_value(json_object_get(
	        json_object_get(
	            json_array_get(
	                json_object_get(json_array_get(c, 0), "licenses"), 0),
	            "license"),
	        "id")),
	    "MIT");
	CHECK_STR(json_string_value(json_object_get(
	              json_array_get(
	                  json_object_get(json_array_get(c, 1), "licenses"), 0),
	              "expression")),
	    "MIT OR Apache-2.0");
	/* the first line only, as a name */
	CHECK_STR(
	    json_string_value(json_object_get(
	        json_object_get(
	            json_array_get(
	                json_object_get(json_array_get(c, 2), "licenses"), 0),
	            "license"),
	        "name")),
	    "Some Licence");
	/* the graph: b -> c (normalised name), unknown names left out */
	c = json_array_get(json_object_get(doc, "dependencies"), 0);
	CHECK_STR(json_string_value(json_object_get(c, "ref")), "pkg:pypi/b@1");
	CHECK(json_array_size(json_object_get(c, "dependsOn")) == 1);
	CHECK_STR(json_string_value(
	              json_array_get(json_object_get(c, "dependsOn"), 0)),
	    "pkg:pypi/c@2");
	json_decref(doc);
	/* hashes: SHA-256 or SHA-512 hex, nothing else */
	{
		char rep[600];
		json_t *h;

		snprintf(rep, sizeof(rep),
		    "[{\"eco\":\"npm\",\"name\":\"a\",\"version\":\"1\","
		    "\"sha512\":\"%0128d\"},{\"eco\":\"npm\",\"name\":\"b\","
		    "\"version\":\"1\",\"sha512\":\"xyz\"}]",
		    7);
		doc = build(rep, &st);
		CHECK(doc != NULL && st.components == 2);
		h = json_object_get(
		    json_array_get(json_object_get(doc, "components"), 0),
		    "hashes");
		CHECK_STR(json_string_value(
		              json_object_get(json_array_get(h, 0), "alg")),
		    "SHA-512");
		CHECK(json_object_get(
		          json_array_get(json_object_get(doc, "components"), 1),
		          "hashes") == NULL);
		json_decref(doc);
	}
	/* nothing installed: a valid, empty document */
	doc = build("[]", &st);
	CHECK(doc != NULL && st.components == 0 &&
	    json_array_size(json_object_get(doc, "components")) == 0);
	json_decref(doc);
}

static void
test_refusals(void)
{
	struct sbom_stats st;
	json_t *doc = NULL, *o = json_object();

	CHECK(sbom_build(o, "s", "12345678-1234-4123-8123-123456789012", "t",
	          &doc, &st) == PETRI_ERR_INVAL);
	CHECK(doc == NULL);
	CHECK(
	    sbom_build(NULL, "s", "short", "t", &doc, &st) == PETRI_ERR_INVAL);
	json_decref(o);
}

int
main(void)
{
	UNIT_RUN(test_purls);
	UNIT_RUN(test_licenses);
	UNIT_RUN(test_document);
	UNIT_RUN(test_refusals);
	return UNIT_DONE();
}
