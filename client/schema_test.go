package client_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/client"
)

// TestTypesCoverSchemas: every property the API's schemas give a resource that a program
// reads and sends back (Get, change, Update) has a field in the client's type. A field the
// client lacked would be dropped on the way back: an update through the client would
// silently remove, say, a distribution's rate limit.
func TestTypesCoverSchemas(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas map[string]any `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	schemas := doc.Components.Schemas
	for _, tc := range []struct {
		path string // schema name, then property names
		typ  any
	}{
		{"Distribution", client.Distribution{}},
		{"Distribution.trigger", client.Trigger{}},
		{"Distribution.action", client.Action{}},
		{"Distribution.webhook", client.DistributionWebhook{}},
		{"Auth", client.Auth{}},
		{"Auth.oauth2", client.OAuth2{}},
		{"Auth.client_certificate", client.ClientCertificate{}},
		{"Header", client.Header{}},
		{"Notifications", client.Notifications{}},
		{"Webhook", client.Webhook{}},
		{"CircuitBreaker", client.CircuitBreaker{}},
		{"Distribution.webhook.ordering", client.Ordering{}},
	} {
		parts := strings.Split(tc.path, ".")
		schema, _ := schemas[parts[0]].(map[string]any)
		for _, p := range parts[1:] {
			props, _ := schema["properties"].(map[string]any)
			schema, _ = props[p].(map[string]any)
		}
		props, _ := schema["properties"].(map[string]any)
		if len(props) == 0 {
			t.Errorf("api/openapi.yaml: schema %s has no properties", tc.path)
			continue
		}
		fields := jsonFields(reflect.TypeOf(tc.typ))
		for name := range props {
			if !slices.Contains(fields, name) {
				t.Errorf("%s: the schema has %q, %T has no field for it", tc.path, name, tc.typ)
			}
		}
	}
}

// jsonFields are the JSON names of a struct type's fields.
func jsonFields(t reflect.Type) []string {
	var names []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		names = append(names, name)
	}
	return names
}
