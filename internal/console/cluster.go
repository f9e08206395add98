package console

import (
	"context"
	"net/http"
	"sort"
)

// sessionInfo is GET /api/v1/session: who the console acts as.
type sessionInfo struct {
	User         string `json:"user"`
	AuthRequired bool   `json:"authRequired"`
	Version      string `json:"version"`
	NodeID       int32  `json:"nodeId"`
}

func (c *Console) getSession(_ context.Context, s *session, r *http.Request) (any, error) {
	if err := noParams(r); err != nil {
		return nil, err
	}
	return sessionInfo{User: s.user, AuthRequired: c.AuthRequired(), Version: c.opts.Version, NodeID: c.opts.NodeID}, nil
}

type brokerInfo struct {
	ID         int32  `json:"id"`
	Host       string `json:"host"`
	Port       int32  `json:"port"`
	Rack       string `json:"rack,omitempty"`
	Controller bool   `json:"controller"`
	// APIs is how many Kafka APIs the broker answers, and Version the
	// software version when known (this node's own).
	APIs    int    `json:"apis"`
	Version string `json:"version,omitempty"`
	Error   string `json:"error,omitempty"`
}

type logDirInfo struct {
	Broker      int32  `json:"broker"`
	Dir         string `json:"dir"`
	SizeBytes   int64  `json:"sizeBytes"`
	TotalBytes  int64  `json:"totalBytes"`
	UsableBytes int64  `json:"usableBytes"`
	Partitions  int    `json:"partitions"`
	Error       string `json:"error,omitempty"`
}

type clusterInfo struct {
	ClusterID  string       `json:"clusterId"`
	Controller int32        `json:"controller"`
	Brokers    []brokerInfo `json:"brokers"`
	LogDirs    []logDirInfo `json:"logDirs"`
	Topics     int          `json:"topics"`
	Partitions int          `json:"partitions"`
	Version    string       `json:"version"`
}

// getCluster is GET /api/v1/cluster: brokers, controller, disks, versions.
func (c *Console) getCluster(ctx context.Context, s *session, r *http.Request) (any, error) {
	if err := noParams(r); err != nil {
		return nil, err
	}
	md, err := s.adm.Metadata(ctx)
	if err != nil {
		return nil, err
	}
	out := clusterInfo{ClusterID: md.Cluster, Controller: md.Controller, Version: c.opts.Version,
		Brokers: []brokerInfo{}, LogDirs: []logDirInfo{}}
	for _, t := range md.Topics {
		out.Topics++
		out.Partitions += len(t.Partitions)
	}
	versions, _ := s.adm.ApiVersions(ctx)
	for _, b := range md.Brokers {
		bi := brokerInfo{ID: b.NodeID, Host: b.Host, Port: b.Port, Controller: b.NodeID == md.Controller}
		if b.Rack != nil {
			bi.Rack = *b.Rack
		}
		if v, ok := versions[b.NodeID]; ok {
			if v.Err != nil {
				bi.Error = v.Err.Error()
			} else if raw := v.Raw(); raw != nil {
				bi.APIs = len(raw.ApiKeys)
			}
		}
		if b.NodeID == c.opts.NodeID {
			bi.Version = c.opts.Version
		}
		out.Brokers = append(out.Brokers, bi)
	}
	dirs, err := s.adm.DescribeAllLogDirs(ctx, nil)
	if err == nil {
		for broker, ds := range dirs {
			for _, d := range ds {
				li := logDirInfo{Broker: broker, Dir: d.Dir, SizeBytes: d.Size(), TotalBytes: d.TotalBytes, UsableBytes: d.UsableBytes}
				for _, ps := range d.Topics {
					li.Partitions += len(ps)
				}
				if d.Err != nil {
					li.Error = d.Err.Error()
				}
				out.LogDirs = append(out.LogDirs, li)
			}
		}
	}
	sort.Slice(out.LogDirs, func(i, j int) bool {
		a, b := out.LogDirs[i], out.LogDirs[j]
		return a.Broker < b.Broker || a.Broker == b.Broker && a.Dir < b.Dir
	})
	return out, nil
}

type txnInfo struct {
	ID          string   `json:"id"`
	State       string   `json:"state"`
	ProducerID  int64    `json:"producerId"`
	Epoch       int16    `json:"epoch"`
	TimeoutMs   int32    `json:"timeoutMs"`
	StartMs     int64    `json:"startMs"`
	Coordinator int32    `json:"coordinator"`
	Partitions  []string `json:"partitions"`
}

// maxTxnDescribe bounds how many transactions one request describes.
const maxTxnDescribe = 500

// listTransactions is GET /api/v1/transactions.
func (c *Console) listTransactions(ctx context.Context, s *session, r *http.Request) (any, error) {
	if err := noParams(r); err != nil {
		return nil, err
	}
	listed, err := s.adm.ListTransactions(ctx, nil, nil)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(listed))
	for id := range listed {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	if len(ids) > maxTxnDescribe {
		ids = ids[:maxTxnDescribe]
	}
	out := []txnInfo{}
	if len(ids) == 0 {
		return out, nil
	}
	desc, err := s.adm.DescribeTransactions(ctx, ids...)
	if err != nil {
		return nil, err
	}
	for _, d := range desc.Sorted() {
		ti := txnInfo{ID: d.TxnID, State: d.State, ProducerID: d.ProducerID, Epoch: d.ProducerEpoch,
			TimeoutMs: d.TimeoutMillis, StartMs: d.StartTimestamp, Coordinator: d.Coordinator, Partitions: []string{}}
		for _, tp := range d.Topics.Sorted() {
			for _, p := range tp.Partitions {
				ti.Partitions = append(ti.Partitions, tp.Topic+"-"+itoa(int64(p)))
			}
		}
		out = append(out, ti)
	}
	return out, nil
}
