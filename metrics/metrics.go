// Package metrics is the process's metrics registry on the Prometheus client library
// (github.com/prometheus/client_golang), with the Go runtime and process collectors, and the
// Temporal SDK's metrics handler on it, so the SDK's worker and client metrics and
// hookflow's own (recorded through workflow.GetMetricsHandler and
// activity.GetMetricsHandler, which are replay-safe) come out of one exposition.
//
// The SDK's series are named as Temporal's recommended Prometheus setup names them (the
// naming scope of go.temporal.io/sdk/contrib/tally: counters end in _total, timers are
// _seconds histograms, gauges keep their name), because that is what the community
// dashboards and runbooks query. hookflow's own series are described in Series: HELP text,
// and histogram buckets chosen for what each one measures.
package metrics

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"
)

// Bucket sets, in seconds.
var (
	// AttemptBuckets are for one HTTP attempt: a receiver answers in milliseconds, a slow
	// one in seconds, and an attempt times out at 30 s at most.
	AttemptBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30}
	// DeliveryBuckets are for a delivery from the event's intake to its 2xx: the first
	// attempt (tens of milliseconds) or a retry of the schedule, which spans a day.
	DeliveryBuckets = []float64{0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600,
		3 * 3600, 6 * 3600, 12 * 3600, 24 * 3600, 36 * 3600}
	// SDKBuckets are for the Temporal SDK's timers: request and task latencies from a
	// millisecond to minutes (schedule-to-start grows with a backlog).
	SDKBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300}
)

// NativeBucketFactor is the growth factor of the native (sparse) histograms every
// histogram carries beside its classic buckets: 1.1 gives about 10 % resolution at any
// scale to a Prometheus that scrapes the protobuf format with native histograms enabled.
const NativeBucketFactor = 1.1

// DistributionLabel is the label that names a distribution. Its values are bounded: the
// first MaxDistributions ids a process sees keep their own series, every later one is
// counted under OtherDistribution, so that a project with many distributions cannot grow
// the exposition (and the Prometheus that scrapes it) without bound.
const (
	DistributionLabel = "distribution"
	MaxDistributions  = 1000
	OtherDistribution = "_other"
)

// Series describes hookflow's own series: their HELP text and, for histograms, buckets.
// The names are the ones workflows and activities record (their Metric* constants).
var Series = map[string]Desc{
	"hookflow_deliveries_total": {Help: "Deliveries that reached a result, by result (delivered, failed, skipped, ...) and source object."},
	"hookflow_delivery_latency_seconds": {Help: "Time from an event's intake to its delivery's 2xx answer, retries included.",
		Buckets: DeliveryBuckets},
	"hookflow_distribution_deliveries_total": {Help: "Deliveries that reached a result, by distribution and result; " +
		"distributions after the first 1000 a process sees are counted as distribution=\"_other\"."},
	"hookflow_attempts_total": {Help: "HTTP attempts of deliveries, by class: the answer's status class (2xx ... 5xx) or why there was none (timeout, connect, dns, refused, transport)."},
	"hookflow_attempt_duration_seconds": {Help: "Duration of one HTTP attempt of a delivery, from the request to the answer's status or the error.",
		Buckets: AttemptBuckets},
	"hookflow_notifications_sent_total": {Help: "Failure notifications sent, by channel (email, in_app, alert_webhook)."},
}

// Desc is what the exposition says of a series beyond its name.
type Desc struct {
	Help    string
	Buckets []float64 // histograms only; SDKBuckets when nil
}

type kind int

const (
	counter kind = iota
	gauge
	histogram
)

var kindNames = [...]string{"counter", "gauge", "histogram"}

// Registry is one process's metrics: a prometheus.Registry with the Go and process
// collectors and the series recorded through SDKHandler, and the gatherers added with
// AddGatherer (the embedded Temporal server's). The zero value is not usable; use
// NewRegistry.
type Registry struct {
	reg *prometheus.Registry

	mu       sync.Mutex
	series   map[string]prometheus.Collector // by name and label key
	order    []prometheus.Collector          // in order of creation, for Collect
	kinds    map[string]kind                 // by name
	dists    map[string]bool                 // distribution ids with their own series
	gathers  map[int]prometheus.Gatherer
	nextGath int

	tagSets sync.Map // label key -> *tagSet
}

// NewRegistry returns a registry with the Go runtime and process collectors.
func NewRegistry() *Registry {
	r := &Registry{
		reg:     prometheus.NewRegistry(),
		series:  map[string]prometheus.Collector{},
		kinds:   map[string]kind{},
		dists:   map[string]bool{},
		gathers: map[int]prometheus.Gatherer{},
	}
	r.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), sdkCollector{r})
	return r
}

// AddGatherer adds g's metrics to the exposition until remove is called. A family that
// the registry has under the same name (the embedded server's internal SDK clients use
// the SDK's names, unsuffixed) is served as the registry has it: the exposition keeps one
// HELP and one type per name.
func (r *Registry) AddGatherer(g prometheus.Gatherer) (remove func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := r.nextGath
	r.nextGath++
	r.gathers[id] = g
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		delete(r.gathers, id)
	}
}

// Gatherer is everything the exposition serves: the registry and the added gatherers.
func (r *Registry) Gatherer() prometheus.Gatherer {
	r.mu.Lock()
	defer r.mu.Unlock()
	gs := prometheus.Gatherers{r.reg}
	ids := make([]int, 0, len(r.gathers))
	for id := range r.gathers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		gs = append(gs, r.gathers[id])
	}
	return gs
}

// ServeHTTP serves the exposition, in the format the scraper asks for (the text format,
// or protobuf with native histograms and the exemplars that link latencies to traces). A
// series that cannot be gathered is left out and the rest served.
//
// OpenMetrics stays off: a Prometheus would ask for it first, and its encoder adds _total
// to the embedded server's counters (service_requests), which the server dashboards query
// by their own names.
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	promhttp.HandlerFor(r.Gatherer(), promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}).ServeHTTP(w, req)
}

// sdkCollector collects the series made through SDKHandler. It describes none up front
// (an unchecked collector): the SDK gives one name different tag sets, which the client
// library allows only of series it was not told about in advance.
type sdkCollector struct{ r *Registry }

func (sdkCollector) Describe(chan<- *prometheus.Desc) {}

func (c sdkCollector) Collect(ch chan<- prometheus.Metric) {
	c.r.mu.Lock()
	all := slices.Clone(c.r.order)
	c.r.mu.Unlock()
	for _, s := range all {
		s.Collect(ch)
	}
}

// promName is name as Temporal's Prometheus naming scope has it: counters end in _total,
// timers in _seconds; gauges keep their name.
func promName(name string, k kind) string {
	name = sanitizeName(name)
	switch {
	case k == counter && !strings.HasSuffix(name, "_total"):
		name += "_total"
	case k == histogram && !strings.HasSuffix(name, "_seconds"):
		name += "_seconds"
	}
	return name
}

// get is the series of name (already in its exposition form) with the labels of t, made
// on first use.
func (r *Registry) get(name string, k kind, t *tagSet) prometheus.Collector {
	r.mu.Lock()
	defer r.mu.Unlock()
	if prev, seen := r.kinds[name]; seen && prev != k {
		// One name used as two kinds would make an invalid exposition: the later kind is
		// kept under a suffixed name.
		name += "_" + kindNames[k]
	}
	key := name + "\xff" + t.key
	if s, ok := r.series[key]; ok {
		return s
	}
	r.kinds[name] = k
	d, ok := Series[name]
	if !ok {
		d.Help = "Temporal SDK metric " + name + ", as go.temporal.io/sdk reports it."
	}
	var s prometheus.Collector
	switch k {
	case counter:
		s = prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: d.Help, ConstLabels: t.labels})
	case gauge:
		s = prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: d.Help, ConstLabels: t.labels})
	case histogram:
		buckets := d.Buckets
		if buckets == nil {
			buckets = SDKBuckets
		}
		s = prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: d.Help, ConstLabels: t.labels,
			Buckets: buckets, NativeHistogramBucketFactor: NativeBucketFactor,
			NativeHistogramMaxBucketNumber: 160, NativeHistogramMinResetDuration: time.Hour})
	}
	r.series[key] = s
	r.order = append(r.order, s)
	return s
}

// distribution bounds the values of DistributionLabel (see MaxDistributions).
func (r *Registry) distribution(id string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dists[id] {
		return id
	}
	if len(r.dists) >= MaxDistributions {
		return OtherDistribution
	}
	r.dists[id] = true
	return id
}

// SDKHandler is the registry as the Temporal SDK's metrics handler (client.Options.MetricsHandler).
func (r *Registry) SDKHandler() client.MetricsHandler { return handler{r: r, t: r.tagSet(nil)} }

// tagSet is one set of labels and the series asked for under it. Label sets are kept by
// their rendering, so that a handler the SDK tags again with the same tags (it does, for
// every task) finds the series it made before without the registry's lock: asking for a
// counter is one map read.
type tagSet struct {
	tags   map[string]string
	labels prometheus.Labels
	key    string

	counters, gauges, timers sync.Map // by the name asked for
}

func (r *Registry) tagSet(tags map[string]string) *tagSet {
	key := renderLabels(tags)
	if t, ok := r.tagSets.Load(key); ok {
		return t.(*tagSet)
	}
	labels := make(prometheus.Labels, len(tags))
	for k, v := range tags {
		labels[k] = v
	}
	t, _ := r.tagSets.LoadOrStore(key, &tagSet{tags: tags, labels: labels, key: key})
	return t.(*tagSet)
}

// handler is the SDK's metrics handler on a registry.
type handler struct {
	r *Registry
	t *tagSet
}

func (h handler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := make(map[string]string, len(h.t.tags)+len(tags))
	for k, v := range h.t.tags {
		merged[k] = v
	}
	for k, v := range tags {
		k = labelName(k)
		if k == DistributionLabel {
			v = h.r.distribution(v)
		}
		merged[k] = strings.ToValidUTF8(v, "\uFFFD")
	}
	return handler{r: h.r, t: h.r.tagSet(merged)}
}

func (h handler) Counter(name string) client.MetricsCounter {
	if c, ok := h.t.counters.Load(name); ok {
		return c.(*sdkCounter)
	}
	c := &sdkCounter{h.r.get(promName(name, counter), counter, h.t).(prometheus.Counter)}
	h.t.counters.Store(name, c)
	return c
}

func (h handler) Gauge(name string) client.MetricsGauge {
	if g, ok := h.t.gauges.Load(name); ok {
		return g.(*sdkGauge)
	}
	g := &sdkGauge{h.r.get(promName(name, gauge), gauge, h.t).(prometheus.Gauge)}
	h.t.gauges.Store(name, g)
	return g
}

func (h handler) Timer(name string) client.MetricsTimer {
	if t, ok := h.t.timers.Load(name); ok {
		return t.(*sdkTimer)
	}
	t := &sdkTimer{h.r.get(promName(name, histogram), histogram, h.t).(prometheus.Histogram)}
	h.t.timers.Store(name, t)
	return t
}

type sdkCounter struct{ c prometheus.Counter }

func (c *sdkCounter) Inc(d int64) {
	if d > 0 { // a counter only goes up; the SDK never asks otherwise
		c.c.Add(float64(d))
	}
}

type sdkGauge struct{ g prometheus.Gauge }

func (g *sdkGauge) Update(v float64) { g.g.Set(v) }

type sdkTimer struct{ h prometheus.Histogram }

func (t *sdkTimer) Record(d time.Duration) { t.h.Observe(d.Seconds()) }

// RecordWithExemplar records d with exemplar's labels (a trace id: trace_id) as the
// exemplar of its bucket, which links the histogram to the trace of a slow observation.
// Labels over the exemplar's limit of 128 characters in all are dropped rather than the
// observation.
func (t *sdkTimer) RecordWithExemplar(d time.Duration, exemplar map[string]string) {
	eo, ok := t.h.(prometheus.ExemplarObserver)
	if !ok || len(exemplar) == 0 || labelRunes(exemplar) > prometheus.ExemplarMaxRunes {
		t.h.Observe(d.Seconds())
		return
	}
	eo.ObserveWithExemplar(d.Seconds(), exemplar)
}

// labelRunes is how many runes exemplar's names and values have, as the client library
// counts them against ExemplarMaxRunes.
func labelRunes(exemplar map[string]string) int {
	n := 0
	for k, v := range exemplar {
		n += utf8.RuneCountInString(k) + utf8.RuneCountInString(v)
	}
	return n
}

// renderLabels writes tags as k="v",... sorted by key, values quoted: the key of a label
// set.
func renderLabels(tags map[string]string) string {
	if len(tags) == 0 {
		return ""
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(tags[k]))
	}
	return b.String()
}

// labelName is k as a label name may be: no reserved "__" prefix, no leading digit.
func labelName(k string) string {
	k = sanitizeName(strings.ReplaceAll(k, ":", "_"))
	for strings.HasPrefix(k, "__") {
		k = k[1:]
	}
	if k == "" || k[0] >= '0' && k[0] <= '9' {
		k = "_" + k
	}
	return k
}

// sanitizeName keeps what a metric name may hold.
func sanitizeName(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "_")
	}
	return strings.Map(func(r rune) rune {
		if r == '_' || r == ':' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}
