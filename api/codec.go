package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hookflow/hookflow/store"
)

// The codec endpoint: Temporal's remote codec protocol, so that the Temporal Web UI and
// CLI (`temporal workflow show --codec-endpoint ...`) can show payloads that hookflow
// encrypted in history.
//
//	POST /codec/decode, POST /codec/{namespace}/decode   {"payloads": [...]} -> {"payloads": [...]}
//	POST /codec/encode, POST /codec/{namespace}/encode
//
// The Web UI calls it from the browser, with the headers Content-Type, X-Namespace and,
// with codec.passAccessToken, Authorization: so it is served outside the API's
// refuseBrowsers, and answers CORS (preflight included) for the allowed origins only; a
// browser request from any other page is refused. With RequireKeys, a request needs an
// API key with the manage scope as Authorization: Bearer; preflights need none.

// CodecPath is where the codec endpoint is mounted.
const CodecPath = "/codec"

// MaxCodecBytes bounds one codec request's body.
const MaxCodecBytes = 4 << 20

// corsHeaders are the request headers the Web UI sends to a codec endpoint.
const corsHeaders = "Content-Type, X-Namespace, Authorization, Authorization-Extras"

// CodecHandler serves the codec endpoint under CodecPath with codec; allowedOrigins are
// the origins (scheme://host:port, as the browser sends them) of the Web UIs that may call
// it from a browser.
func (s *Server) CodecHandler(codec converter.PayloadCodec, allowedOrigins []string) http.Handler {
	origins := make([]string, 0, len(allowedOrigins))
	for _, o := range allowedOrigins {
		if o = strings.TrimRight(strings.TrimSpace(o), "/"); o != "" {
			origins = append(origins, o)
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if origin := r.Header.Get("Origin"); origin != "" {
			if !slices.Contains(origins, origin) {
				writeError(w, http.StatusForbidden, "forbidden", fmt.Sprintf("origin %s may not call the codec endpoint: only the Temporal Web UI's origin may (--ui-url)", origin), "")
				return
			}
			w.Header().Set("Access-Control-Allow-Origin", origin)
			// For a proxy in front that authenticates operators with its own cookie (the
			// UI's codec.includeCredentials); hookflow itself reads no cookie.
			w.Header().Set("Access-Control-Allow-Credentials", "true")
			w.Header().Add("Vary", "Origin")
		} else if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
			writeError(w, http.StatusForbidden, "forbidden", "requests from web pages are not accepted", "")
			return
		}
		if r.Method == http.MethodOptions {
			w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			w.Header().Set("Access-Control-Allow-Headers", corsHeaders)
			w.Header().Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		rest, ok := strings.CutPrefix(r.URL.Path, CodecPath+"/")
		op := rest[strings.LastIndex(rest, "/")+1:]
		if !ok || op != "encode" && op != "decode" || strings.Count(rest, "/") > 1 {
			writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no route for %s %s: the codec endpoint has POST %s/decode and %s/encode", r.Method, r.URL.Path, CodecPath, CodecPath), "")
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST, OPTIONS")
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "use POST", "")
			return
		}
		if s.RequireKeys && !s.codecAuthorized(w, r) {
			return
		}
		body, ok := readBody(w, r, MaxCodecBytes)
		if !ok {
			return
		}
		var in commonpb.Payloads
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(body, &in); err != nil {
			writeError(w, http.StatusBadRequest, "invalid_request", `want {"payloads": [{"metadata": {...}, "data": "base64"}]}: `+err.Error(), "payloads")
			return
		}
		var out []*commonpb.Payload
		var err error
		if op == "encode" {
			out, err = codec.Encode(in.GetPayloads())
		} else {
			out, err = codec.Decode(in.GetPayloads())
		}
		if err != nil {
			s.logger().Warn("codec request failed", "op", op, "payloads", len(in.GetPayloads()), "error", err.Error())
			writeError(w, http.StatusBadRequest, "codec_error", op+": "+err.Error(), "payloads")
			return
		}
		resp, err := protojson.Marshal(&commonpb.Payloads{Payloads: out})
		if err != nil {
			s.internal(w, "codec: encode the answer", err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(resp)
	})
}

// codecAuthorized checks for an API key with the codec or the manage scope, answering 401
// or 403 when there is none.
func (s *Server) codecAuthorized(w http.ResponseWriter, r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		unauthorized(w, "", "the codec endpoint needs an API key with the codec or the manage scope: send Authorization: Bearer hfk_...")
		return false
	}
	scheme, token, _ := strings.Cut(auth, " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		unauthorized(w, "invalid_request", "the Authorization header must be Bearer followed by an API key")
		return false
	}
	k, ok, err := s.lookupKey(r.Context(), token)
	if err != nil {
		s.internal(w, "look up API key", err)
		return false
	}
	if !ok {
		unauthorized(w, "invalid_token", "the API key is not valid: it is unknown or was revoked")
		return false
	}
	if !k.HasScope(store.ScopeCodec) && !k.HasScope(store.ScopeManage) {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="hookflow", error="insufficient_scope", scope=%q`, store.ScopeCodec))
		writeError(w, http.StatusForbidden, "forbidden", fmt.Sprintf("API key %s (%s) has the scopes %s; the codec endpoint needs the %s or the %s scope", k.ID, k.Prefix, strings.Join(k.Scopes, ", "), store.ScopeCodec, store.ScopeManage), "")
		return false
	}
	now := s.now()
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= keyUseGranularity {
		if err := s.Store.MarkAPIKeyUsed(context.WithoutCancel(r.Context()), k.ID, now); err != nil && !errors.Is(err, store.ErrNotFound) {
			s.logger().Warn("record API key use", "key", k.ID, "error", err)
		}
	}
	return true
}
