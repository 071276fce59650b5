package api

import "net/http"

// messagesRoutes adds the messages routes. (Scaffold.)
func (s *Server) messageRoutes(mux *http.ServeMux) {}
