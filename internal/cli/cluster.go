package cli

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
)

func newClusterCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Inspect the cluster",
		RunE:  groupRunE,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "info",
		Short: "Show the cluster id, controller, brokers and topic count",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) error {
				m, err := adm.Metadata(ctx)
				if err != nil {
					return err
				}
				return printClusterInfo(cmd, g, clusterInfoFrom(m))
			})
		},
	})
	cmd.AddCommand(newRebalanceCmd(g))
	return cmd
}

type brokerInfo struct {
	NodeID     int32  `json:"node_id"`
	Host       string `json:"host"`
	Port       int32  `json:"port"`
	Address    string `json:"address"`
	Rack       string `json:"rack,omitempty"`
	Controller bool   `json:"controller"`
}

type clusterInfo struct {
	ClusterID      string       `json:"cluster_id"`
	Controller     int32        `json:"controller"`
	Brokers        []brokerInfo `json:"brokers"`
	Topics         int          `json:"topics"`
	InternalTopics int          `json:"internal_topics"`
}

func clusterInfoFrom(m kadm.Metadata) clusterInfo {
	info := clusterInfo{ClusterID: m.Cluster, Controller: m.Controller, Brokers: []brokerInfo{}}
	for _, b := range m.Brokers {
		bi := brokerInfo{
			NodeID: b.NodeID, Host: b.Host, Port: b.Port,
			Address:    net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port))),
			Controller: b.NodeID == m.Controller,
		}
		if b.Rack != nil {
			bi.Rack = *b.Rack
		}
		info.Brokers = append(info.Brokers, bi)
	}
	for _, td := range m.Topics {
		if td.IsInternal {
			info.InternalTopics++
		} else {
			info.Topics++
		}
	}
	return info
}

func printClusterInfo(cmd *cobra.Command, g *globals, info clusterInfo) error {
	out := cmd.OutOrStdout()
	if g.json {
		return printJSON(out, info)
	}
	controller := "none"
	if info.Controller >= 0 {
		controller = strconv.Itoa(int(info.Controller))
	}
	fmt.Fprintf(out, "Cluster ID:  %s\n", orDash(info.ClusterID))
	fmt.Fprintf(out, "Controller:  %s\n", controller)
	fmt.Fprintf(out, "Topics:      %d (+%d internal)\n", info.Topics, info.InternalTopics)
	fmt.Fprintf(out, "Brokers:     %d\n\n", len(info.Brokers))
	t := newTable(out, "ID", "ADDRESS", "RACK", "CONTROLLER")
	for _, b := range info.Brokers {
		mark := ""
		if b.Controller {
			mark = "yes"
		}
		t.row(b.NodeID, b.Address, b.Rack, mark)
	}
	return t.flush()
}
