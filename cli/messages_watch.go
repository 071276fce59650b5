package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/store"
)

// hookflow messages show ID --watch: a message's progress until it is done (sent or
// canceled), by polling GET /v1/messages/{id}: a bar redrawn in place on a terminal, a line
// per change otherwise, an object per change with -o jsonl.

// isTerminal says whether w is a terminal, where a line may be redrawn in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// messageDone says whether a message is done: all its deliveries started, or canceled.
func messageDone(status string) bool {
	return status == store.MessageSent || status == store.MessageCanceled
}

// watchMessage prints the progress of a message until it is done; Ctrl-C stops it
// without an error.
func watchMessage(ctx context.Context, c *apiClient, id string, interval time.Duration) error {
	path := "/v1/messages/" + url.PathEscape(id)
	get := func() (api.MessageView, error) {
		var m api.MessageView
		err := c.do(http.MethodGet, path, nil, &m)
		return m, err
	}
	bar := c.isText() && isTerminal(c.out)
	last := ""
	for {
		m, err := poll(ctx, get)
		if ctx.Err() != nil {
			if bar && last != "" {
				fmt.Fprintln(c.out) // leave the bar on its own line
			}
			return nil
		}
		if err != nil {
			if bar && last != "" {
				fmt.Fprintln(c.out)
			}
			return err
		}
		// A change is one of status or progress; the API's updated_at moves with them.
		state := fmt.Sprintf("%s %d/%d", m.Status, m.Sent, m.Total)
		if state != last {
			last = state
			switch {
			case !c.isText():
				if err := c.data(m); err != nil {
					return err
				}
			case bar:
				fmt.Fprintf(c.out, "\r%s\x1b[K", progressBar(m, 30))
			default:
				fmt.Fprintln(c.out, progressLine(m))
			}
		}
		if messageDone(m.Status) {
			if bar {
				fmt.Fprintln(c.out)
			}
			return nil
		}
		if !sleepCtx(ctx, interval) {
			if bar {
				fmt.Fprintln(c.out)
			}
			return nil
		}
	}
}

// progressBar draws a message's progress in width cells:
// "msg_123 [=========>          ] 45/100 (45%) sending".
func progressBar(m api.MessageView, width int) string {
	done := 0
	if m.Total > 0 {
		done = width * m.Sent / m.Total
	}
	cells := strings.Repeat("=", done)
	if done < width {
		cells += ">" + strings.Repeat(" ", width-done-1)
	}
	return fmt.Sprintf("%s [%s] %s", m.ID, cells, progressText(m))
}

// progressLine is a message's progress on a line of its own, with the time it was read.
func progressLine(m api.MessageView) string {
	return fmt.Sprintf("%s  %s %s", time.Now().Local().Format(tableTime), m.ID, progressText(m))
}

// progressText is "45/100 sent (45%), sending", and when it is scheduled, when it sends.
func progressText(m api.MessageView) string {
	pct := 0
	if m.Total > 0 {
		pct = 100 * m.Sent / m.Total
	}
	s := fmt.Sprintf("%d/%d sent (%d%%), %s", m.Sent, m.Total, pct, m.Status)
	if m.Status == store.MessageScheduled {
		s += ", sends at " + m.SendAt.Local().Format(tableTime)
	}
	return s
}
