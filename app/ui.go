package app

import (
	"net/url"
	"strings"

	"github.com/hookflow/hookflow/deliverylog"
	"github.com/hookflow/hookflow/workflows"
)

// DefaultUIURL is the Web UI's base URL that `hookflow dev` serves with its defaults
// (--ui-port 8233 on the loopback address): the CLI's --ui-url defaults to it.
const DefaultUIURL = "http://127.0.0.1:8233"

// UIWorkflowsURL is the Web UI's workflow list of namespace at uiURL, filtered by the
// visibility query of f (deliverylog's, the one the API's delivery log runs): a link a
// person opens to see those events without knowing the query language.
func UIWorkflowsURL(uiURL, namespace string, f deliverylog.EventFilter) (string, error) {
	q, err := f.Query()
	if err != nil {
		return "", err
	}
	// %20 rather than +: the link is read by people and pasted into chats as well.
	return strings.TrimSuffix(uiURL, "/") + "/namespaces/" + url.PathEscape(namespace) + "/workflows?query=" +
		strings.ReplaceAll(url.QueryEscape(q), "+", "%20"), nil
}

// uiLinkRows add to a banner the Web UI's links to the deliveries that need a look: the
// events whose deliveries failed for good, and those still retrying.
func uiLinkRows(b *Banner, uiURL, namespace string) {
	for _, row := range []struct{ label, status string }{
		{"Failed in UI", workflows.StatusFailed},
		{"Retrying in UI", workflows.StatusRetrying},
	} {
		link, err := UIWorkflowsURL(uiURL, namespace, deliverylog.EventFilter{Status: row.status})
		if err == nil {
			b.Row(row.label, "%s", link)
		}
	}
}
