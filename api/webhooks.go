package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/store"
)

// The project webhooks routes: create, list, get, update and delete the webhooks that get
// project-level events (voucher.created, campaign.*, ...). Their bodies are read as a
// distribution's are (readEdit, in distributions.go).

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) {
	hook, ok := readEdit(w, r, distributions.DecodeWebhook, func(h distributions.ProjectWebhook) string { return h.ID }, "", "/v1/webhooks")
	if !ok {
		return
	}
	hook.Normalize()
	if err := hook.Validate(); err != nil {
		writeValidation(w, http.StatusUnprocessableEntity, err)
		return
	}
	now := s.now().UTC()
	hook.ID, hook.Revision = payloads.NewID("wh_"), 1
	hook.CreatedAt, hook.UpdatedAt = now, now
	if err := s.Store.CreateWebhook(r.Context(), hook); err != nil {
		s.internal(w, "create webhook", err)
		return
	}
	writeJSON(w, http.StatusCreated, hook.Redacted())
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) {
	p, ok := pageQuery(w, r)
	if !ok {
		return
	}
	page, err := s.Store.PageWebhooks(r.Context(), p)
	writePage(s, w, "webhooks", page, err, distributions.ProjectWebhook.Redacted)
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) {
	hook, err := s.Store.GetWebhook(r.Context(), r.PathValue("id"))
	if s.failed(w, err, "get webhook", r.PathValue("id")) {
		return
	}
	writeJSON(w, http.StatusOK, hook.Redacted())
}

func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	hook, ok := readEdit(w, r, distributions.DecodeWebhook, func(h distributions.ProjectWebhook) string { return h.ID }, id, "/v1/webhooks")
	if !ok {
		return
	}
	if hook.Revision <= 0 {
		writeError(w, http.StatusBadRequest, "invalid_request", "revision is required: the revision you read, so a concurrent change is not overwritten", "revision")
		return
	}
	stored, err := s.Store.GetWebhook(r.Context(), id)
	if s.failed(w, err, "get webhook", id) {
		return
	}
	hook.ID = id
	hook.Normalize()
	hook.KeepSecrets(stored)
	if err := hook.Validate(); err != nil {
		writeValidation(w, http.StatusUnprocessableEntity, err)
		return
	}
	hook.UpdatedAt = s.now().UTC()
	updated, err := s.Store.UpdateWebhook(r.Context(), hook)
	if errors.Is(err, store.ErrConflict) {
		writeConflict(w, "revision", fmt.Sprintf("webhook %s changed since revision %d", id, hook.Revision),
			fmt.Sprintf("get the new revision (hookflow webhooks get %s) and apply your change to it", id))
		return
	}
	if s.failed(w, err, "update webhook", id) {
		return
	}
	writeJSON(w, http.StatusOK, updated.Redacted())
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	err := s.Store.DeleteWebhook(r.Context(), r.PathValue("id"))
	if s.failed(w, err, "delete webhook", r.PathValue("id")) {
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
