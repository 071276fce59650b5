package main

import "github.com/spf13/cobra"

// newCodesCommand is the `codes` command group. (Scaffold.)
func newCodesCommand(g *globalFlags) *cobra.Command {
	return &cobra.Command{Use: "codes", Hidden: true}
}
