package api

import "net/http"

// programsRoutes adds the programs routes. (Scaffold.)
func (s *Server) programRoutes(mux *http.ServeMux) {}
