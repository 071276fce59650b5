package cli

import (
	"errors"
	"fmt"
	"io"
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
---). A document with an id updates that distribution. A document without an id stands for
the distribution of its name: it updates the one distribution of that name, or creates it
when there is none; two distributions of that name are an error (give the id). A version in
the document is the one its change was made to: if the distribution changed since, apply
refuses it (409) rather than write over that change; without a version, apply changes the
current one. "hookflow distributions get ID -o yaml" prints what apply reads.

The API checks every document first (a dry run of its create or update) and apply changes
nothing unless all pass; otherwise it lists every problem of every document, by document
number, name and field. --dry-run checks the same way, shows what would change, and
changes nothing.`,
		Example: `  hookflow distributions get distr_123 -o yaml > paid-orders.yaml
  hookflow distributions apply -f paid-orders.yaml --dry-run
  hookflow distributions apply -f paid-orders.yaml
  cat distributions/*.yaml | hookflow distributions apply -f -`,
		Args: usageArgs,
		RunE: g.withClient(func(c *apiClient, cmd *cobra.Command, _ []string) error {
			if file == "" {
				return errors.New("-f FILE is required (- for standard input)")
			}
			docs, err := readDocuments(cmd, "-f", file)
			if err != nil {
				return err
			}
			// A document without an id stands for the distribution of its name (as
			// kubectl apply names objects): read the names once, when one is needed.
			var byName map[string][]string
			inFile := map[string]int{}
			for _, doc := range docs {
				if name, ok := doc["name"].(string); ok && doc["id"] == nil {
					inFile[name]++
				}
			}
			named := func(name string) (string, error) {
				if inFile[name] > 1 {
					return "", &documentError{fmt.Sprintf("name: %d documents without an id are named %q; give each its own name, or an id", inFile[name], name)}
				}
				if byName == nil {
					var err error
					if byName, err = c.distributionsByName(); err != nil {
						return "", err
					}
				}
				switch ids := byName[name]; len(ids) {
				case 0:
					return "", nil
				case 1:
					return ids[0], nil
				default:
					return "", &documentError{fmt.Sprintf("name: %d distributions are named %q (%s): give the document the id of the one to update", len(ids), name, strings.Join(ids, ", "))}
				}
			}
			// Check every document before changing anything.
			plans := make([]applyPlan, len(docs))
			var problems []string
			invalid := 0
			for i, doc := range docs {
				p, err := c.planApply(i+1, doc, named)
				var ae *apiError
				var de *documentError
				switch {
				case errors.As(err, &de):
					invalid++
					problems = append(problems, p.label()+": "+de.msg)
				case errors.As(err, &ae) && ae.status/100 == 4:
					invalid++
					for _, line := range ae.problems() {
						problems = append(problems, p.label()+": "+line)
					}
				case err != nil:
					return fmt.Errorf("-f %s: %s: %w; nothing was applied", file, p.label(), err)
				}
				plans[i] = p
			}
			if dryRun && c.isText() {
				for _, p := range plans {
					if p.action != "" {
						p.printWould(c.out)
					}
				}
			}
			if invalid > 0 {
				return fmt.Errorf("-f %s: %d of %d documents are not valid; nothing was applied:\n  %s", file, invalid, len(docs), strings.Join(problems, "\n  "))
			}
			// With -o, what was done (or, with --dry-run, would be) is printed as a list,
			// a result a document.
			results := []applyResult{}
			if dryRun {
				if c.isText() {
					return nil
				}
				for _, p := range plans {
					results = append(results, applyResult{Document: p.index, Action: p.action, ID: p.id, Name: p.name, Changed: p.changed, DryRun: true})
				}
				return c.data(map[string]any{"object": "list", "data": results})
			}
			for i, p := range plans {
				r, err := c.apply(p)
				if err != nil {
					return fmt.Errorf("-f %s: %s: %w (the %d documents before it were applied)", file, p.label(), err, i)
				}
				results = append(results, r)
			}
			if c.isText() {
				return nil
			}
			return c.data(map[string]any{"object": "list", "data": results})
		}),
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "YAML or JSON file of distributions, - for standard input")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "check every document with the API, print what would change, and change nothing")
	return cmd
}

// applyPlan is what apply does with one document of the file.
type applyPlan struct {
	index int // from 1, as a user counts the documents
	name  any
	id    string
	// action is create, update or unchanged; empty for a document that is not valid.
	action string
	// doc is the document without its read-only fields, with the current version on an
	// update.
	doc     map[string]any
	changed []string
}

// label names the document in messages: its number and its name.
func (p applyPlan) label() string {
	if name, ok := p.name.(string); ok {
		return fmt.Sprintf("document %d (%q)", p.index, name)
	}
	return fmt.Sprintf("document %d (no name)", p.index)
}

func (p applyPlan) printWould(w io.Writer) {
	switch p.action {
	case "create":
		fmt.Fprintf(w, "would create %q\n", p.name)
	case "update":
		fmt.Fprintf(w, "would update %s %q: %s\n", p.id, p.name, strings.Join(p.changed, ", "))
	default:
		fmt.Fprintf(w, "unchanged %s %q\n", p.id, p.name)
	}
}

// planApply works out what applying doc would do, and has the API check it by a dry run
// of that create or update (?dry_run=true), which makes every check the real request
// makes. An error of the API (or a documentError) says what is wrong with the document.
// named finds the distribution a document without an id stands for, by its name.
func (c *apiClient) planApply(index int, doc map[string]any, named func(name string) (string, error)) (applyPlan, error) {
	p := applyPlan{index: index, name: doc["name"], doc: doc}
	p.id, _ = doc["id"].(string)
	version := doc["version"]
	for _, f := range readOnlyFields {
		delete(doc, f)
	}
	if name, ok := p.name.(string); p.id == "" && ok && name != "" {
		id, err := named(name)
		if err != nil {
			return p, err
		}
		p.id = id
	}
	if p.id == "" {
		body, _ := jsonBody(doc)
		if err := c.do(http.MethodPost, "/v1/distributions?dry_run=true", body, nil); err != nil {
			return p, err
		}
		p.action = "create"
		return p, nil
	}
	var current map[string]any
	if err := c.do(http.MethodGet, "/v1/distributions/"+url.PathEscape(p.id), nil, &current); err != nil {
		return p, err
	}
	if p.changed = changedPaths(current, doc); len(p.changed) == 0 {
		p.action = "unchanged"
		return p, nil
	}
	// The file's version, when it has one, is the version its change was made to: a
	// distribution changed since is refused (409), not written over.
	if version == nil {
		version = current["version"]
	}
	doc["version"] = version
	body, _ := jsonBody(doc)
	var would map[string]any
	if err := c.do(http.MethodPut, "/v1/distributions/"+url.PathEscape(p.id)+"?dry_run=true", body, &would); err != nil {
		return p, staleAdvice(err, "hookflow distributions get "+p.id+" -o yaml")
	}
	// What the API would store, with its defaults filled in, says what really changes:
	// nothing when it keeps the version.
	if fmt.Sprint(would["version"]) == fmt.Sprint(current["version"]) {
		p.action, p.changed = "unchanged", nil
		return p, nil
	}
	if changed := changedPaths(current, would); len(changed) > 0 {
		p.changed = changed
	}
	p.action = "update"
	return p, nil
}

// documentError is what is wrong with a document of the file that apply finds itself.
type documentError struct{ msg string }

func (e *documentError) Error() string { return e.msg }

// distributionsByName lists the ids of the distributions of each name.
func (c *apiClient) distributionsByName() (map[string][]string, error) {
	all, err := getAll[struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}](c, "/v1/distributions")
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, d := range all {
		out[d.Name] = append(out[d.Name], d.ID)
	}
	return out, nil
}

// applyResult is what apply did with one document, as -o prints it.
type applyResult struct {
	Document int      `json:"document"`
	Action   string   `json:"action"` // create, update or unchanged
	ID       string   `json:"id,omitempty"`
	Name     any      `json:"name"`
	Version  any      `json:"version,omitempty"`
	Changed  []string `json:"changed,omitempty"`
	DryRun   bool     `json:"dry_run,omitempty"`
}

// apply does what p says and, with -o text, prints it.
func (c *apiClient) apply(p applyPlan) (applyResult, error) {
	r := applyResult{Document: p.index, Action: p.action, ID: p.id, Name: p.name, Changed: p.changed}
	body, _ := jsonBody(p.doc)
	switch p.action {
	case "create":
		var created map[string]any
		if err := c.create("/v1/distributions", body, &created); err != nil {
			return r, err
		}
		r.ID, _ = created["id"].(string)
		r.Version = created["version"]
		if c.isText() {
			fmt.Fprintf(c.out, "created %s %q\n", created["id"], created["name"])
		}
	case "update":
		var updated map[string]any
		if err := c.do(http.MethodPut, "/v1/distributions/"+url.PathEscape(p.id), body, &updated); err != nil {
			return r, err
		}
		r.Version = updated["version"]
		if c.isText() {
			fmt.Fprintf(c.out, "updated %s %q (version %v): %s\n", p.id, p.name, updated["version"], strings.Join(p.changed, ", "))
		}
	default:
		if c.isText() {
			fmt.Fprintf(c.out, "unchanged %s %q\n", p.id, p.name)
		}
	}
	return r, nil
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
