package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"
)

// receiver is a webhook receiver: it records every request, answers from a script of
// status codes, and may pause before it answers (so that posts are in flight when a worker
// is stopped). The tests ask it what arrived: the requests themselves, or counts by
// webhook-id and by customer.
type receiver struct {
	*httptest.Server
	pause time.Duration // before a request is recorded and answered

	mu    sync.Mutex
	codes []int // the answer to request n; past the end, the last one; empty: 200
	got   []receivedRequest
	// By webhook-id: how many requests, and when the first was recorded.
	ids   map[string]int
	first map[string]time.Time
	// customers holds, by the id of the envelope's data.customer, the webhook-ids it was
	// sent under.
	customers map[string]map[string]bool
	// refuse answers a customer's deliveries (by its id) with a status of its own.
	refuse map[string]int
	// gate, while not nil, holds every request until it is closed (hold, release); held
	// counts the requests it holds.
	gate chan struct{}
	held int
	// holdAt, when > 0, makes request holdAt (counted from 1) and every later one arrive at
	// a closed gate (as hold from then on), so that a test finds an attempt in flight
	// however fast the schedule runs; arrived counts the requests that came in.
	holdAt, arrived int
}

type receivedRequest struct {
	header http.Header
	body   []byte
	path   string
	// at is when the request was recorded: as it arrived, or after the receiver's pause.
	at time.Time
}

// newReceiver is a receiver that answers at once, from codes (none: 200).
func newReceiver(t *testing.T, codes ...int) *receiver {
	return startReceiver(t, 0, codes)
}

// newSlowReceiver is a receiver that answers 200 after pause; a request counts from then.
func newSlowReceiver(t *testing.T, pause time.Duration) *receiver {
	return startReceiver(t, pause, nil)
}

func startReceiver(t *testing.T, pause time.Duration, codes []int) *receiver {
	r := &receiver{pause: pause, codes: codes, ids: map[string]int{}, first: map[string]time.Time{}, customers: map[string]map[string]bool{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.arrived++
		if r.holdAt > 0 && r.arrived >= r.holdAt {
			if r.gate == nil {
				r.gate = make(chan struct{})
			}
			r.holdAt = 0 // once: release answers the rest at once
		}
		gate := r.gate
		if gate != nil {
			r.held++
		}
		r.mu.Unlock()
		if gate != nil {
			<-gate
			r.mu.Lock()
			r.held--
			r.mu.Unlock()
		}
		time.Sleep(r.pause)
		var env struct {
			Data struct {
				Customer struct {
					ID string `json:"id"`
				} `json:"customer"`
			} `json:"data"`
		}
		_ = json.Unmarshal(body, &env)
		id := req.Header.Get("webhook-id")
		r.mu.Lock()
		now := time.Now() // under the lock: the requests are in the order of their times
		n := len(r.got)
		r.got = append(r.got, receivedRequest{header: req.Header.Clone(), body: body, path: req.URL.RequestURI(), at: now})
		if r.ids[id] == 0 {
			r.first[id] = now
		}
		r.ids[id]++
		if r.customers[env.Data.Customer.ID] == nil {
			r.customers[env.Data.Customer.ID] = map[string]bool{}
		}
		r.customers[env.Data.Customer.ID][id] = true
		code := 200
		if len(r.codes) > 0 {
			code = r.codes[min(n, len(r.codes)-1)]
		}
		if c, ok := r.refuse[env.Data.Customer.ID]; ok {
			code = c
		}
		r.mu.Unlock()
		w.WriteHeader(code)
		fmt.Fprintf(w, "answer %d", code)
	}))
	t.Cleanup(r.Close)
	t.Cleanup(r.release) // before Close, which waits for the requests it holds
	return r
}

// hold makes the receiver hold every request that arrives from now on, unanswered, until
// release.
func (r *receiver) hold() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gate == nil {
		r.gate = make(chan struct{})
	}
}

// holdFrom makes the receiver hold request n (counted from 1) and every later one, until
// release.
func (r *receiver) holdFrom(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.holdAt = n
}

// release answers the requests held, and those that come after at once.
func (r *receiver) release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gate != nil {
		close(r.gate)
		r.gate = nil
	}
}

// holding is how many requests are held now.
func (r *receiver) holding() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.held
}

// webhookIDOf is the webhook-id customer's deliveries came under (the first, should there
// be several), or "".
func (r *receiver) webhookIDOf(customer string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]string, 0, len(r.customers[customer]))
	for id := range r.customers[customer] {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	if len(ids) == 0 {
		return ""
	}
	return ids[0]
}

// refuseCustomer answers the deliveries about customer (data.customer.id) with code; 0
// takes that back.
func (r *receiver) refuseCustomer(customer string, code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refuse == nil {
		r.refuse = map[string]int{}
	}
	if code == 0 {
		delete(r.refuse, customer)
		return
	}
	r.refuse[customer] = code
}

// setCodes replaces the script: the next request gets the answer of its number in all.
func (r *receiver) setCodes(codes ...int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.codes = codes
}

func (r *receiver) requests() []receivedRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]receivedRequest(nil), r.got...)
}

// waitRequests waits until the receiver has at least n requests.
func (r *receiver) waitRequests(t *testing.T, n int, timeout time.Duration) []receivedRequest {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if got := r.requests(); len(got) >= n {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("receiver got %d requests in %v, want %d", len(r.requests()), timeout, n)
	return nil
}

// counts returns the distinct webhook-ids received and the number of requests.
func (r *receiver) counts() (distinct, total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ids), len(r.got)
}

// customerCounts returns the distinct customers received (data.customer.id), the distinct
// webhook-ids and the number of requests.
func (r *receiver) customerCounts() (customers, distinct, total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.customers), len(r.ids), len(r.got)
}

// webhookIDsByCustomer returns, for each customer received, how many distinct webhook-ids
// it was sent under.
func (r *receiver) webhookIDsByCustomer() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.customers))
	for c, ids := range r.customers {
		out[c] = len(ids)
	}
	return out
}

// firstSeen is when the first request with webhook-id id was recorded.
func (r *receiver) firstSeen(id string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	at, ok := r.first[id]
	return at, ok
}

// arrivalsBetween counts the requests recorded in [from, to).
func (r *receiver) arrivalsBetween(from, to time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, req := range r.got {
		if !req.at.Before(from) && req.at.Before(to) {
			n++
		}
	}
	return n
}

// waitArrivalAfter waits for the first request recorded after t0 and returns its time.
func (r *receiver) waitArrivalAfter(t *testing.T, t0 time.Time, timeout time.Duration) time.Time {
	t.Helper()
	var first time.Time
	waitFor(t, timeout, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, req := range r.got {
			if req.at.After(t0) {
				first = req.at
				return true
			}
		}
		return false
	})
	return first
}
