// Command hookflow sends webhooks durably: every event is a Temporal workflow that matches
// the distributions, renders, signs, posts and retries. Run `hookflow dev` to start
// everything on one machine. The commands are in package cli, the processes they run in
// package app.
package main

import (
	"os"

	"github.com/hookflow/hookflow/cli"
)

// version is hookflow's version, set when building a release:
//
//	go build -ldflags "-X main.version=v1.2.0" .
var version = "dev"

func main() { os.Exit(cli.Main(version)) }
