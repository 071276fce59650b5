// Package browsertest drives a headless Chromium over the Chrome DevTools Protocol, for
// tests that check what a person sees in a web page (the Temporal Web UI that hookflow dev
// embeds): it starts the browser, opens a page, reads its rendered text and saves
// screenshots. It speaks the few protocol methods those tests need over a websocket, so
// that no browser-automation library is a dependency of the module.
package browsertest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/websocket"
)

// candidates are the names a Chromium-based browser is installed under: Debian's package
// first, which .ci/run installs.
var candidates = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// Find is the path of a Chromium-based browser on this machine, or "" when there is none.
func Find() string {
	for _, name := range candidates {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// origin is the Origin the client sends in its websocket handshake: the DevTools server
// accepts only the origins --remote-allow-origins names.
const origin = "http://127.0.0.1"

// Browser is a running headless browser with a profile of its own.
type Browser struct {
	cmd     *exec.Cmd
	dir     string
	port    string
	browser *conn
	done    chan struct{}
}

// Start starts the browser at path headless, with a fresh profile in a temporary
// directory and the DevTools server on a port it picks, and connects to it.
func Start(ctx context.Context, path string) (*Browser, error) {
	dir, err := os.MkdirTemp("", "browsertest-profile-")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, "--headless=new", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--no-first-run", "--user-data-dir="+dir, "--remote-debugging-port=0",
		"--remote-allow-origins="+origin, "--window-size=1400,1000", "about:blank")
	var stderr strings.Builder
	cmd.Stderr = &limitedWriter{w: &stderr, n: 16 << 10}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	b := &Browser{cmd: cmd, dir: dir, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(b.done) }()
	// The browser writes its DevTools port and the browser target's path to
	// DevToolsActivePort once it listens.
	var lines []string
	for {
		data, err := os.ReadFile(filepath.Join(dir, "DevToolsActivePort"))
		if lines = strings.Split(strings.TrimSpace(string(data)), "\n"); err == nil && len(lines) == 2 {
			break
		}
		select {
		case <-ctx.Done():
			b.Close() // waits for the output's copy to end
			return nil, fmt.Errorf("%s wrote no DevToolsActivePort: %w; its output:\n%s", path, ctx.Err(), stderr.String())
		case <-b.done:
			os.RemoveAll(dir)
			return nil, fmt.Errorf("%s exited: %v; its output:\n%s", path, cmd.ProcessState, stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	b.port = lines[0]
	if b.browser, err = dial(fmt.Sprintf("ws://127.0.0.1:%s%s", b.port, lines[1])); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// Close ends the browser and removes its profile.
func (b *Browser) Close() {
	if b.browser != nil {
		b.browser.close()
	}
	_ = b.cmd.Process.Kill()
	<-b.done
	os.RemoveAll(b.dir)
}

// Page is one tab of the browser.
type Page struct {
	*conn
}

// NewPage opens a blank tab, width by height pixels.
func (b *Browser) NewPage(ctx context.Context, width, height int) (*Page, error) {
	var target struct{ TargetID string }
	if err := b.browser.call(ctx, "Target.createTarget", map[string]any{"url": "about:blank"}, &target); err != nil {
		return nil, err
	}
	c, err := dial(fmt.Sprintf("ws://127.0.0.1:%s/devtools/page/%s", b.port, target.TargetID))
	if err != nil {
		return nil, err
	}
	p := &Page{c}
	if err := p.call(ctx, "Emulation.setDeviceMetricsOverride", map[string]any{
		"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}, nil); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

// Close closes the page's connection.
func (p *Page) Close() { p.close() }

// Navigate loads url in the page; it returns once the browser started loading it, not
// when the page's scripts have rendered: WaitText waits for that.
func (p *Page) Navigate(ctx context.Context, url string) error {
	var res struct{ ErrorText string }
	if err := p.call(ctx, "Page.navigate", map[string]any{"url": url}, &res); err != nil {
		return err
	}
	if res.ErrorText != "" {
		return fmt.Errorf("navigate to %s: %s", url, res.ErrorText)
	}
	return nil
}

// Eval evaluates the JavaScript expression in the page and stores its value, which must
// be JSON, in out.
func (p *Page) Eval(ctx context.Context, expr string, out any) error {
	var res struct {
		Result struct {
			Value json.RawMessage
		}
		ExceptionDetails *struct{ Text string }
	}
	if err := p.call(ctx, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &res); err != nil {
		return err
	}
	if res.ExceptionDetails != nil {
		return fmt.Errorf("evaluate %s: %s", expr, res.ExceptionDetails.Text)
	}
	if out == nil || len(res.Result.Value) == 0 {
		return nil
	}
	return json.Unmarshal(res.Result.Value, out)
}

// Text is the page's text as a person reads it: document.body.innerText, then the text of
// what innerText may leave out though it is drawn on the page: SVG text (charts,
// timelines), the documents of iframes and shadow roots, read from the DOM through
// DevTools, which pierces frames and shadow roots that a script of the page may not read.
func (p *Page) Text(ctx context.Context) (string, error) {
	var s string
	if err := p.Eval(ctx, `document.body ? document.body.innerText : ""`, &s); err != nil {
		return "", err
	}
	var doc struct{ Root node }
	if err := p.call(ctx, "DOM.getDocument", map[string]any{"depth": -1, "pierce": true}, &doc); err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(s)
	doc.Root.text(&b, false, false)
	return b.String(), nil
}

// node is a node of DOM.getDocument's tree.
type node struct {
	NodeType        int
	NodeName        string
	NodeValue       string
	Children        []node
	ContentDocument *node
	ShadowRoots     []node
}

// text writes the text of the SVG text elements, iframe documents and shadow roots under
// n, one line each; inSVG and inFrame say whether n is under one (a shadow root counts as
// a frame).
func (n *node) text(b *strings.Builder, inSVG, inFrame bool) {
	switch strings.ToLower(n.NodeName) {
	case "script", "style", "noscript", "template", "head":
		return
	case "svg":
		inSVG = true
	}
	if n.NodeType == 3 && (inSVG || inFrame) {
		if t := strings.TrimSpace(n.NodeValue); t != "" {
			b.WriteString("\n")
			b.WriteString(t)
		}
	}
	for i := range n.Children {
		n.Children[i].text(b, inSVG, inFrame)
	}
	for i := range n.ShadowRoots {
		n.ShadowRoots[i].text(b, inSVG, true)
	}
	if n.ContentDocument != nil {
		n.ContentDocument.text(b, inSVG, true)
	}
}

// WaitText polls the page's rendered text until it holds every one of want, and returns
// it; at ctx's end it returns the last text read and an error naming what is missing.
func (p *Page) WaitText(ctx context.Context, want ...string) (string, error) {
	for {
		text, err := p.Text(ctx)
		var missing []string
		for _, w := range want {
			if !strings.Contains(text, w) {
				missing = append(missing, w)
			}
		}
		if err == nil && len(missing) == 0 {
			return text, nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("the page does not show %q", missing)
			}
			return text, err
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Screenshot saves a PNG of the page's viewport to file.
func (p *Page) Screenshot(ctx context.Context, file string) error {
	var res struct{ Data string }
	if err := p.call(ctx, "Page.captureScreenshot", map[string]any{"format": "png"}, &res); err != nil {
		return err
	}
	png, err := base64.StdEncoding.DecodeString(res.Data)
	if err != nil {
		return err
	}
	return os.WriteFile(file, png, 0o644)
}

// conn is one DevTools websocket: calls are answered by id; events, which carry none,
// are dropped.
type conn struct {
	ws      *websocket.Conn
	mu      sync.Mutex
	nextID  int64
	pending map[int64]chan response
	err     error // why the reader stopped
	stopped chan struct{}
}

type response struct {
	ID     int64
	Result json.RawMessage
	Error  *struct {
		Code    int
		Message string
	}
}

func dial(url string) (*conn, error) {
	cfg, err := websocket.NewConfig(url, origin)
	if err != nil {
		return nil, err
	}
	ws, err := websocket.DialConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to DevTools at %s: %w", url, err)
	}
	// A screenshot of a large page is several MB of base64 in one message.
	ws.MaxPayloadBytes = 64 << 20
	c := &conn{ws: ws, pending: map[int64]chan response{}, stopped: make(chan struct{})}
	go c.read()
	return c, nil
}

func (c *conn) read() {
	defer close(c.stopped)
	for {
		var msg []byte
		if err := websocket.Message.Receive(c.ws, &msg); err != nil {
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
			return
		}
		var r response
		if json.Unmarshal(msg, &r) != nil || r.ID == 0 {
			continue
		}
		c.mu.Lock()
		ch := c.pending[r.ID]
		delete(c.pending, r.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- r
		}
	}
}

// call sends method with params and stores the result in out (when not nil).
func (c *conn) call(ctx context.Context, method string, params any, out any) error {
	ch := make(chan response, 1)
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	c.pending[id] = ch
	c.mu.Unlock()
	msg, err := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	if err != nil {
		return err
	}
	if err := websocket.Message.Send(c.ws, string(msg)); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	select {
	case r := <-ch:
		if r.Error != nil {
			return fmt.Errorf("%s: %s (%d)", method, r.Error.Message, r.Error.Code)
		}
		if out == nil {
			return nil
		}
		return json.Unmarshal(r.Result, out)
	case <-c.stopped:
		c.mu.Lock()
		defer c.mu.Unlock()
		return fmt.Errorf("%s: the DevTools connection closed: %v", method, c.err)
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

func (c *conn) close() {
	_ = c.ws.Close()
	<-c.stopped
}

// limitedWriter keeps the first n bytes written to it: the browser's output, for an error.
type limitedWriter struct {
	w interface{ WriteString(string) (int, error) }
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		_, _ = l.w.WriteString(string(p[:k]))
		l.n -= k
	}
	return len(p), nil
}
