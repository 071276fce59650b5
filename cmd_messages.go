package main

import "github.com/spf13/cobra"

// newMessagesCommand is the `messages` command group. (Scaffold.)
func newMessagesCommand(g *globalFlags) *cobra.Command {
	return &cobra.Command{Use: "messages", Hidden: true}
}
