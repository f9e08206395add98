package cli

import "github.com/spf13/cobra"

func newProduceCmd(g *globals) *cobra.Command { return &cobra.Command{Use: "produce"} }
func newConsumeCmd(g *globals) *cobra.Command { return &cobra.Command{Use: "consume"} }
func newBenchCmd(g *globals) *cobra.Command   { return &cobra.Command{Use: "bench"} }
