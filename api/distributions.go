package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/store"
)

// The distributions routes: create, list (by labels), get, update, delete, pause and
// resume; create and update take ?dry_run=true to check without storing (isDryRun). A distribution's recover is a route of the delivery log (deliveries.go), its
// manual messages are in messages.go.

// MaxDistributionBytes bounds the body of a distribution, a project webhook or a program
// preset.
const MaxDistributionBytes = 64 << 10

// readEdit reads the body of a create (pathID "") or an update of a distribution or a
// project webhook: decoded strictly, its id absent, or on an update equal to the path's. It
// answers the problem itself and returns false.
func readEdit[T any](w http.ResponseWriter, r *http.Request, decode func([]byte) (T, error), idOf func(T) string, pathID, collection string) (T, bool) {
	var zero T
	body, ok := readBody(w, r, MaxDistributionBytes)
	if !ok {
		return zero, false
	}
	v, err := decode(body)
	if err != nil {
		writeValidation(w, http.StatusBadRequest, err)
		return zero, false
	}
	switch id := idOf(v); {
	case pathID == "" && id != "":
		writeError(w, http.StatusBadRequest, "invalid_request", "id is assigned by hookflow; to change one, PUT "+collection+"/{id}", "id")
		return zero, false
	case pathID != "" && id != "" && id != pathID:
		writeError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("id %q in the body is not %q of the path", id, pathID), "id")
		return zero, false
	}
	return v, true
}

// isDryRun reads ?dry_run=: with true, a create or an update makes every check it would
// make and answers 200 with what it would store, and stores nothing (kubectl's
// --dry-run=server, which `hookflow distributions apply` uses to check every document
// before it changes anything). It answers a value that is no bool itself.
func isDryRun(w http.ResponseWriter, r *http.Request) (dryRun, ok bool) {
	v := r.URL.Query().Get("dry_run")
	if v == "" {
		return false, true
	}
	dryRun, err := strconv.ParseBool(v)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("dry_run: %q is not true or false", v), "dry_run")
		return false, false
	}
	return dryRun, true
}

func (s *Server) createDistribution(w http.ResponseWriter, r *http.Request) {
	dryRun, ok := isDryRun(w, r)
	if !ok {
		return
	}
	d, ok := readEdit(w, r, distributions.Decode, func(d distributions.Distribution) string { return d.ID }, "", "/v1/distributions")
	if !ok {
		return
	}
	d.Normalize()
	if err := d.Validate(); err != nil {
		writeValidation(w, http.StatusUnprocessableEntity, err)
		return
	}
	now := s.now().UTC()
	d.Version, d.CreatedAt, d.UpdatedAt = 1, now, now
	if dryRun {
		// What would be created, without the id it would get.
		writeJSON(w, http.StatusOK, d.Redacted())
		return
	}
	d.ID = payloads.NewID("distr_")
	if err := s.Store.CreateDistribution(r.Context(), d); err != nil {
		s.internal(w, "create distribution", err)
		return
	}
	writeJSON(w, http.StatusCreated, d.Redacted())
}

// listDistributions lists every distribution, or with ?label=key=value (repeatable) those
// that have all the labels asked for.
func (s *Server) listDistributions(w http.ResponseWriter, r *http.Request) {
	want := map[string]string{}
	for i, l := range r.URL.Query()["label"] {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			writeError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("label %q is not key=value, such as program=loyalty", l), fmt.Sprintf("label[%d]", i))
			return
		}
		want[k] = v
	}
	p, ok := pageQuery(w, r)
	if !ok {
		return
	}
	var keep func(distributions.Distribution) bool
	if len(want) > 0 {
		keep = func(d distributions.Distribution) bool { return hasLabels(d.Labels, want) }
	}
	page, err := s.Store.PageDistributions(r.Context(), p, keep)
	writePage(s, w, "distributions", page, err, distributions.Distribution.Redacted)
}

func hasLabels(labels, want map[string]string) bool {
	for k, v := range want {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func (s *Server) getDistribution(w http.ResponseWriter, r *http.Request) {
	d, err := s.Store.GetDistribution(r.Context(), r.PathValue("id"))
	if s.failed(w, err, "get distribution", r.PathValue("id")) {
		return
	}
	writeJSON(w, http.StatusOK, d.Redacted())
}

// updateDistribution replaces a distribution. The body names the version it was read at;
// if the distribution changed since, the answer is 409 and nothing is written. A body that
// changes nothing answers 200 with the stored distribution, its version unchanged.
func (s *Server) updateDistribution(w http.ResponseWriter, r *http.Request) {
	dryRun, ok := isDryRun(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	d, ok := readEdit(w, r, distributions.Decode, func(d distributions.Distribution) string { return d.ID }, id, "/v1/distributions")
	if !ok {
		return
	}
	if d.Version <= 0 {
		writeError(w, http.StatusBadRequest, "invalid_request", "version is required: the version you read, so a concurrent change is not overwritten", "version")
		return
	}
	stored, err := s.Store.GetDistribution(r.Context(), id)
	if s.failed(w, err, "get distribution", id) {
		return
	}
	d.ID = id
	d.Normalize()
	d.KeepSecrets(stored)
	if err := d.Validate(); err != nil {
		writeValidation(w, http.StatusUnprocessableEntity, err)
		return
	}
	d.UpdatedAt = s.now().UTC()
	conflict := func() {
		writeConflict(w, "version", fmt.Sprintf("distribution %s changed since version %d", id, d.Version),
			fmt.Sprintf("get the new version (hookflow distributions get %s) and apply your change to it", id))
	}
	if dryRun {
		if d.Version != stored.Version {
			conflict()
			return
		}
		if d.SameSettings(stored) {
			writeJSON(w, http.StatusOK, stored.Redacted())
			return
		}
		d.Version, d.CreatedAt = stored.Version+1, stored.CreatedAt
		writeJSON(w, http.StatusOK, d.Redacted())
		return
	}
	updated, err := s.Store.UpdateDistribution(r.Context(), d)
	if errors.Is(err, store.ErrConflict) {
		conflict()
		return
	}
	if s.failed(w, err, "update distribution", id) {
		return
	}
	writeJSON(w, http.StatusOK, updated.Redacted())
}

func (s *Server) setDistributionStatus(status string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d, _, err := s.Store.SetDistributionStatus(r.Context(), r.PathValue("id"), status, s.now())
		if s.failed(w, err, "set distribution status", r.PathValue("id")) {
			return
		}
		writeJSON(w, http.StatusOK, d.Redacted())
	}
}

func (s *Server) deleteDistribution(w http.ResponseWriter, r *http.Request) {
	err := s.Store.DeleteDistribution(r.Context(), r.PathValue("id"))
	if s.failed(w, err, "delete distribution", r.PathValue("id")) {
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
