package bench

import (
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuTime is the CPU time this process has used: the server, the worker, the receiver and
// the load are one process, so it is the whole cost of what a phase ran.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rssMB reads the process's resident set size from /proc (0 where there is none).
func rssMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return math.Round(kb/1024*10) / 10
		}
	}
	return 0
}

type rssSampler struct {
	done chan struct{}
	peak chan float64
}

func newRSSSampler() *rssSampler {
	s := &rssSampler{done: make(chan struct{}), peak: make(chan float64, 1)}
	go func() {
		peak := rssMB()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.done:
				s.peak <- peak
				return
			case <-t.C:
				peak = max(peak, rssMB())
			}
		}
	}()
	return s
}

// stop ends the sampling and returns the peak; later calls return 0.
func (s *rssSampler) stop() float64 {
	select {
	case <-s.done:
		return 0
	default:
		close(s.done)
		return <-s.peak
	}
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	idx := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[min(max(idx, 0), len(s)-1)]
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
func round1(f float64) float64   { return math.Round(f*10) / 10 }
func round2(f float64) float64   { return math.Round(f*100) / 100 }
