package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// A phase is one measurement: n workflows of one kind started at the load's concurrency or
// rate. The unit of work is counted where a user would see it: a delivery when the
// receiver gets it, a yardstick when its no-op (activity, or the workflow itself) runs.
// An event is in flight from its start until its last unit is seen. That nothing is
// lost or left running is checked in bulk at the end, from the visibility store: no long
// poll per workflow, which would cost the server CPU that the product does not spend.

// tracker counts the units of one phase as they arrive.
type tracker struct {
	mu      sync.Mutex
	intake  []time.Time     // when event i was started
	pending []int           // units of event i not seen yet
	first   []time.Duration // intake to each unit, in the order seen
	last    time.Time       // when the last unit was seen
	left    int             // events with units not seen yet
	done    chan struct{}   // closed when left is 0
	// free is told of event i when its last unit arrives: the load starts another.
	free chan struct{}
}

func newTracker(n, unitsPerEvent int, free chan struct{}) *tracker {
	t := &tracker{intake: make([]time.Time, n), pending: make([]int, n), left: n, done: make(chan struct{}), free: free,
		first: make([]time.Duration, 0, n*unitsPerEvent)}
	for i := range t.pending {
		t.pending[i] = unitsPerEvent
	}
	return t
}

// started notes that event i was started now.
func (t *tracker) started(i int) {
	t.mu.Lock()
	t.intake[i] = time.Now()
	t.mu.Unlock()
}

// arrived notes one unit of event i; a unit seen again (a retried activity, a duplicate
// POST) is the caller's to count, not this.
func (t *tracker) arrived(i int) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if i < 0 || i >= len(t.pending) || t.pending[i] == 0 {
		return
	}
	t.pending[i]--
	t.first = append(t.first, now.Sub(t.intake[i]))
	t.last = now
	if t.pending[i] > 0 {
		return
	}
	t.left--
	select {
	case <-t.free:
	default:
	}
	if t.left == 0 {
		close(t.done)
	}
}

// missing is how many units have not arrived.
func (t *tracker) missing() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, p := range t.pending {
		n += p
	}
	return n
}

// phaseResult is one measured phase.
type phaseResult struct {
	n       int           // events (workflows)
	units   int           // units of work: deliveries, or one a yardstick workflow
	elapsed time.Duration // from the first start to the last unit seen
	cpu     time.Duration // the process's CPU from the first start until every workflow closed
	first   []time.Duration
	// completion is start to close, per workflow, from the visibility store.
	completion []time.Duration
	lost       int // units never seen
}

func (r phaseResult) perSec() float64 { return float64(r.units-r.lost) / r.elapsed.Seconds() }
func (r phaseResult) cpuMsPer() float64 {
	return float64(r.cpu.Microseconds()) / 1000 / float64(r.units)
}

// phase says what one measurement runs.
type phase struct {
	name          string
	unitsPerEvent int
	// prefix begins the ids of its workflows, and nothing else's: the bulk checks count by
	// it.
	prefix string
	// start starts event i's workflow (its id is prefix and something of i's own); it
	// returns once the start is accepted.
	start func(ctx context.Context, i int) error
	// closed is the visibility query, AND-ed to the prefix, that a workflow of the phase
	// matches once it ended as it should.
	closed string
	// completion asks for the start-to-close time of every workflow, read from the
	// visibility store after the measurement.
	completion bool
}

// runPhase runs p for n events at the options' concurrency or rate, with tr counting the
// units (the caller wires tr.arrived to where they arrive), and measures it.
func runPhase(ctx context.Context, c client.Client, o Options, p phase, tr *tracker, free chan struct{}) (phaseResult, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	n := len(tr.intake)
	r := phaseResult{n: n, units: n * p.unitsPerEvent}
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	cpu0, start := cpuTime(), time.Now()
	for i := range n {
		if o.Rate > 0 {
			time.Sleep(time.Until(start.Add(time.Duration(float64(i) / o.Rate * float64(time.Second)))))
		} else {
			select {
			case free <- struct{}{}: // a slot in flight, given back by tr.arrived
			case err := <-errs:
				return r, err
			case <-ctx.Done():
				return r, ctx.Err()
			}
		}
		tr.started(i)
		wg.Go(func() {
			if err := p.start(ctx, i); err != nil {
				select {
				case errs <- fmt.Errorf("%s: start %d: %w", p.name, i, err):
				default:
				}
			}
		})
	}
	wg.Wait()
	// Every unit should arrive soon after its start; a minute past the last start, what has
	// not arrived is lost.
	select {
	case <-tr.done:
	case err := <-errs:
		return r, err
	case <-time.After(time.Minute):
	case <-ctx.Done():
		return r, ctx.Err()
	}
	tr.mu.Lock()
	r.elapsed, r.first = tr.last.Sub(start), append([]time.Duration(nil), tr.first...)
	tr.mu.Unlock()
	r.lost = tr.missing()
	if r.elapsed <= 0 {
		r.elapsed = time.Since(start)
	}
	// Then, in bulk, that every workflow closed as it should.
	closedQuery := fmt.Sprintf("WorkflowId STARTS_WITH '%s' AND %s", p.prefix, p.closed)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		count, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: closedQuery})
		if err != nil {
			return r, fmt.Errorf("%s: count closed workflows: %w", p.name, err)
		}
		if int(count.GetCount()) >= n {
			break
		}
		if time.Now().After(deadline) {
			return r, fmt.Errorf("%s: %d of %d workflows closed as they should (%s) two minutes after the last unit", p.name, count.GetCount(), n, p.closed)
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.cpu = cpuTime() - cpu0
	if !p.completion {
		return r, nil
	}
	// Start to close of every workflow, read from the visibility store after the measurement.
	var token []byte
	for {
		listCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		resp, err := c.ListWorkflow(listCtx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("WorkflowId STARTS_WITH '%s'", p.prefix), PageSize: 200, NextPageToken: token})
		cancel()
		if err != nil {
			return r, fmt.Errorf("%s: list workflows: %w", p.name, err)
		}
		for _, e := range resp.GetExecutions() {
			if e.GetCloseTime() != nil {
				r.completion = append(r.completion, e.GetCloseTime().AsTime().Sub(e.GetStartTime().AsTime()))
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	return r, nil
}
