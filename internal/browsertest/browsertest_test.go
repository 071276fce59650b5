package browsertest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Browser finds a browser, or skips the test when there is none and CI is not set: .ci/run
// installs one, so under CI its absence fails.
func browser(t *testing.T) string {
	t.Helper()
	path := Find()
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no Chromium-based browser (chromium, google-chrome) on the PATH; .ci/run installs Debian's chromium")
		}
		t.Skip("no Chromium-based browser on the PATH (apt-get install chromium)")
	}
	return path
}

// TestPageText opens a page whose text a script writes after load (a heading, SVG text, a
// frame and a closed shadow root), and reads that text as rendered, then a screenshot of it.
func TestPageText(t *testing.T) {
	path := browser(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(`<!doctype html><body><p>loading</p><script>
setTimeout(() => { document.body.innerHTML = "<h1>Rendered</h1><p style='display:none'>hidden words</p>" +
  "<svg width='200' height='40'><text x='0' y='20'>drawn label</text></svg>" +
  "<iframe srcdoc='<p>framed words</p>'></iframe><div id=host></div>";
  document.getElementById("host").attachShadow({mode: "closed"}).innerHTML = "<p>shadow words</p>"; }, 300);
</script></body>`))
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := Start(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p, err := b.NewPage(ctx, 800, 600)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Navigate(ctx, srv.URL); err != nil {
		t.Fatal(err)
	}
	// The SVG's text, the frame's and the shadow root's are read too.
	text, err := p.WaitText(ctx, "Rendered", "drawn label", "framed words", "shadow words")
	if err != nil {
		t.Fatalf("%v; text: %q", err, text)
	}
	// innerText is what is shown: not the hidden paragraph, nor the script.
	if strings.Contains(text, "hidden words") || strings.Contains(text, "setTimeout") {
		t.Errorf("the text holds what is not shown: %q", text)
	}
	// A text that never comes ends WaitText at its context's end, with what is missing.
	short, cancelShort := context.WithTimeout(ctx, time.Second)
	defer cancelShort()
	if _, err := p.WaitText(short, "Rendered", "never shown"); err == nil || !strings.Contains(err.Error(), "never shown") {
		t.Errorf("WaitText for a text never shown: %v", err)
	}
	file := filepath.Join(t.TempDir(), "page.png")
	if err := p.Screenshot(ctx, file); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil || !strings.HasPrefix(string(data), "\x89PNG") {
		t.Errorf("the screenshot is no PNG: %v %.8q", err, data)
	}
}
