package cli

import (
	"errors"
	"io"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/bench"
)

func newBenchCommand(g *globalFlags) *cobra.Command {
	var o bench.Options
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure deliveries/s and latency against bare Temporal workflows on the same server",
		Long: `Start an embedded Temporal server (SQLite, WAL), a worker and a local receiver; send
--events events at a fixed concurrency (or --rate events/s) and report deliveries/s, latency
from intake to the first POST and to completion, CPU per delivery and peak RSS. In the same
run, on the same server, it runs the yardsticks (a workflow with one no-op activity, and an
empty workflow) and prints the ratios. Every event is accounted for by id at the receiver:
a run that loses one says so and exits non-zero. Progress goes to standard error, the
result to standard output (-o json for scripts).`,
		Example: `  hookflow bench --events 2000 --concurrency 200
  hookflow bench --events 600 --rate 20 -o json
  hookflow bench --events 1000 --ordered
  hookflow bench --message-customers 100000
  hookflow bench --events 2000 --concurrency 200 --rate-limited`,
		Args: usageArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p := g.printer(cmd)
			if jsonOut && p.isText() {
				p.format = formatJSON // --json is -o json
			}
			var res interface{ WriteText(io.Writer) error }
			var err error
			if o.MessageCustomers > 0 {
				res, err = bench.RunMessage(cmd.Context(), o, cmd.ErrOrStderr())
			} else {
				res, err = bench.Run(cmd.Context(), o, cmd.ErrOrStderr())
			}
			var lost *bench.LostError
			if err != nil && !errors.As(err, &lost) {
				return err
			}
			if perr := p.print(res, res.WriteText); perr != nil && err == nil {
				err = perr
			}
			return err
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Events, "events", 1000, "events per round")
	f.IntVar(&o.Concurrency, "concurrency", 100, "events in flight at once (ignored with --rate)")
	f.Float64Var(&o.Rate, "rate", 0, "send at this fixed arrival rate, events/s, instead of a fixed concurrency")
	f.IntVar(&o.Distributions, "distributions", 1, "matching distributions per event")
	f.IntVar(&o.PayloadBytes, "payload-bytes", 1024, "approximate size of each event's data")
	f.IntVar(&o.Rounds, "rounds", 3, "rounds of each measurement; medians are reported")
	f.BoolVar(&o.Baselines, "baselines", true, "run the bare-Temporal yardsticks in the same run")
	f.BoolVar(&jsonOut, "json", false, "print one JSON object (as -o json)")
	f.StringVar(&o.TemporalDatabaseURL, "temporal-database-url", "", "run the server on this PostgreSQL database (created if missing) instead of SQLite, as hookflow server does")
	f.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the measured rounds (server, worker and receiver: one process) to this file")
	f.IntVar(&o.MessageCustomers, "message-customers", 0, "measure one bulk message to this many customers (up to 100,000) instead of events: customers/s and history events per run")
	f.BoolVar(&o.RateLimited, "rate-limited", false, "give the distributions a rate limit too high to throttle ("+bench.BenchRateLimit+"): measures what taking a token before each POST costs")
	f.BoolVar(&o.Ordered, "ordered", false, "in each round, send the same load to ordered distributions too (webhook.ordering keyed over 100 customers) and report it beside the plain path")
	f.StringVar(&o.DataDir, "data-dir", "", "where the server keeps its SQLite file (default: a temporary dir, removed after)")
	return cmd
}
