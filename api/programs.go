package api

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/store"
)

// The program presets (spec section 7): each makes the distributions of one program's
// notifications for one campaign, labelled so that they are found, paused and resumed
// together.

// ProgramResult is what applying a preset did.
type ProgramResult struct {
	distributions.Program
	// Created and Updated are the ids of the distributions made and changed. Running a
	// preset again updates what it made before (by its labels) instead of adding more.
	Created []string `json:"created"`
	Updated []string `json:"updated"`
}

// applyProgram makes or updates the preset's distributions: 201 when it made any, 200 when
// it only updated. Every distribution is validated before any is written.
func (s *Server) applyProgram(w http.ResponseWriter, r *http.Request) {
	program := r.PathValue("program")
	if err := distributions.CheckProgram(program); err != nil {
		writeError(w, http.StatusNotFound, "not_found", err.Error(), "program")
		return
	}
	body, ok := readBody(w, r, MaxDistributionBytes)
	if !ok {
		return
	}
	req, err := distributions.DecodeProgramRequest(body)
	if err != nil {
		writeValidation(w, http.StatusBadRequest, err)
		return
	}
	wanted, err := req.Build(program)
	if err != nil {
		writeValidation(w, http.StatusUnprocessableEntity, err)
		return
	}
	existing, err := s.Store.ListDistributions(r.Context())
	if err != nil {
		s.internal(w, "list distributions", err)
		return
	}
	byKey := map[string]distributions.Distribution{}
	for _, d := range existing {
		if key, ok := distributions.PresetKey(d); ok {
			byKey[key] = d
		}
	}
	result := ProgramResult{Created: []string{}, Updated: []string{}}
	var written []distributions.Distribution
	now := s.now().UTC()
	for _, d := range wanted {
		key, _ := distributions.PresetKey(d)
		stored, found := byKey[key]
		if !found {
			d.ID, d.Version = payloads.NewID("distr_"), 1
			d.CreatedAt, d.UpdatedAt = now, now
			if err := s.Store.CreateDistribution(r.Context(), d); err != nil {
				s.internal(w, "create distribution", err)
				return
			}
			result.Created = append(result.Created, d.ID)
			written = append(written, d)
			continue
		}
		d.ID, d.Version = stored.ID, stored.Version
		if req.Status == "" {
			// A paused program stays paused when its preset is run again.
			d.Status = stored.Status
		}
		// Labels the user added stay; the preset's own are set again.
		labels := maps.Clone(stored.Labels)
		maps.Copy(labels, d.Labels)
		d.Labels = labels
		d.KeepSecrets(stored)
		d.UpdatedAt = now
		updated, err := s.Store.UpdateDistribution(r.Context(), d)
		if err != nil {
			s.internal(w, "update distribution", err)
			return
		}
		result.Updated = append(result.Updated, updated.ID)
		written = append(written, updated)
	}
	programs := distributions.Programs(written)
	result.Program = programs[0]
	status := http.StatusOK
	if len(result.Created) > 0 {
		status = http.StatusCreated
	}
	writeJSON(w, status, result)
}

// listPrograms lists the programs a page at a time. A program is worked out from its
// distributions, so the store cannot page them: the distributions are read, and the page cut from the programs in their order, by program
// and campaign.
func (s *Server) listPrograms(w http.ResponseWriter, r *http.Request) {
	p, ok := pageQuery(w, r)
	if !ok {
		return
	}
	ds, err := s.Store.ListDistributions(r.Context())
	if err != nil {
		s.internal(w, "list distributions", err)
		return
	}
	pageSlice(w, p, distributions.Programs(ds), func(pr distributions.Program) string { return pr.Program + "\n" + pr.Campaign },
		func(key string) bool {
			program, campaign, ok := strings.Cut(key, "\n")
			return ok && campaign != "" && distributions.CheckProgram(program) == nil
		})
}

// program finds a program's distributions, answering 404 when there are none.
func (s *Server) program(w http.ResponseWriter, r *http.Request) ([]distributions.Distribution, bool) {
	program, campaign := r.PathValue("program"), r.PathValue("campaign")
	if err := distributions.CheckProgram(program); err != nil {
		writeError(w, http.StatusNotFound, "not_found", err.Error(), "program")
		return nil, false
	}
	ds, err := s.Store.ListDistributions(r.Context())
	if err != nil {
		s.internal(w, "list distributions", err)
		return nil, false
	}
	var members []distributions.Distribution
	for _, d := range ds {
		if _, ok := distributions.PresetKey(d); ok && d.Labels[distributions.LabelProgram] == program && d.Labels[distributions.LabelCampaign] == campaign {
			members = append(members, d)
		}
	}
	if len(members) == 0 {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no %s program notifications for campaign %q", program, campaign), "campaign")
		return nil, false
	}
	return members, true
}

func (s *Server) getProgram(w http.ResponseWriter, r *http.Request) {
	members, ok := s.program(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, distributions.Programs(members)[0])
}

// setProgramStatus pauses or resumes every distribution of a program's campaign.
func (s *Server) setProgramStatus(status string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		members, ok := s.program(w, r)
		if !ok {
			return
		}
		for i, d := range members {
			changed, _, err := s.Store.SetDistributionStatus(r.Context(), d.ID, status, s.now())
			if s.failed(w, err, "set distribution status", d.ID) {
				return
			}
			members[i] = changed
		}
		writeJSON(w, http.StatusOK, distributions.Programs(members)[0])
	}
}

func (s *Server) deleteProgram(w http.ResponseWriter, r *http.Request) {
	members, ok := s.program(w, r)
	if !ok {
		return
	}
	for _, d := range members {
		// One deleted meanwhile by someone else is gone all the same.
		if err := s.Store.DeleteDistribution(r.Context(), d.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			s.internal(w, "delete distribution", err)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}
