package broker

// IncrementalAlterConfigs, key 44, v0-v1 (v1: flexible), and AlterConfigs,
// key 33, v0-v2 (v1: no change, v2: flexible), for topic and broker
// resources. Incremental operations: 0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT
// (the last two on list settings). AlterConfigs replaces the whole set of
// overrides. Broker changes are dynamic broker configs: the cluster-wide
// default (resource name "") or this node's (its id); read-only settings
// are refused with INVALID_REQUEST, as Kafka refuses them. Both kinds are
// records in the metadata log and apply without a restart.
// ACLs: ALTER_CONFIGS on the topic (TOPIC_AUTHORIZATION_FAILED) or, for a
// broker, on the cluster (CLUSTER_AUTHORIZATION_FAILED).

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/metadata"
)

type configOp struct {
	name  string
	op    int8 // 0 set, 1 delete, 2 append, 3 subtract
	value *string
}

func handleIncrementalAlterConfigs(rc *reqCtx, req *kmsg.IncrementalAlterConfigsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	for _, r := range req.Resources {
		ops := make([]configOp, 0, len(r.Configs))
		for _, c := range r.Configs {
			ops = append(ops, configOp{c.Name, int8(c.Op), c.Value})
		}
		err := alterConfigsAuthorized(rc, r.ResourceType, r.ResourceName, ops, false, req.ValidateOnly)
		rr := kmsg.NewIncrementalAlterConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = r.ResourceType, r.ResourceName
		rr.ErrorCode, rr.ErrorMessage = errCode(err), errMessage(err)
		resp.Resources = append(resp.Resources, rr)
	}
	return resp
}

func handleAlterConfigs(rc *reqCtx, req *kmsg.AlterConfigsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.AlterConfigsResponse)
	for _, r := range req.Resources {
		ops := make([]configOp, 0, len(r.Configs))
		for _, c := range r.Configs {
			ops = append(ops, configOp{c.Name, 0, c.Value})
		}
		err := alterConfigsAuthorized(rc, r.ResourceType, r.ResourceName, ops, true, req.ValidateOnly)
		rr := kmsg.NewAlterConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = r.ResourceType, r.ResourceName
		rr.ErrorCode, rr.ErrorMessage = errCode(err), errMessage(err)
		resp.Resources = append(resp.Resources, rr)
	}
	return resp
}

// alterConfigs applies ops to a topic's overrides or to the dynamic broker
// settings; replace drops every override not named (AlterConfigs).
func alterConfigs(b *Broker, typ kmsg.ConfigResourceType, name string, ops []configOp, replace, validateOnly bool) error {
	var rtype int8
	switch typ {
	case kmsg.ConfigResourceTypeTopic:
		rtype = metadata.ResourceTopic
	case kmsg.ConfigResourceTypeBroker:
		rtype = metadata.ResourceBroker
		if name != "" && name != strconv.Itoa(int(b.cfg.NodeID)) {
			return fmt.Errorf("%w: %v", kerr.InvalidRequest, errUnknownBroker(name))
		}
	default:
		return kerr.InvalidRequest
	}
	_, err := b.meta.Commit(func(im *metadata.Image) ([]metadata.Record, error) {
		if _, ok := im.Topic(name); rtype == metadata.ResourceTopic && !ok {
			return nil, kerr.UnknownTopicOrPartition
		}
		old := im.Configs(rtype, name)
		next := map[string]string{}
		if !replace {
			for k, v := range old {
				next[k] = v
			}
		}
		cfg := b.config(im)
		for _, op := range ops {
			if err := applyOp(cfg, rtype, next, op); err != nil {
				return nil, err
			}
		}
		if err := checkConfigs(rtype, next); err != nil {
			return nil, err
		}
		if validateOnly {
			return nil, nil
		}
		return configDiff(rtype, name, old, next), nil
	})
	return err
}

func checkConfigs(rtype int8, next map[string]string) error {
	if rtype == metadata.ResourceTopic {
		return config.CheckTopic(next)
	}
	for k, v := range next {
		if err := config.CheckDynamic(k, v); err != nil {
			if errors.Is(err, config.ErrReadOnly) {
				return fmt.Errorf("%w: %v", kerr.InvalidRequest, err)
			}
			return err
		}
	}
	return nil
}

func applyOp(cfg *config.Config, rtype int8, next map[string]string, op configOp) error {
	lookup, kind := config.LookupTopic, "topic"
	if rtype == metadata.ResourceBroker {
		lookup, kind = config.LookupBroker, "broker"
	}
	key, ok := lookup(op.name)
	if !ok {
		return fmt.Errorf("%w: unknown %s config %q", config.ErrInvalid, kind, op.name)
	}
	switch op.op {
	case 0:
		if op.value == nil {
			return fmt.Errorf("%w: null value for %q", config.ErrInvalid, op.name)
		}
		next[op.name] = *op.value
	case 1:
		delete(next, op.name)
	case 2, 3:
		if key.Type != config.TypeList || op.value == nil {
			return fmt.Errorf("%w: APPEND and SUBTRACT apply only to list configs", config.ErrInvalid)
		}
		cur, ok := next[op.name]
		if !ok && rtype == metadata.ResourceTopic {
			cur, _ = cfg.TopicValue(next, op.name)
		} else if !ok {
			cur = cfg.Get(op.name)
		}
		items := splitList(cur)
		for _, v := range splitList(*op.value) {
			i := slices.Index(items, v)
			if op.op == 2 && i < 0 {
				items = append(items, v)
			} else if op.op == 3 && i >= 0 {
				items = slices.Delete(items, i, i+1)
			}
		}
		next[op.name] = strings.Join(items, ",")
	default:
		return fmt.Errorf("%w: unknown operation %d", kerr.InvalidRequest, op.op)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func configDiff(rtype int8, name string, old, next map[string]string) []metadata.Record {
	var recs []metadata.Record
	add := func(k string, v *string) {
		recs = append(recs, metadata.Record{Type: metadata.TypeConfig, Config: &metadata.ConfigRecord{
			ResourceType: rtype, ResourceName: name, Name: k, Value: v,
		}})
	}
	for k, v := range next {
		if ov, ok := old[k]; !ok || ov != v {
			v := v
			add(k, &v)
		}
	}
	for k := range old {
		if _, ok := next[k]; !ok {
			add(k, nil)
		}
	}
	return recs
}
