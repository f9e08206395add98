package config

import (
	"fmt"
	"strconv"
	"strings"
)

// ThrottledReplicas is a topic's leader.replication.throttled.replicas or
// follower.replication.throttled.replicas: the replicas whose replication
// traffic counts against the broker's throttled rate. Kafka's format is a
// list of partition:broker pairs, or "*" for every replica of the topic.
type ThrottledReplicas struct {
	all   bool
	pairs map[[2]int32]bool
}

// ParseThrottledReplicas parses "0:1,0:2,1:3", "*" or "".
func ParseThrottledReplicas(v string) (ThrottledReplicas, error) {
	var out ThrottledReplicas
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		switch {
		case item == "":
			continue
		case item == "*":
			out.all = true
			continue
		}
		p, b, ok := strings.Cut(item, ":")
		pn, err1 := strconv.ParseInt(strings.TrimSpace(p), 10, 32)
		bn, err2 := strconv.ParseInt(strings.TrimSpace(b), 10, 32)
		if !ok || err1 != nil || err2 != nil || pn < 0 || bn < 0 {
			return ThrottledReplicas{}, fmt.Errorf("%q is not partition:broker or *", item)
		}
		if out.pairs == nil {
			out.pairs = map[[2]int32]bool{}
		}
		out.pairs[[2]int32{int32(pn), int32(bn)}] = true
	}
	return out, nil
}

// Has reports whether broker's replica of partition is throttled.
func (t ThrottledReplicas) Has(partition, broker int32) bool {
	return t.all || t.pairs[[2]int32{partition, broker}]
}

// Any reports whether any replica is throttled.
func (t ThrottledReplicas) Any() bool { return t.all || len(t.pairs) > 0 }
