package api

import "net/http"

// codesRoutes adds the codes routes. (Scaffold.)
func (s *Server) codeRoutes(mux *http.ServeMux) {}
