package devserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// UICodecPath is where the Web UI's port serves Options.Codec to the UI's own pages: the
// UI's codec endpoint is this path of the UI's address, so the browser calls it from the
// same origin and sends no key.
const UICodecPath = "/hookflow/codec"

// uiFront is what listens on the Web UI's port when the UI has a codec of its own: the
// codec at UICodecPath, for requests from the UI's origin only, and the UI server,
// which listens on a loopback port of its own, behind it for everything else.
type uiFront struct {
	srv  *http.Server
	done chan struct{}
}

// startUIFront listens on addr (the UI's public address) and serves codec at UICodecPath
// for the UI's origins, proxying every other request to the UI server at backend.
func startUIFront(addr, backend string, codec http.Handler) (*uiFront, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--ui-port: %w", err)
	}
	target, err := url.Parse(backend)
	if err != nil {
		l.Close()
		return nil, err
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	// The UI server sees the Host the browser sent (the default director keeps it), as it
	// would without the front.
	proxy.ErrorLog = nil
	_, port, _ := net.SplitHostPort(l.Addr().String())
	mux := http.NewServeMux()
	mux.Handle(UICodecPath+"/", sameOrigin(uiOrigins(addr, port), codec))
	mux.Handle("/", proxy)
	f := &uiFront{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		if err := f.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err // the listener closed under us: the process is stopping
		}
	}()
	return f, nil
}

func (f *uiFront) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = f.srv.Shutdown(ctx)
	<-f.done
}

// uiOrigins are the origins a browser sends from the UI's pages at addr: its own, and on
// loopback the localhost and 127.0.0.1 spellings both.
func uiOrigins(addr, port string) []string {
	host, _, _ := net.SplitHostPort(addr)
	out := []string{"http://" + net.JoinHostPort(dialIP(host), port)}
	switch dialIP(host) {
	case "127.0.0.1", "::1":
		out = append(out, "http://localhost:"+port, "http://127.0.0.1:"+port, "http://[::1]:"+port)
	}
	return out
}

// sameOrigin serves h only to requests that a page of origins sent: a browser sends
// Origin on every POST, and on a request from another page names that page, which is
// refused. A request without Origin (not from a browser page) is refused too, so the
// path decodes for the UI's pages and for nothing else.
func sameOrigin(origins []string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if o := r.Header.Get("Origin"); o == "" || !slices.Contains(origins, o) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = fmt.Fprintf(w, `{"error":{"type":"forbidden","message":%s}}`+"\n",
				strconv.Quote("only the Web UI's own pages may call "+UICodecPath+"; programs use the API's /codec with an API key"))
			return
		}
		h.ServeHTTP(w, r)
	})
}
