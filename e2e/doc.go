// Package e2e holds hookflow's end-to-end, fault, production and compose tests: they run
// hookflow as a user does (processes of the hookflow command, its command lines, its HTTP
// API, Temporal and its Web UI) and import only the exported packages of the module.
package e2e
