// Command samsa is the Samsa broker and its command-line client in one
// binary: `samsa serve` runs a broker; every other subcommand talks to
// brokers over the Kafka protocol.
package main

import (
	"os"

	"github.com/samsa-streaming/samsa/internal/cli"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	root := cli.NewRoot(version)
	root.AddCommand(newServeCmd(), newChaosCmd())
	// `samsa cluster info` talks to brokers (internal/cli); starting a
	// local cluster runs this binary, so it is added here.
	for _, c := range root.Commands() {
		if c.Name() == "cluster" {
			c.AddCommand(newClusterStartCmd(), newClusterIDCmd())
		}
	}
	os.Exit(cli.Execute(root))
}
