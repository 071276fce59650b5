package e2e

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"
)

// The replay tests of workflows/ replay histories recorded from real runs of these tests.
// -record-history=NAME writes each history of historyRecordings, with NAME (a name for the
// code that ran, e.g. candidates_input) in its file name, and historyRecordCommand runs
// every test that writes one: it is the command that README.md and
// workflows/replay_test.go give, and TestHistoryRecordCommand holds them to it.

// historyRecordings are the histories that -record-history writes, into
// workflows/testdata, and the test that records each. Files recorded before under other
// names stay, and replay too.
var historyRecordings = []struct{ file, test, what string }{
	{"delivery_NAME.history.json", "TestDev", "a Delivery retried twice, then delivered"},
	{"delivery_NAME_message.history.json", "TestMessagesDeliveredTogether", "a Delivery of five customers of a message, one refused"},
	{"delivery_NAME_publish_code.history.json", "TestDevPublishCode", "a Delivery of a publish_code distribution that published a code"},
	{"message_NAME.history.json", "TestMessagesDev", "a Message sent to one customer after its delay"},
	{"message_NAME_canceled.history.json", "TestMessagesDev", "a Message canceled during its delay"},
	{"delivery_NAME_traced.history.json", "TestTracing", "a traced Delivery (tracing headers on its start and activities), retried by a restarted dev"},
	{"delivery_NAME_throttled.history.json", "TestRateLimit", "a Delivery to a rate-limited distribution that waited for its turn, beside an unlimited one"},
	{"delivery_NAME_breaker.history.json", "TestCircuitBreaker", "a Delivery held by an open circuit breaker, then sent once it closed"},
	{"delivery_NAME_ordered.history.json", "TestOrderedDelivery", "an ordered Delivery that waited for its turn, failed once, then was delivered"},
	{"stream_NAME.history.json", "TestOrderedDelivery", "the OrderedStream of one key, granting its turns"},
}

// historyRecordCommand records every history of historyRecordings.
const historyRecordCommand = `go test -count=1 -run '^(TestDev|TestDevPublishCode|TestMessagesDev|TestMessagesDeliveredTogether|TestTracing|TestRateLimit|TestCircuitBreaker|TestOrderedDelivery)$' ./e2e -record-history=NAME`

var recordHistory = flag.String("record-history", "", "write the histories that the replay tests of workflows/ replay, to "+
	"../workflows/testdata/{"+recordedFiles()+"} with NAME for the flag's value; record all of them with: "+historyRecordCommand+
	" (histories recorded before stay, and replay too)")

func recordedFiles() string {
	var files []string
	for _, r := range historyRecordings {
		files = append(files, r.file)
	}
	return strings.Join(files, ",")
}

// recordWorkflowHistory writes, under -record-history, the history of workflowID as file
// (a file of historyRecordings) into workflows/testdata. Only the test that
// historyRecordings names writes it: another that shares the code (the same test on
// PostgreSQL) does not.
func recordWorkflowHistory(t *testing.T, c client.Client, workflowID, file string) {
	t.Helper()
	if *recordHistory == "" {
		return
	}
	test := ""
	for _, r := range historyRecordings {
		if r.file == file {
			test = r.test
		}
	}
	if test == "" {
		t.Fatalf("%s is not in historyRecordings: add it there, with the test that records it", file)
	}
	if root, _, _ := strings.Cut(t.Name(), "/"); root != test {
		return
	}
	path := filepath.Join(moduleRoot, "workflows", "testdata", strings.ReplaceAll(file, "NAME", *recordHistory))
	if err := os.WriteFile(path, historyJSON(t, c, workflowID), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded the history of %s in %s", workflowID, path)
}

// TestHistoryRecordCommand: the command that README.md and workflows/replay_test.go give to
// record the histories is historyRecordCommand, which runs every test that records one,
// and they name every file it writes.
func TestHistoryRecordCommand(t *testing.T) {
	run := regexp.MustCompile(`-run '([^']*)'`).FindStringSubmatch(historyRecordCommand)
	if run == nil {
		t.Fatalf("no -run in %s", historyRecordCommand)
	}
	selects := regexp.MustCompile(run[1])
	for _, r := range historyRecordings {
		if !selects.MatchString(r.test) {
			t.Errorf("%s does not run %s, which records %s", historyRecordCommand, r.test, r.file)
		}
	}
	for _, other := range []string{"TestDevPublishCodeOnPostgres", "TestDevResumesAfterRestart", "TestMessagesBulkWorkerKilled"} {
		if selects.MatchString(other) {
			t.Errorf("%s runs %s too, which records nothing", historyRecordCommand, other)
		}
	}
	for _, doc := range []string{"README.md", filepath.Join("workflows", "replay_test.go")} {
		b, err := os.ReadFile(filepath.Join(moduleRoot, doc))
		if err != nil {
			t.Fatal(err)
		}
		// A Go comment may break the command's line: compare without line breaks and comment
		// markers.
		text := strings.Join(strings.Fields(strings.ReplaceAll(string(b), "\n//", "\n")), " ")
		if !strings.Contains(text, historyRecordCommand) {
			t.Errorf("%s does not give the command that records the histories: %s", doc, historyRecordCommand)
		}
		for _, r := range historyRecordings {
			if !strings.Contains(text, r.file) {
				t.Errorf("%s does not name %s, which the command writes", doc, r.file)
			}
		}
	}
}
