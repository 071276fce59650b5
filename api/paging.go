package api

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/hookflow/hookflow/store"
)

// Every list route pages the same way: ?limit=N (1 to MaxPageLimit, default
// DefaultPageLimit) and ?page_token= from the page before; the answer's has_more says
// whether a page follows and next_page_token is how to ask for it. The store reads a page
// by keyset on the list's order (store.Page), so a page costs the same wherever it is and
// the list is never read whole. The delivery log pages the same way with Temporal's tokens
// (deliveries.go).

const (
	// DefaultPageLimit is the page size of a list asked for without ?limit.
	DefaultPageLimit = 100
	// MaxPageLimit bounds ?limit on the lists the store pages.
	MaxPageLimit = 1000
	// maxPageToken bounds ?page_token: the tokens made here are far shorter.
	maxPageToken = 1024
)

// pageQuery reads ?limit and ?page_token, or answers 400 naming the one that is wrong.
func pageQuery(w http.ResponseWriter, r *http.Request) (store.Page, bool) {
	q := r.URL.Query()
	p := store.Page{Limit: DefaultPageLimit, After: q.Get("page_token")}
	if vs := q["limit"]; len(vs) > 0 {
		n, err := strconv.Atoi(vs[0])
		if err != nil || n < 1 || n > MaxPageLimit || len(vs) > 1 {
			writeError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("limit: %q is not one number from 1 to %d", strings.Join(vs, ","), MaxPageLimit), "limit")
			return p, false
		}
		p.Limit = n
	}
	if vs := q["page_token"]; len(vs) > 1 || len(p.After) > maxPageToken || (len(vs) == 1 && vs[0] == "") {
		writeError(w, http.StatusBadRequest, "invalid_request", "page_token: give one, the next_page_token of the page before, as it was", "page_token")
		return p, false
	}
	return p, true
}

// writePage answers a page the store read (err its error), each item through view.
func writePage[T, V any](s *Server, w http.ResponseWriter, what string, page store.Paged[T], err error, view func(T) V) {
	if errors.Is(err, store.ErrBadCursor) {
		writeBadPageToken(w)
		return
	}
	if err != nil {
		s.internal(w, "list "+what, err)
		return
	}
	items := make([]V, len(page.Items))
	for i, v := range page.Items {
		items[i] = view(v)
	}
	l := list(items)
	l.HasMore, l.NextPageToken = page.Next != "", page.Next
	writeJSON(w, http.StatusOK, l)
}

func writeBadPageToken(w http.ResponseWriter) {
	writeError(w, http.StatusBadRequest, "invalid_request", "page_token: not the next_page_token of a page of this list; leave it out for the first page", "page_token")
}

// pageSlice answers a page of a list made whole in memory (programs, which are worked out
// from the distributions): the items after the one whose key is the token.
// valid says whether a key could be one of the list's (a token of another list is not).
func pageSlice[T any](w http.ResponseWriter, p store.Page, items []T, key func(T) string, valid func(string) bool) {
	start := 0
	if p.After != "" {
		after, err := base64.RawURLEncoding.DecodeString(p.After)
		if err != nil || !valid(string(after)) {
			writeBadPageToken(w)
			return
		}
		for start < len(items) && key(items[start]) <= string(after) {
			start++
		}
	}
	end := min(start+p.Limit, len(items))
	l := list(items[start:end])
	if end < len(items) {
		l.HasMore, l.NextPageToken = true, base64.RawURLEncoding.EncodeToString([]byte(key(items[end-1])))
	}
	writeJSON(w, http.StatusOK, l)
}
