package main

import "github.com/spf13/cobra"

// newProgramsCommand is the `programs` command group. (Scaffold.)
func newProgramsCommand(g *globalFlags) *cobra.Command {
	return &cobra.Command{Use: "programs", Hidden: true}
}
