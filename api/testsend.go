package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/starter"
)

// The test of a distribution: POST /v1/distributions/{id}/test {"type": "..."} sends one
// sample event of one of its trigger types to it now and answers what the receiver
// answered (Svix's "send example", Hookdeck's "test connection"). A worker makes the
// attempt (the TestDelivery workflow), so it goes through the same rendering, signing,
// headers and target guard as a delivery's; the API waits for it. The distribution may be
// paused or a draft, which is when it is tested; its conditions are not asked; whatever the
// answer, nothing is retried, nobody is notified, nothing is paused.

// DistributionTester runs the test of a distribution; the API's Starter provides it when it
// is a *starter.Starter.
type DistributionTester interface {
	TestDistribution(ctx context.Context, in starter.TestInput) (starter.TestResult, error)
}

// TestView is the answer of a test.
type TestView struct {
	Object string `json:"object"`
	starter.TestResult
}

func (s *Server) testDistribution(w http.ResponseWriter, r *http.Request) {
	tester, ok := s.Starter.(DistributionTester)
	if !ok {
		writeError(w, http.StatusNotImplemented, "not_implemented", "this server cannot test distributions", "")
		return
	}
	body, ok := readBody(w, r, maxRecoverBytes)
	if !ok {
		return
	}
	var in struct {
		Type string `json:"type"`
	}
	const want = `want {"type": "customer.order.paid"} (optional: one of the distribution's trigger types, its first by default)`
	if len(bytes.TrimSpace(body)) > 0 {
		if unknown := distributions.FieldProblems(body, in); unknown != nil {
			writeValidation(w, http.StatusBadRequest, unknown)
			return
		}
		if err := json.Unmarshal(body, &in); err != nil {
			msg := err.Error()
			if syntax, ok := payloads.JSONSyntaxError(body, err); ok {
				msg = syntax
			}
			writeError(w, http.StatusBadRequest, "invalid_request", want+": "+msg, "type")
			return
		}
	}
	id := r.PathValue("id")
	d, err := s.Store.GetDistribution(r.Context(), id)
	if s.failed(w, err, "get distribution", id) {
		return
	}
	types := testTypes(d.Trigger.Events)
	switch {
	case len(types) == 0:
		writeError(w, http.StatusUnprocessableEntity, "invalid_request",
			fmt.Sprintf("distribution %s takes no event type hookflow has a sample of (%s)", id, strings.Join(d.Trigger.Events, ", ")), "trigger.events")
		return
	case in.Type == "":
		in.Type = types[0]
	case !slices.Contains(types, in.Type):
		writeError(w, http.StatusUnprocessableEntity, "invalid_request",
			fmt.Sprintf("type %q is not a trigger type of distribution %s; one of: %s", in.Type, id, strings.Join(types, ", ")), "type")
		return
	}
	proj, err := s.Store.Project(r.Context())
	if err != nil {
		s.internal(w, "read project", err)
		return
	}
	ev := payloads.SampleEvent(in.Type)
	ev.ID = payloads.NewID("evt_test_")
	ev.CreatedAt = s.now().UTC().Truncate(time.Millisecond)
	ctx, cancel := context.WithTimeout(r.Context(), starter.TestTimeout)
	defer cancel()
	res, err := tester.TestDistribution(ctx, starter.TestInput{Event: ev, ProjectID: proj.ID, Distribution: d.Redacted()})
	switch {
	case errors.Is(err, starter.ErrTestPayload):
		writeError(w, http.StatusUnprocessableEntity, "invalid_request", fmt.Sprintf("the payload of a %s event does not render: %v", in.Type, err), "webhook.template")
		return
	case errors.Is(err, starter.ErrTestTimeout):
		writeError(w, http.StatusGatewayTimeout, "timeout",
			fmt.Sprintf("the test of %s got no result within %s: is a worker running on the task queue?", id, starter.TestTimeout), "")
		return
	case err != nil:
		s.internal(w, "test distribution", err)
		return
	}
	writeJSON(w, http.StatusOK, TestView{Object: "distribution_test", TestResult: res})
}

// testTypes are the event types a distribution takes that have a sample, in the order of
// its trigger's events (a pattern such as customer.order.* gives every type it matches).
func testTypes(patterns []string) []string {
	var out []string
	for _, p := range patterns {
		for _, t := range payloads.DistributionTriggers {
			if payloads.MatchesPattern(p, t) && !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	return out
}
