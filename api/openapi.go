package api

import (
	_ "embed"
	"net/http"
)

// The OpenAPI 3.1 document of the API, served at GET /openapi.yaml with no key: a client
// generator or a developer reads the API's routes, bodies, errors and status codes from the
// running server, and the document is the one the tests hold to the route table
// (openapi_test.go). Its source is api/openapi.yaml: go:embed reaches only files in the
// package's own directory.

// OpenAPIPath is where the API serves its OpenAPI document.
const OpenAPIPath = "/openapi.yaml"

// OpenAPI is the API's OpenAPI 3.1 document, in YAML.
//
//go:embed openapi.yaml
var OpenAPI []byte

// serveOpenAPI answers the document as application/yaml (RFC 9512), the type OpenAPI
// tooling asks for.
func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("content-type", "application/yaml")
	w.Header().Set("cache-control", "no-cache")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(OpenAPI)
}
