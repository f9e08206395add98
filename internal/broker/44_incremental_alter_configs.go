package broker

// IncrementalAlterConfigs, key 44, v0-v1 (v1: flexible), and AlterConfigs,
// key 33, v0-v2 (v1: no change, v2: flexible), for topic resources.
// Incremental operations: 0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT (the last
// two on list settings). AlterConfigs replaces the whole set of overrides.
// Dynamic broker settings arrive with the retention and configuration
// issue; until then broker resources are refused with INVALID_REQUEST.

import (
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/metadata"
)

var errBrokerConfigs = fmt.Errorf("%w: dynamic broker configs are not supported yet; set them in server.properties", kerr.InvalidRequest)

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
		err := alterConfigs(rc.broker(), r.ResourceType, r.ResourceName, ops, false, req.ValidateOnly)
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
		err := alterConfigs(rc.broker(), r.ResourceType, r.ResourceName, ops, true, req.ValidateOnly)
		rr := kmsg.NewAlterConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = r.ResourceType, r.ResourceName
		rr.ErrorCode, rr.ErrorMessage = errCode(err), errMessage(err)
		resp.Resources = append(resp.Resources, rr)
	}
	return resp
}

// alterConfigs applies ops to a topic's overrides; replace drops every
// override not named (AlterConfigs semantics).
func alterConfigs(b *Broker, typ kmsg.ConfigResourceType, name string, ops []configOp, replace, validateOnly bool) error {
	if typ == kmsg.ConfigResourceTypeBroker {
		return errBrokerConfigs
	}
	if typ != kmsg.ConfigResourceTypeTopic {
		return kerr.InvalidRequest
	}
	_, err := b.meta.Commit(func(im *metadata.Image) ([]metadata.Record, error) {
		if _, ok := im.Topic(name); !ok {
			return nil, kerr.UnknownTopicOrPartition
		}
		old := im.Configs(metadata.ResourceTopic, name)
		next := map[string]string{}
		if !replace {
			for k, v := range old {
				next[k] = v
			}
		}
		for _, op := range ops {
			if err := applyOp(b, next, old, op); err != nil {
				return nil, err
			}
		}
		if err := config.CheckTopic(next); err != nil {
			return nil, err
		}
		if validateOnly {
			return nil, nil
		}
		return configDiff(name, old, next), nil
	})
	return err
}

func applyOp(b *Broker, next, old map[string]string, op configOp) error {
	key, ok := config.LookupTopic(op.name)
	if !ok {
		return fmt.Errorf("%w: unknown topic config %q", config.ErrInvalid, op.name)
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
		cur, _ := b.cfg.TopicValue(next, op.name)
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

func configDiff(topic string, old, next map[string]string) []metadata.Record {
	var recs []metadata.Record
	add := func(k string, v *string) {
		recs = append(recs, metadata.Record{Type: metadata.TypeConfig, Config: &metadata.ConfigRecord{
			ResourceType: metadata.ResourceTopic, ResourceName: topic, Name: k, Value: v,
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
