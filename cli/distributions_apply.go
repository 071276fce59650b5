package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"

	"github.com/spf13/cobra"
)

// readOnlyFields are shown by the API but not set by a user: apply ignores them.
var readOnlyFields = []string{"id", "version", "created_at", "updated_at", "has_secret"}

func newApplyCommand(g *globalFlags) *cobra.Command {
	var file string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Create or update distributions from a YAML (or JSON) file of one or more documents",
		Long: `Create or update distributions from a YAML file of one or more documents (separated by
---). A document with an id updates that distribution, one without creates a new one.
The file's version is ignored: apply writes over the current version, as
"hookflow distributions get ID -o yaml" prints it. --dry-run shows what would change.`,
		Args: cobra.NoArgs,
		RunE: g.withClient(func(c *apiClient, cmd *cobra.Command, _ []string) error {
			if file == "" {
				return errors.New("-f FILE is required (- for standard input)")
			}
			docs, err := readDocuments(cmd, "-f", file)
			if err != nil {
				return err
			}
			// Check every document before changing anything.
			for i, doc := range docs {
				if _, ok := doc["name"].(string); !ok {
					return fmt.Errorf("-f %s: document %d: name is required", file, i+1)
				}
			}
			for i, doc := range docs {
				if err := c.applyOne(doc, dryRun); err != nil {
					return fmt.Errorf("document %d (%v): %w", i+1, doc["name"], err)
				}
			}
			return nil
		}),
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "YAML or JSON file of distributions, - for standard input")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what would change and change nothing")
	// It prints what it changed, a line a document, and no data for -o to format.
	return noOutput(cmd)
}

func (c *apiClient) applyOne(doc map[string]any, dryRun bool) error {
	id, _ := doc["id"].(string)
	for _, f := range readOnlyFields {
		delete(doc, f)
	}
	if id == "" {
		if dryRun {
			fmt.Fprintf(c.out, "would create %q\n", doc["name"])
			return nil
		}
		body, _ := json.Marshal(doc)
		var created map[string]any
		if err := c.do(http.MethodPost, "/v1/distributions", body, &created); err != nil {
			return err
		}
		fmt.Fprintf(c.out, "created %s %q\n", created["id"], created["name"])
		return nil
	}
	var current map[string]any
	if err := c.do(http.MethodGet, "/v1/distributions/"+url.PathEscape(id), nil, &current); err != nil {
		return err
	}
	changed := changedPaths(current, doc)
	if len(changed) == 0 {
		fmt.Fprintf(c.out, "unchanged %s %q\n", id, doc["name"])
		return nil
	}
	if dryRun {
		fmt.Fprintf(c.out, "would update %s %q: %s\n", id, doc["name"], strings.Join(changed, ", "))
		return nil
	}
	doc["version"] = current["version"]
	body, _ := json.Marshal(doc)
	var updated map[string]any
	if err := c.do(http.MethodPut, "/v1/distributions/"+url.PathEscape(id), body, &updated); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "updated %s %q (version %v): %s\n", id, doc["name"], updated["version"], strings.Join(changed, ", "))
	return nil
}

// changedPaths lists the fields of want that differ from current, by path. Fields that
// current has and want leaves out count as changed only when they are not read-only:
// an update replaces the whole distribution.
func changedPaths(current, want map[string]any) []string {
	var out []string
	var walk func(prefix string, a, b any)
	walk = func(prefix string, a, b any) {
		am, aok := a.(map[string]any)
		bm, bok := b.(map[string]any)
		if aok && bok {
			keys := map[string]bool{}
			for k := range am {
				keys[k] = true
			}
			for k := range bm {
				keys[k] = true
			}
			for k := range keys {
				if prefix == "" && isReadOnly(k) {
					continue
				}
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				walk(p, am[k], bm[k])
			}
			return
		}
		if !reflect.DeepEqual(a, b) {
			out = append(out, prefix)
		}
	}
	walk("", current, want)
	sort.Strings(out)
	return out
}

func isReadOnly(field string) bool {
	for _, f := range readOnlyFields {
		if f == field {
			return true
		}
	}
	return false
}
