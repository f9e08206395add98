package broker

// DescribeConfigs, key 32, v0-v4.
//   v1: synonyms and config source.  v2: no change.
//   v3: config type and documentation.  v4: flexible.
// Topic resources show every topic setting with its source (topic
// override, static broker setting, or default). Broker resources show the
// broker settings of config.Broker.
// ACLs: DESCRIBE_CONFIGS on the topic (TOPIC_AUTHORIZATION_FAILED) or, for
// a broker, on the cluster (CLUSTER_AUTHORIZATION_FAILED).

import (
	"sort"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/metadata"
)

var sortedTopicKeys = func() func() []string {
	var keys []string
	return func() []string {
		if keys == nil {
			keys = config.TopicKeys()
			sort.Strings(keys)
		}
		return keys
	}
}()

func handleDescribeConfigs(rc *reqCtx, req *kmsg.DescribeConfigsRequest) kmsg.Response {
	b := rc.broker()
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
	im := b.meta.Image()
	cfg := b.config(im)
	for _, r := range req.Resources {
		rr := kmsg.NewDescribeConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = r.ResourceType, r.ResourceName
		wanted := func(string) bool { return true }
		if r.ConfigNames != nil {
			set := map[string]bool{}
			for _, n := range r.ConfigNames {
				set[n] = true
			}
			wanted = func(n string) bool { return set[n] }
		}
		if code := configsDenied(rc, acl.OpDescribeConfigs, r.ResourceType, r.ResourceName); code != 0 {
			rr.ErrorCode = code
			resp.Resources = append(resp.Resources, rr)
			continue
		}
		switch r.ResourceType {
		case kmsg.ConfigResourceTypeTopic:
			if _, ok := im.Topic(r.ResourceName); !ok {
				rr.ErrorCode = kerr.UnknownTopicOrPartition.Code
				break
			}
			overrides := im.Configs(metadata.ResourceTopic, r.ResourceName)
			for _, name := range sortedTopicKeys() {
				if wanted(name) {
					rr.Configs = append(rr.Configs, topicConfigEntry(cfg, b.cfg, req, overrides, name))
				}
			}
		case kmsg.ConfigResourceTypeBroker:
			if r.ResourceName != "" && r.ResourceName != strconv.Itoa(int(b.cfg.NodeID)) {
				rr.ErrorCode = kerr.InvalidRequest.Code
				rr.ErrorMessage = errMessage(errUnknownBroker(r.ResourceName))
				break
			}
			for i := range config.Broker {
				if k := &config.Broker[i]; wanted(k.Name) {
					rr.Configs = append(rr.Configs, brokerConfigEntry(cfg, b.cfg, req, k))
				}
			}
			// A listener's own connection limits, when set (as Kafka
			// lists listener-prefixed settings).
			for _, name := range cfg.ListenerQuotaSettings() {
				if k, ok := config.LookupBroker(name); ok && wanted(name) {
					lk := *k
					lk.Name = name
					rr.Configs = append(rr.Configs, brokerConfigEntry(cfg, b.cfg, req, &lk))
				}
			}
		default:
			rr.ErrorCode = kerr.InvalidRequest.Code
		}
		resp.Resources = append(resp.Resources, rr)
	}
	return resp
}

type errUnknownBroker string

func (e errUnknownBroker) Error() string { return "no broker with id " + string(e) }

// topicConfigEntry describes one topic setting. cfg is the broker
// configuration in effect (dynamic settings applied), static the one from
// start-up, for the synonym chain: topic override, dynamic broker, static
// broker, default.
func topicConfigEntry(cfg, static *config.Config, req *kmsg.DescribeConfigsRequest, overrides map[string]string, name string) kmsg.DescribeConfigsResponseResourceConfig {
	key, _ := config.LookupTopic(name)
	v, isOverride := cfg.TopicValue(overrides, name)
	c := kmsg.NewDescribeConfigsResponseResourceConfig()
	c.Name, c.Value, c.ConfigType = name, &v, kmsg.ConfigType(key.Type)
	if req.IncludeDocumentation && key.Doc != "" {
		c.Documentation = &key.Doc
	}
	syn := config.BrokerSynonym(name)
	switch {
	case isOverride:
		c.Source = kmsg.ConfigSourceDynamicTopicConfig
	case syn != "" && cfg.IsDynamic(syn):
		c.Source = dynamicSource(cfg, syn)
	case syn != "" && static.IsSet(syn):
		c.Source = kmsg.ConfigSourceStaticBrokerConfig
	default:
		c.Source, c.IsDefault = kmsg.ConfigSourceDefaultConfig, true
	}
	if req.IncludeSynonyms {
		if isOverride {
			c.ConfigSynonyms = append(c.ConfigSynonyms, synonym(name, overrides[name], kmsg.ConfigSourceDynamicTopicConfig))
		}
		if syn != "" {
			c.ConfigSynonyms = append(c.ConfigSynonyms, brokerSynonyms(cfg, static, syn)...)
		}
	}
	return c
}

func synonym(name, value string, src kmsg.ConfigSource) kmsg.DescribeConfigsResponseResourceConfigConfigSynonym {
	s := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
	s.Name, s.Value, s.Source = name, &value, src
	return s
}

// brokerSynonyms is the chain of a broker setting, as Kafka lists it: this
// node's dynamic value, the cluster-wide dynamic default, static, default.
func brokerSynonyms(cfg, static *config.Config, name string) []kmsg.DescribeConfigsResponseResourceConfigConfigSynonym {
	var out []kmsg.DescribeConfigsResponseResourceConfigConfigSynonym
	if cfg.IsDynamic(name) {
		out = append(out, synonym(name, cfg.Get(name), dynamicSource(cfg, name)))
	}
	if def, ok := cfg.DynamicDefault(name); ok && cfg.DynamicSource(name) == config.SourceDynamic {
		out = append(out, synonym(name, def, kmsg.ConfigSourceDynamicDefaultBrokerConfig))
	}
	if static.IsSet(name) {
		out = append(out, synonym(name, static.Get(name), kmsg.ConfigSourceStaticBrokerConfig))
	}
	if k, ok := config.LookupBroker(name); ok && k.Default != "" {
		out = append(out, synonym(name, k.Default, kmsg.ConfigSourceDefaultConfig))
	}
	return out
}

func brokerConfigEntry(cfg, static *config.Config, req *kmsg.DescribeConfigsRequest, k *config.Key) kmsg.DescribeConfigsResponseResourceConfig {
	c := kmsg.NewDescribeConfigsResponseResourceConfig()
	v := cfg.Get(k.Name)
	c.Name, c.ConfigType, c.ReadOnly = k.Name, kmsg.ConfigType(k.Type), k.ReadOnly
	if v != "" || k.Type != config.TypeList {
		c.Value = &v
	}
	switch {
	case cfg.IsDynamic(k.Name):
		c.Source = dynamicSource(cfg, k.Name)
	case static.IsSet(k.Name):
		c.Source = kmsg.ConfigSourceStaticBrokerConfig
	default:
		c.Source, c.IsDefault = kmsg.ConfigSourceDefaultConfig, true
	}
	if req.IncludeSynonyms {
		c.ConfigSynonyms = brokerSynonyms(cfg, static, k.Name)
	}
	if k.Type == config.TypePassword {
		// Passwords, keys and JAAS configurations: sensitive, never shown
		// (Kafka answers them with a null value).
		c.Value, c.IsSensitive = nil, true
		for i := range c.ConfigSynonyms {
			c.ConfigSynonyms[i].Value = nil
		}
	}
	if req.IncludeDocumentation && k.Doc != "" {
		c.Documentation = &k.Doc
	}
	return c
}

// dynamicSource maps where a dynamic broker setting comes from to Kafka's
// config source: this node's, or the cluster-wide default.
func dynamicSource(cfg *config.Config, name string) kmsg.ConfigSource {
	if cfg.DynamicSource(name) == config.SourceDynamicDefault {
		return kmsg.ConfigSourceDynamicDefaultBrokerConfig
	}
	return kmsg.ConfigSourceDynamicBrokerConfig
}
