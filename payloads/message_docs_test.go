package payloads

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// messageIDDocs are the documents that show the ids of a message's customers: the README
// and every page of docs/.
func messageIDDocs(t *testing.T) []string {
	t.Helper()
	pages, err := filepath.Glob(filepath.Join("..", "docs", "*.md"))
	if err != nil || len(pages) == 0 {
		t.Fatalf("no docs/*.md beside this package (%v)", err)
	}
	return append([]string{filepath.Join("..", "README.md")}, pages...)
}

// codeSpan is a `...` span of Markdown on one line.
var codeSpan = regexp.MustCompile("`([^`\n]+)`")

// TestMessageIDsAsDocumented reads every id shape the docs show for a message's customers
// (a code span that names a message, <msg> or <message id>, and a seq, <seq> or
// <first>-<last>), fills in sample values and checks that the code makes that very id: the
// event id of a customer, a group's key, or the workflow id of either. A doc that shows
// <message id>-<seq> when the code makes <message id>/<seq> fails here.
func TestMessageIDsAsDocumented(t *testing.T) {
	const msg, seq, first, last = "msg_1", 7, 40, 79
	made := map[string]string{
		MessageEventID(msg, seq):                     "MessageEventID",
		"event/" + MessageEventID(msg, seq):          "the workflow id of MessageEventID",
		MessageGroupKey(msg, first, last):            "MessageGroupKey",
		"event/" + MessageGroupKey(msg, first, last): "the workflow id of MessageGroupKey",
	}
	fill := strings.NewReplacer("<msg>", msg, "<message id>", msg, "<seq>", "7", "<first>", "40", "<last>", "79")
	shapes := 0
	for _, path := range messageIDDocs(t) {
		text, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(text), "\n") {
			for _, m := range codeSpan.FindAllStringSubmatch(line, -1) {
				span := m[1]
				namesMessage := strings.Contains(span, "<msg>") || strings.Contains(span, "<message id>")
				namesSeq := strings.Contains(span, "<seq>") || strings.Contains(span, "<first>")
				if !namesMessage || !namesSeq {
					continue
				}
				shapes++
				if _, ok := made[fill.Replace(span)]; !ok {
					t.Errorf("%s:%d: `%s` is no id the code makes: for message %s it makes %s (seq %d) and %s (seqs %d to %d)",
						path, i+1, span, msg, MessageEventID(msg, seq), seq, MessageGroupKey(msg, first, last), first, last)
				}
			}
		}
	}
	// The check reads something: docs/messages.md shows the event id and the workflow ids.
	if shapes < 3 {
		t.Errorf("found %d id shapes of a message's customers in the docs, want at least 3 (docs/messages.md)", shapes)
	}
}
