// Package metrics keeps counters, gauges and histograms and serves them in the Prometheus
// text format. It is the Temporal SDK's metrics handler too, so the SDK's worker and client
// metrics and hookflow's own (recorded through workflow.GetMetricsHandler and
// activity.GetMetricsHandler, which are replay-safe) come out of one registry.
package metrics

import (
	"bufio"
	"fmt"
	"math"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
)

// Buckets are the histogram bounds, in seconds, of every timer.
var Buckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300}

type kind int

const (
	counter kind = iota
	gauge
	histogram
)

// Registry holds every series. The zero value is not usable; use NewRegistry.
type Registry struct {
	mu     sync.Mutex
	series map[string]*series // by name and labels
	kinds  map[string]kind    // by name
}

type series struct {
	name   string
	labels string // rendered {k="v",...}, sorted by key
	kind   kind
	value  float64
	counts []uint64 // histogram: per bucket, then +Inf
	sum    float64
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{series: map[string]*series{}, kinds: map[string]kind{}}
}

// SDKHandler is the registry as the Temporal SDK's metrics handler (client.Options.MetricsHandler).
func (r *Registry) SDKHandler() client.MetricsHandler { return handler{r: r} }

var kindNames = [...]string{"counter", "gauge", "histogram"}

// get is the series of name with labels (rendered by renderLabels), made on first use.
func (r *Registry) get(name, labels string, k kind) *series {
	r.mu.Lock()
	defer r.mu.Unlock()
	if prev, seen := r.kinds[name]; seen && prev != k {
		// One name used as two kinds would make an invalid exposition: the later kind is
		// kept under a suffixed name.
		name += "_" + kindNames[k]
	}
	if s, ok := r.series[name+labels]; ok {
		return s
	}
	r.kinds[name] = k
	s := &series{name: name, labels: labels, kind: k}
	if k == histogram {
		s.counts = make([]uint64, len(Buckets)+1)
	}
	r.series[name+labels] = s
	return s
}

func (r *Registry) add(s *series, v float64) {
	r.mu.Lock()
	s.value += v
	r.mu.Unlock()
}

func (r *Registry) set(s *series, v float64) {
	r.mu.Lock()
	s.value = v
	r.mu.Unlock()
}

func (r *Registry) observe(s *series, seconds float64) {
	i := sort.SearchFloat64s(Buckets, seconds)
	r.mu.Lock()
	s.counts[i]++
	s.sum += seconds
	r.mu.Unlock()
}

// ServeHTTP writes every series in the Prometheus text format (version 0.0.4), with the
// process's resident memory and goroutines.
func (r *Registry) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	r.mu.Lock()
	all := make([]*series, 0, len(r.series))
	for _, s := range r.series {
		c := *s
		c.counts = append([]uint64(nil), s.counts...)
		all = append(all, &c)
	}
	r.mu.Unlock()
	sort.Slice(all, func(i, j int) bool {
		if all[i].name != all[j].name {
			return all[i].name < all[j].name
		}
		return all[i].labels < all[j].labels
	})
	last := ""
	for _, s := range all {
		if s.name != last {
			fmt.Fprintf(bw, "# TYPE %s %s\n", s.name, kindNames[s.kind])
			last = s.name
		}
		switch s.kind {
		case counter, gauge:
			fmt.Fprintf(bw, "%s%s %s\n", s.name, s.labels, formatFloat(s.value))
		case histogram:
			var cum uint64
			for i, b := range Buckets {
				cum += s.counts[i]
				fmt.Fprintf(bw, "%s_bucket%s %d\n", s.name, withLabel(s.labels, "le", formatFloat(b)), cum)
			}
			cum += s.counts[len(Buckets)]
			fmt.Fprintf(bw, "%s_bucket%s %d\n", s.name, withLabel(s.labels, "le", "+Inf"), cum)
			fmt.Fprintf(bw, "%s_sum%s %s\n", s.name, s.labels, formatFloat(s.sum))
			fmt.Fprintf(bw, "%s_count%s %d\n", s.name, s.labels, cum)
		}
	}
	fmt.Fprintf(bw, "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %d\n", residentBytes())
	fmt.Fprintf(bw, "# TYPE go_goroutines gauge\ngo_goroutines %d\n", runtime.NumGoroutine())
}

func formatFloat(f float64) string {
	if math.IsInf(f, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// labelValueEscaper escapes a label value as the text format requires.
var labelValueEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// renderLabels writes tags as {k="v",...}, sorted, with names and values escaped as the
// format requires; no tags is "".
func renderLabels(tags map[string]string) string {
	if len(tags) == 0 {
		return ""
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(sanitizeName(k))
		b.WriteString(`="`)
		b.WriteString(labelValueEscaper.Replace(tags[k]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

func withLabel(labels, k, v string) string {
	pair := k + `="` + v + `"`
	if labels == "" {
		return "{" + pair + "}"
	}
	return labels[:len(labels)-1] + "," + pair + "}"
}

// sanitizeName keeps what a metric or label name may hold.
func sanitizeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r == ':' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}

func residentBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// handler is the SDK's metrics handler on a registry. Its labels are rendered once, when
// the tags are given: the SDK asks for a counter or timer on every event it records.
type handler struct {
	r      *Registry
	tags   map[string]string
	labels string
}

func (h handler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := make(map[string]string, len(h.tags)+len(tags))
	for k, v := range h.tags {
		merged[k] = v
	}
	for k, v := range tags {
		merged[k] = v
	}
	return handler{r: h.r, tags: merged, labels: renderLabels(merged)}
}

func (h handler) Counter(name string) client.MetricsCounter {
	s := h.r.get(sanitizeName(name), h.labels, counter)
	return counterFunc(func(d int64) { h.r.add(s, float64(d)) })
}

func (h handler) Gauge(name string) client.MetricsGauge {
	s := h.r.get(sanitizeName(name), h.labels, gauge)
	return gaugeFunc(func(v float64) { h.r.set(s, v) })
}

func (h handler) Timer(name string) client.MetricsTimer {
	s := h.r.get(sanitizeName(name), h.labels, histogram)
	return timerFunc(func(d time.Duration) { h.r.observe(s, d.Seconds()) })
}

type counterFunc func(int64)

func (f counterFunc) Inc(d int64) { f(d) }

type gaugeFunc func(float64)

func (f gaugeFunc) Update(v float64) { f(v) }

type timerFunc func(time.Duration)

func (f timerFunc) Record(d time.Duration) { f(d) }
